"""The per-row statistics of a comparison: each mapping's figures, the mapping contrasts and the model contrasts
with the corrected resampled t, Holm-corrected, and Spearman's rho between the NRP and PLS scores. Pure numpy and
scipy; the mappings, their titles and their linear/nonlinear grouping come from the registry
(:mod:`nrp_plugin.mappings`).
"""
import math

import numpy as np

from .. import mappings
from .intervals import holm_within, ordered_unique, paired_difference, resampled_t, split_half_width, split_ratio
from .methods import HOLM_METHOD, METHOD, best_linear_method

__all__ = ['MAIN', 'MEASURES', 'best_linear', 'ceiled_mae', 'ceiled_mae_half_width', 'ceiled_r',
           'ceiled_r_half_width', 'contrasts', 'mapping_differences', 'mapping_figures', 'model_differences',
           'spearman', 'spearman_inference', 'statistics']

#: The mapping every contrast holds the others to
MAIN = 'nrp'
#: The figures :func:`mapping_figures` gives per mapping (besides its per-split MAEs).
MEASURES = ('mae', 'mae_error', 'mae_ci95', 'r', 'score_mae', 'score_r')


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
        ``{mapping: {'mae', 'mae_error', 'mae_ci95', 'r', 'score_mae', 'score_r', 'split_mae'}}``:
        ``mae_error`` is the naive SEM the metric reports, ``mae_ci95`` the corrected 95% half-width
        (:func:`nrp_plugin.app.intervals.split_interval`) over ``split_mae``. A mapping the run did not report
        (e.g. no ridge) has None everywhere and an empty ``split_mae``. Keys in the registry's order.
    """
    floor, mae_mean, ceiling = nrp.get('ceiling'), nrp.get('mean_predictor_mae'), pls.get('ceiling')
    figures = {}
    for name, mapping in mappings.registered().items():
        record = pls if mapping.standard_benchmark == 'pls' else nrp
        r = record.get(f'{name}_pearson')
        if r is None and mapping.standard_benchmark == 'pls':
            r = record.get('raw_r')
        mae, splits = record.get(f'{name}_mae'), record.get(f'split_{name}_mae')
        figures[name] = {'mae': mae, 'mae_error': record.get(f'{name}_mae_error'),
                         'mae_ci95': split_half_width(splits, train_size), 'r': r,
                         'score_mae': ceiled_mae(mae, mae_mean, floor), 'score_r': ceiled_r(r, ceiling),
                         'split_mae': list(splits or [])}
    return figures


def ceiled_r_half_width(r, r_half, ceiling):
    """Half-width of ``r^2 / ceiling`` from that of r by the delta method (``2 |r| / ceiling``).

    Parameters
    ----------
    r, r_half : float or None
        Pearson r and the half-width of its interval.
    ceiling : float or None
        The internal-consistency ceiling.

    Returns
    -------
    float or None
        None when a figure is missing or the ceiling is missing or 0.
    """
    if None in (r, r_half) or not ceiling:
        return None
    return 2 * abs(r) * r_half / ceiling


def ceiled_mae_half_width(mae_half, mae_mean, floor):
    """Half-width of :func:`ceiled_mae` from that of the MAE, ``MAE_mean`` and the floor held fixed.

    Parameters
    ----------
    mae_half, mae_mean, floor : float or None
        The half-width of the MAE's interval, the training-mean MAE and the noise floor.

    Returns
    -------
    float or None
        ``mae_half / |MAE_mean - floor|``; None when a figure is missing or ``mae_mean == floor``.
    """
    if None in (mae_half, mae_mean, floor) or mae_mean == floor:
        return None
    return mae_half / abs(mae_mean - floor)


def _rank_rows(matrix):
    """Ranks (0..n-1) along the last axis of ``matrix`` (no ties: continuous draws)."""
    return np.argsort(np.argsort(matrix, axis=-1), axis=-1).astype(float)


def spearman_inference(x, y, x_se=None, y_se=None, alpha=0.05, draws=2000, random_state=0):
    """Spearman's rho between two scores of the same models, with what can be said about it.

    Parameters
    ----------
    x, y : array-like, shape (n_models,)
    x_se, y_se : array-like, shape (n_models,), optional
        Standard errors of each model's scores (the corrected resampled SE over splits); with them,
        ``measurement_ci`` is the interval of rho over ``draws`` normal perturbations of the scores.

    Returns
    -------
    dict
        ``rho``; ``p_permutation`` (exact over all n! orders for n <= 8, else 20,000 seeded
        permutations; two-sided); ``ci_low``/``ci_high``: Fisher-z interval with Bonett & Wright's
        (2000) variance (1 + rho^2/2) / (n - 3), only for n >= 4 and |rho| < 1, about models like these
        ones; ``measurement_ci``: how far rho moves under the scores' own measurement error (not a
        statement about other models).
    """
    import itertools
    from scipy.stats import norm, spearmanr
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    out = {'n_models': int(n), 'rho': None, 'p_permutation': None, 'ci_low': None, 'ci_high': None,
           'measurement_ci': None}
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    rho = float(spearmanr(x, y)[0])
    out['rho'] = rho
    rx, ry = _rank_rows(x), _rank_rows(y)
    if n <= 8:
        perms = np.array(list(itertools.permutations(range(n))))
    else:
        perms = np.stack([np.random.default_rng(random_state + i).permutation(n) for i in range(20000)])
    permuted = np.array([np.corrcoef(rx, ry[p])[0, 1] for p in perms])
    out['p_permutation'] = float(np.mean(np.abs(permuted) >= abs(rho) - 1e-12))
    if n >= 4 and abs(rho) < 1:
        z, se = math.atanh(rho), math.sqrt((1 + rho ** 2 / 2) / (n - 3))
        q = float(norm.ppf(1 - alpha / 2))
        out.update(ci_low=math.tanh(z - q * se), ci_high=math.tanh(z + q * se))
    if x_se is not None and y_se is not None:
        xs, ys = np.nan_to_num(np.asarray(x_se, float)), np.nan_to_num(np.asarray(y_se, float))
        rng = np.random.default_rng(random_state)
        dx = _rank_rows(x + rng.standard_normal((draws, n)) * xs)
        dy = _rank_rows(y + rng.standard_normal((draws, n)) * ys)
        dx -= dx.mean(axis=1, keepdims=True)
        dy -= dy.mean(axis=1, keepdims=True)
        rhos = (dx * dy).sum(axis=1) / np.sqrt((dx ** 2).sum(axis=1) * (dy ** 2).sum(axis=1))
        out['measurement_ci'] = [float(np.quantile(rhos, alpha / 2)), float(np.quantile(rhos, 1 - alpha / 2))]
    return out


def _split_se(splits, train_size):
    test = resampled_t(np.asarray(splits, dtype=float), split_ratio(train_size)) if splits else None
    return test['se'] if test and test['se'] is not None else 0.0


def spearman(rows, min_models=3):
    """Spearman rank correlation across models between NRP score and PLS score, per family and region.

    The measurement interval perturbs each model's NRP score by its corrected SE (from the per-split
    NRP-errors, over MAE_mean - floor) and its PLS score by that of r^2/ceiling (delta method, 2r/ceiling).
    """
    result = {}
    for family, region in ordered_unique((r['family'], r['region']) for r in rows):
        sub = [r for r in rows if r['family'] == family and r['region'] == region
               and r['nrp_score'] is not None and r['pls_score'] is not None]
        entry = {'n_models': len(sub), 'rho': None}
        if len(sub) >= min_models:
            x_se, y_se = [], []
            for r in sub:
                span = (r['mean_predictor_mae'] or 0) - (r['noise_floor'] or 0)
                x_se.append(_split_se(r['split_nrp_mae'], r['train_size']) / span if span else 0.0)
                ceiling, pls_r = r['internal_consistency'], r['pls_raw_r']
                r_se = _split_se(r['split_pls_r'], r['train_size'])
                y_se.append(2 * abs(pls_r) * r_se / ceiling if ceiling and pls_r is not None else 0.0)
            entry = spearman_inference([r['nrp_score'] for r in sub], [r['pls_score'] for r in sub], x_se, y_se)
        result.setdefault(family, {})[region] = entry
    return result


def model_differences(rows):
    """Every pair of models in a family and region, on the same splits: per-split differences of each
    mapping's MAE and of PLS r, with the corrected resampled t and its 95% interval."""
    out = []
    for family, region in ordered_unique((r['family'], r['region']) for r in rows):
        sub = [r for r in rows if r['family'] == family and r['region'] == region]
        for i, a in enumerate(sub):
            for b in sub[i + 1:]:
                measures = [(f'{m}_mae', a.get(f'split_{m}_mae') or [], b.get(f'split_{m}_mae') or [])
                            for m in mappings.names()]
                measures.append(('pls_r', a['split_pls_r'], b['split_pls_r']))
                for measure, sa, sb in measures:
                    test = paired_difference(sa, sb, a['train_size'])
                    if test is not None:
                        out.append({'family': family, 'region': region, 'model_a': a['model'],
                                    'model_b': b['model'], 'measure': measure, **test})
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


def mapping_differences(rows):
    """Per model and region, the mapping contrasts (:func:`contrasts`) in MAE on the same splits.

    Each entry has the corrected resampled t (:func:`nrp_plugin.app.intervals.paired_difference`) and ``p_holm``,
    its p-value Holm-corrected across the models and regions of its family and contrast; an ``nrp - best_linear``
    entry also names the mapping (``best_linear``, :func:`best_linear`).
    """
    out = []
    for r in rows:
        chosen = r.get('best_linear')
        if 'best_linear' not in r:  # rows not made by tables.build_rows
            chosen = best_linear({m: r.get(f'split_{m}_mae') for m in mappings.names()})
        splits = dict(r, split_best_linear_mae=r.get(f'split_{chosen}_mae') if chosen else [])
        for a, b in contrasts():
            test = paired_difference(splits.get(f'split_{a}_mae') or [], splits.get(f'split_{b}_mae') or [],
                                     r['train_size'])
            if test is not None:
                entry = {'family': r['family'], 'model': r['model'], 'region': r['region'],
                         'contrast': f'{a} - {b}', 'measure': 'mae', **test}
                if b == 'best_linear':
                    entry['best_linear'] = chosen
                out.append(entry)
    holm_within(out, lambda entry: (entry['family'], entry['contrast']))
    return out


def statistics(rows):
    """Spearman per family/region, mapping contrasts per model/region and model contrasts per region.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows`.

    Returns
    -------
    dict
        ``method``, ``best_linear_method`` and ``holm_method`` (in words), ``spearman_nrp_vs_pls_score``
        (:func:`spearman`), ``mapping_differences`` (:func:`mapping_differences`, with Holm-corrected ``p_holm``)
        and ``model_differences`` (:func:`model_differences`).
    """
    return {'method': METHOD, 'best_linear_method': best_linear_method(), 'holm_method': HOLM_METHOD,
            'spearman_nrp_vs_pls_score': spearman(rows), 'mapping_differences': mapping_differences(rows),
            'model_differences': model_differences(rows)}
