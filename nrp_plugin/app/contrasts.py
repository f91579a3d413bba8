"""The per-row statistics of a comparison: each mapping's figures with their intervals, the mapping contrasts and
the model contrasts, Holm-corrected. Pure numpy and scipy; the mappings, their titles and their linear/nonlinear
grouping come from the registry (:mod:`nrp_plugin.mappings`).

An interval or p-value is printed only by a method whose coverage was measured on worlds with a known answer and
found right (:mod:`nrp_plugin.inference.coverage`): the factor intervals of the records' held-out predictions
(:mod:`nrp_plugin.inference.intervals`), where the records keep them, else the corrected resampled t over the splits
where its measured coverage allows; otherwise the estimate alone, with the reason.
"""
import numpy as np

from .. import mappings
from ..inference import Quantity, interval
from ..inference.coverage import assessment
from ..inference.splits import holm_within, ordered_unique, resampled_t, split_ratio
from .methods import HOLM_METHOD, METHOD, best_linear_method
from .panels import STANDARD_MAPPING

__all__ = ['MAIN', 'MEASURES', 'PREFERRED', 'best_linear', 'ceiled_mae', 'ceiled_r', 'contrasts', 'estimate_with_interval',
           'mapping_differences', 'mapping_figures', 'model_differences', 'score_intervals', 'statistics']

#: The interval methods tried for every quantity, in order: the first whose coverage is right is printed
PREFERRED = ('factor', 'split_t')

#: The mapping every contrast holds the others to
MAIN = 'nrp'
#: The figures :func:`mapping_figures` gives per mapping (besides its per-split MAEs).
MEASURES = ('mae', 'mae_error', 'r', 'score_mae', 'score_r')


def contrasts():
    """The mapping contrasts ``(a, b)`` for ``a - b``, tested in MAE on the same splits: the NRP against every other
    registered mapping and against the row's best linear mapping (``'best_linear'``, :func:`best_linear`), then
    ridge against least squares on the NRP inputs (the inputs held, the penalty varied) and banded ridge against
    PLS (both linear, on every component against Brain-Score's standard)."""
    names = mappings.names()
    pairs = [(MAIN, name) for name in names if name != MAIN] + [(MAIN, 'best_linear')]
    pairs += [pair for pair in (('ridge', 'least_squares'), ('banded_ridge', 'pls'))
              if pair[0] in names and pair[1] in names]
    return tuple(pairs)


def ceiled_mae(mae, mae_mean, floor):
    """The MAE-ceiled score ``(MAE_mean - MAE) / (MAE_mean - floor)``, unclipped.

    Parameters
    ----------
    mae, mae_mean, floor : float or None
        A mapping's test MAE, the MAE of predicting the training mean and the noise floor.

    Returns
    -------
    float or None
        0 at the training mean, 1 at the noise floor; None when a figure is missing or
        ``mae_mean == floor``.
    """
    if None in (mae, mae_mean, floor) or mae_mean == floor:
        return None
    return (mae_mean - mae) / (mae_mean - floor)


def ceiled_r(r, ceiling):
    """The r-ceiled score ``r^2 / ceiling``, as Brain-Score's ``explained_variance`` ceils ``-pls`` scores.

    Parameters
    ----------
    r : float or None
        Pearson r (median over sites, mean over splits).
    ceiling : float or None
        The internal-consistency ceiling.

    Returns
    -------
    float or None
        None when ``r`` is missing or the ceiling is missing or 0.
    """
    if r is None or not ceiling:
        return None
    return r ** 2 / ceiling


def mapping_figures(pls, nrp, train_size=None):
    """Per registered mapping, its MAE, r and both ceiled scores for one (model, region).

    Parameters
    ----------
    pls, nrp : dict
        The ``-pls`` and ``-nrp`` records (:func:`nrp_plugin.app.compare.summarize`); {} when missing. A mapping's
        figures come from the ``-pls`` record when Brain-Score's ``-pls`` benchmark is its standard
        (:attr:`nrp_plugin.mappings.Mapping.standard_benchmark`), else from the ``-nrp`` record.
    train_size : float, optional
        Training fraction of the splits (Brain-Score's 0.9 when None), for the corrected intervals.

    Returns
    -------
    figures : dict
        ``{mapping: {'mae', 'mae_error', 'r', 'score_mae', 'score_r', 'split_mae'}}``: ``mae_error`` is the SEM
        over splits the metric reports (the splits taken as independent). A mapping the run did not report (e.g. no
        ridge) has None everywhere and an empty ``split_mae``. Keys in the registry's order.
    """
    floor, mae_mean, ceiling = nrp.get('ceiling'), nrp.get('mean_predictor_mae'), pls.get('ceiling')
    figures = {}
    for name, mapping in mappings.registered().items():
        record = pls if mapping.standard_benchmark == 'pls' else nrp
        r = record.get(f'{name}_pearson')
        if r is None and mapping.standard_benchmark == 'pls':
            r = record.get('raw_r')
        mae, splits = record.get(f'{name}_mae'), record.get(f'split_{name}_mae')
        figures[name] = {'mae': mae, 'mae_error': record.get(f'{name}_mae_error'), 'r': r,
                         'score_mae': ceiled_mae(mae, mae_mean, floor), 'score_r': ceiled_r(r, ceiling),
                         'split_mae': list(splits or [])}
    return figures


def panel_name(mapping):
    """A mapping's name in a panel: Brain-Score's ``-pls`` benchmark's PLS is the standard
    (:data:`nrp_plugin.app.panels.STANDARD_MAPPING`); the others keep theirs."""
    return STANDARD_MAPPING if mapping == 'pls' else mapping


def estimate_with_interval(kind, quantity=None, group=None, split_values=None, train_size=None):
    """A quantity's estimate with the first interval of :data:`PREFERRED` whose measured coverage allows printing it.

    Parameters
    ----------
    kind : str
        The kind of quantity (:data:`nrp_plugin.inference.coverage.KINDS`).
    quantity : Quantity, optional
        For the factor interval, on ``group``'s draws.
    group : GroupPanel, optional
    split_values : array-like, optional
        The quantity per split, for the corrected resampled t.
    train_size : float, optional

    Returns
    -------
    dict
        ``estimate``, ``low``, ``high``, ``p`` (None when nothing may be printed), ``method`` (the interval's, or
        None), ``coverage`` (how well it covers, in words) and ``note`` (why there is none).
    """
    out = {'estimate': None, 'low': None, 'high': None, 'p': None, 'method': None, 'coverage': None, 'note': None}
    notes = []
    for method in PREFERRED:
        if method == 'factor':
            if quantity is None or group is None or group.draws is None \
                    or any(item is None for item in quantity.involved()):
                notes.append('no held-out predictions')
                continue
            found = interval(quantity, group.draws, 'factor')
        else:
            if not split_values or len(split_values) < 2:
                continue
            test = resampled_t(split_values, split_ratio(train_size))
            found = {'estimate': test['mean'], 'low': test['ci_low'], 'high': test['ci_high'], 'p': test['p']}
        if out['estimate'] is None:
            out['estimate'] = found['estimate']
        printed, words = assessment(kind, method)
        if printed and found['low'] is not None:
            out.update(estimate=found['estimate'], low=found['low'], high=found['high'], p=found['p'], method=method,
                       coverage=words)
            return out
        notes.append(f'{method}: {words}')
    out['note'] = '; '.join(notes) or 'no interval'
    return out


def score_intervals(rows, panels=None):
    """Per row, every mapping's MAE and Brain-Score's PLS r with their intervals (:func:`estimate_with_interval`):
    ``<mapping>_mae_ci_low``, ``_ci_high`` and ``pls_raw_r_ci_low``, ``_ci_high`` (None where none may be printed),
    and the method's words in ``interval_methods`` (per kind of quantity). Changes the rows in place."""
    panels = panels or {}
    for row in rows:
        group = panels.get((row['family'], row['region']))
        item = (lambda mapping, measure: None if group is None else
                group.item(row['model'], panel_name(mapping), measure))
        for mapping in mappings.names():
            found = estimate_with_interval('score (MAE)', Quantity('score', (item(mapping, 'mae'),)), group,
                                           row.get(f'split_{mapping}_mae') or None, row.get('train_size'))
            row[f'{mapping}_mae_ci_low'], row[f'{mapping}_mae_ci_high'] = found['low'], found['high']
        found = estimate_with_interval('score (r)', Quantity('score', (item('pls', 'r'),)), group,
                                       row.get('split_pls_r') or None, row.get('train_size'))
        row['pls_raw_r_ci_low'], row['pls_raw_r_ci_high'] = found['low'], found['high']
        row['nrp_error_ci_low'], row['nrp_error_ci_high'] = row.get('nrp_mae_ci_low'), row.get('nrp_mae_ci_high')
    return rows


def model_differences(rows, panels=None):
    """Every pair of models in a family and region, on the same splits: the difference of each mapping's MAE and
    of PLS r, with its interval (:func:`estimate_with_interval`)."""
    panels = panels or {}
    out = []
    for family, region in ordered_unique((r['family'], r['region']) for r in rows):
        sub = [r for r in rows if r['family'] == family and r['region'] == region]
        group = panels.get((family, region))
        for i, a in enumerate(sub):
            for b in sub[i + 1:]:
                measures = [(m, 'mae', f'split_{m}_mae') for m in mappings.names()] + [('pls', 'r', 'split_pls_r')]
                for mapping, measure, key in measures:
                    split_a, split_b = a.get(key) or [], b.get(key) or []
                    if not split_a or not split_b:
                        continue
                    quantity = None
                    if group is not None:
                        quantity = Quantity('difference', (group.item(a['model'], panel_name(mapping), measure),
                                                           group.item(b['model'], panel_name(mapping), measure)))
                    splits = list(np.subtract(split_a, split_b)) if len(split_a) == len(split_b) else None
                    found = estimate_with_interval(f'model difference ({"MAE" if measure == "mae" else "r"})', quantity,
                                                   group, splits, a['train_size'])
                    if found['estimate'] is None:
                        continue
                    out.append({'family': family, 'region': region, 'model_a': a['model'], 'model_b': b['model'],
                                'measure': f'{mapping}_{measure}' if measure == 'mae' else 'pls_r',
                                'mean': found['estimate'], 'ci_low': found['low'], 'ci_high': found['high'],
                                'p': found['p'], 'method': found['method'], 'note': found['note']})
    return out


def best_linear(split_maes, reference=MAIN):
    """The linear mapping a mapping is held to in "NRP − best linear": the lowest mean MAE over the splits.

    Parameters
    ----------
    split_maes : dict
        ``{mapping: per-split MAEs}`` of one family, model and region (missing or empty: not reported).
    reference : str
        The mapping it is contrasted with; a candidate must be reported on as many splits as it.

    Returns
    -------
    str or None
        Of the registered linear mappings (:func:`nrp_plugin.mappings.linear_names`) with per-split MAEs, all
        finite, on as many splits as ``reference``, the one whose mean over the splits is lowest (a tie goes to the
        first in registry order); None when the reference has no per-split MAEs or no candidate qualifies. The
        choice is made once per (family, model, region) from the means, not split by split.
    """
    n_splits = len(split_maes.get(reference) or [])
    best, best_mean = None, None
    for mapping in mappings.linear_names():
        values = np.asarray(split_maes.get(mapping) or [], dtype=float)
        if n_splits == 0 or values.size != n_splits or not np.all(np.isfinite(values)):
            continue
        mean = float(values.mean())
        if best is None or mean < best_mean:
            best, best_mean = mapping, mean
    return best


def mapping_differences(rows, panels=None):
    """Per model and region, the mapping contrasts (:func:`contrasts`) in MAE on the same splits.

    Each entry has the difference, its interval and p-value (:func:`estimate_with_interval`: the factor interval of
    the held-out predictions, or the corrected resampled t over the splits, whichever's coverage allows) and
    ``p_holm``, its p-value Holm-corrected across the models and regions of its family and contrast; an
    ``nrp - best_linear`` entry also names the mapping (``best_linear``, :func:`best_linear`).
    """
    panels = panels or {}
    out = []
    for r in rows:
        chosen = r.get('best_linear')
        if 'best_linear' not in r:  # rows not made by tables.build_rows
            chosen = best_linear({m: r.get(f'split_{m}_mae') for m in mappings.names()})
        group = panels.get((r['family'], r['region']))
        for a, b in contrasts():
            b_name = chosen if b == 'best_linear' else b
            split_a, split_b = r.get(f'split_{a}_mae') or [], (r.get(f'split_{b_name}_mae') or []) if b_name else []
            if not split_a or len(split_a) != len(split_b):
                continue
            quantity = None
            if group is not None:
                quantity = Quantity('difference', (group.item(r['model'], panel_name(a), 'mae'),
                                                   group.item(r['model'], panel_name(b_name), 'mae')))
            found = estimate_with_interval('mapping difference (MAE)', quantity, group, list(np.subtract(split_a, split_b)),
                                           r['train_size'])
            if found['estimate'] is None:
                continue
            entry = {'family': r['family'], 'model': r['model'], 'region': r['region'], 'contrast': f'{a} - {b}',
                     'measure': 'mae', 'mean': found['estimate'], 'ci_low': found['low'], 'ci_high': found['high'],
                     'p': found['p'], 'method': found['method'], 'note': found['note'], 'n_splits': len(split_a)}
            if b == 'best_linear':
                entry['best_linear'] = chosen
            out.append(entry)
    holm_within(out, lambda entry: (entry['family'], entry['contrast']))
    return out


def statistics(rows, panels=None):
    """Every mapping's score intervals, the mapping contrasts per model and region and the model contrasts per region.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows` (their score intervals are added in place,
        :func:`score_intervals`).
    panels : dict, optional
        :func:`nrp_plugin.app.panels.group_panels` of the records, for the factor intervals.

    Returns
    -------
    dict
        ``method``, ``best_linear_method`` and ``holm_method`` (in words), ``interval_methods`` (per kind of quantity,
        the interval printed and its measured coverage, or why none is), ``mapping_differences``
        (:func:`mapping_differences`, with Holm-corrected ``p_holm``) and ``model_differences``
        (:func:`model_differences`).
    """
    score_intervals(rows, panels)
    return {'method': METHOD, 'best_linear_method': best_linear_method(), 'holm_method': HOLM_METHOD,
            'interval_methods': interval_methods(), 'mapping_differences': mapping_differences(rows, panels),
            'model_differences': model_differences(rows, panels)}


def interval_methods():
    """Per kind of quantity, each method of :data:`PREFERRED` with whether it is printed and its measured coverage
    in words (:func:`nrp_plugin.inference.coverage.assessment`)."""
    from ..inference.coverage import KINDS
    return {kind: {method: dict(zip(('printed', 'words'), assessment(kind, method))) for method in PREFERRED}
            for kind in KINDS}
