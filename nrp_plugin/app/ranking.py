"""Does the NRP rank models differently from PLS, and which factor moves the ranking? Rank correlations between the
models' orders, their differences, and the pairs of models whose order changes, each with the interval its measured
coverage allows (:func:`nrp_plugin.app.contrasts.estimate_with_interval`). Pure numpy and scipy.

The orders are those of panel items (:mod:`nrp_plugin.app.panels`): a mapping taken in a measure, on the committed
layer or on the NRP's window. Brain-Score's standard is its ``-pls`` benchmark's PLS in Pearson r
(:data:`nrp_plugin.app.panels.STANDARD`).
"""
import numpy as np

from .. import mappings
from ..inference import Quantity
from .contrasts import estimate_with_interval
from ..inference.splits import holm, ordered_unique
from .methods import FACTORIAL_METHOD, RANKING_METHOD, SWAP_METHOD
from .panels import STANDARD

__all__ = ['FACTORS', 'MAX_MOVERS', 'RANK_COMPARISONS', 'discordant_pairs', 'factorial', 'model_ranks', 'oriented',
           'rank_movers', 'ranking']

#: The rank comparisons of :func:`ranking`, each ``(title, (mapping, measure))`` against the standard: the NRP in
#: MAE, and ridge in MAE (a linear mapping in the NRP's measure, which separates the mapping from the measure)
RANK_COMPARISONS = (('NRP-error vs PLS r', ('nrp', 'mae')), ('ridge MAE vs PLS r', ('ridge', 'mae')))
#: At most this many models are named as the largest movers (:func:`rank_movers`).
MAX_MOVERS = 5
#: The factors of the factorial analysis, each with the standard's level: the mapping, the measure, the inputs
FACTORS = {'mapping': 'pls', 'measure': 'r', 'inputs': 'layer'}
#: The inputs' levels and the suffix of a mapping's fit on them (the NRP benchmark's fits on the committed layer alone
#: end in ``_on_layer``)
INPUTS = {'layer': '_on_layer', 'window': ''}


def oriented(values, higher_is_better):
    """``values`` as floats, negated when lower is better, so that higher is better in every ranking."""
    values = np.asarray(values, dtype=float)
    return values if higher_is_better else -values


def model_ranks(values, higher_is_better):
    """Each model's rank, 1 the best; tied models share the mean of their ranks (as Spearman's rho ranks)."""
    from scipy.stats import rankdata
    return rankdata(-oriented(values, higher_is_better), method='average')


def rank_movers(ranks, limit=MAX_MOVERS):
    """The at most ``limit`` models whose rank changes most between PLS and the NRP (largest absolute change first;
    a tie: the better PLS rank first); unchanged models are not named."""
    moved = [r for r in ranks if r['rank_change']]
    moved.sort(key=lambda r: (-abs(r['rank_change']), r['pls_rank']))
    return [r['model'] for r in moved[:limit]]


def _order(group, models, mapping, measure):
    """The panel's items of ``models`` for one order, or None when one is missing."""
    items = tuple(group.item(model, mapping, measure) for model in models)
    return None if any(item is None for item in items) else items


def _correlation_entries(group, models, first, second, title, min_models):
    """Spearman's rho and Kendall's tau between two orders (each ``(mapping, measure)``) of ``models``, each with its
    interval; the entry says why a figure is missing."""
    entry = {'title': title, 'n_models': len(models), 'models': list(models)}
    xs, ys = _order(group, models, *first), _order(group, models, *second)
    for kind in ('spearman', 'kendall'):
        if len(models) < min_models or xs is None or ys is None:
            entry[kind] = {'estimate': None, 'note': f'fewer than {min_models} models with both orders'
                           if len(models) < min_models else 'an order is missing'}
            continue
        entry[kind] = estimate_with_interval('rank correlation', Quantity('rank', (xs, ys), kind, title), group)
    return entry


def _difference_entry(group, models, first, second, standard, title, min_models):
    """The difference of two rank correlations with the standard, ``rank(first) - rank(second)``, each kind."""
    entry = {'title': title, 'n_models': len(models)}
    orders = [_order(group, models, *order) for order in (first, second, standard)]
    for kind in ('spearman', 'kendall'):
        if len(models) < min_models or any(order is None for order in orders):
            entry[kind] = {'estimate': None, 'note': 'too few models or an order missing'}
            continue
        quantity = Quantity('rank_difference', ((orders[0], orders[2]), (orders[1], orders[2])), kind, title)
        entry[kind] = estimate_with_interval('rank correlation difference', quantity, group)
    return entry


def discordant_pairs(rows, group, alpha=0.05):
    """The pairs of models that PLS r and the NRP-error order differently, each difference tested under both
    measures.

    Parameters
    ----------
    rows : list of dict
        Rows of one family and region (``model``, ``pls_raw_r``, ``nrp_error``).
    group : GroupPanel or None
    alpha : float

    Returns
    -------
    list of dict
        Per discordant pair: ``model_a`` (the higher PLS r), ``model_b`` (the lower NRP-error), their scores; for
        each measure ``pls`` (PLS r, A − B) and ``nrp`` (NRP-error, A − B) the difference with its interval and
        p-value (:func:`nrp_plugin.app.contrasts.estimate_with_interval`) as ``<measure>_{difference, ci_low,
        ci_high, p}``, and ``<measure>_p_holm`` (Holm over the 2m p-values of the m pairs); ``swaps``: True when
        both Holm p-values are below ``alpha`` with A better by PLS r and B by the NRP-error, False when not, None
        when a measure has no p-value.
    """
    scored = [r for r in rows if r.get('pls_raw_r') is not None and r.get('nrp_error') is not None]
    pairs = []
    for i, x in enumerate(scored):
        for y in scored[i + 1:]:
            pls_gap, nrp_gap = x['pls_raw_r'] - y['pls_raw_r'], x['nrp_error'] - y['nrp_error']
            if pls_gap * nrp_gap <= 0:  # the same order (a higher r with a lower error), or a tie
                continue
            a, b = (x, y) if pls_gap > 0 else (y, x)
            pair = {'model_a': a['model'], 'model_b': b['model'], 'pls_r_a': a['pls_raw_r'],
                    'pls_r_b': b['pls_raw_r'], 'nrp_error_a': a['nrp_error'], 'nrp_error_b': b['nrp_error']}
            for measure, (mapping, taken), kind, key in (('pls', STANDARD, 'model difference (r)', 'split_pls_r'),
                                                         ('nrp', ('nrp', 'mae'), 'model difference (MAE)',
                                                          'split_nrp_mae')):
                quantity = None
                if group is not None:
                    quantity = Quantity('difference', (group.item(a['model'], mapping, taken),
                                                       group.item(b['model'], mapping, taken)))
                split_a, split_b = a.get(key) or [], b.get(key) or []
                splits = list(np.subtract(split_a, split_b)) if split_a and len(split_a) == len(split_b) else None
                found = estimate_with_interval(kind, quantity, group, splits, a.get('train_size'))
                difference = found['estimate'] if found['estimate'] is not None else (
                    pls_gap if measure == 'pls' else nrp_gap) * (1 if a is x else -1)
                pair.update({f'{measure}_difference': difference, f'{measure}_ci_low': found['low'],
                             f'{measure}_ci_high': found['high'], f'{measure}_p': found['p'],
                             f'{measure}_method': found['method']})
            pairs.append(pair)
    adjusted = holm([pair[f'{measure}_p'] for pair in pairs for measure in ('pls', 'nrp')])
    for index, pair in enumerate(pairs):
        pair['pls_p_holm'], pair['nrp_p_holm'] = adjusted[2 * index], adjusted[2 * index + 1]
        if pair['pls_p_holm'] is None or pair['nrp_p_holm'] is None:
            pair['swaps'] = None
        else:
            pair['swaps'] = bool(pair['pls_p_holm'] < alpha and pair['nrp_p_holm'] < alpha
                                 and pair['pls_difference'] > 0 and pair['nrp_difference'] > 0)
    return pairs


def _cell_name(mapping, measure, inputs):
    return f'{mappings.title(mapping)}, {"r" if measure == "r" else "MAE"}, {inputs}'


def factorial(group, min_models=3):
    """Every cell of mapping x measure x inputs, its rank correlation with Brain-Score's standard (PLS, r, the
    committed layer), and the change caused by switching one factor at a time to the standard's level.

    A cell's order is the models' order by that mapping's predictions taken in that measure, on the committed layer
    alone or on the NRP's window (the NRP benchmark's fits, :data:`INPUTS`); the standard's is the ``-pls``
    benchmark's. Only models that have every cell take part.

    Returns
    -------
    dict or None
        ``models``, ``cells`` (per cell: ``mapping``, ``measure``, ``inputs``, ``name``, and ``spearman``,
        ``kendall`` as :func:`nrp_plugin.app.contrasts.estimate_with_interval` returns them), ``switches`` (per cell
        and factor not at the standard's level: ``cell``, ``factor``, ``to`` (the cell with that factor switched),
        and the difference ``rank(cell) - rank(to)`` in ``spearman`` and ``kendall``); None when no model has the
        fits on the committed layer.
    """
    if group is None or group.draws is None:
        return None
    names = [name for name in mappings.names()]
    cells = [(m, measure, inputs) for inputs in INPUTS for measure in ('r', 'mae') for m in names]
    models = [model for model in group.models
              if all(group.item(model, m + INPUTS[inputs], measure) for m, measure, inputs in cells)
              and group.item(model, *STANDARD)]
    if len(models) < min_models:
        return None if not models else {'models': models, 'cells': [], 'switches': [],
                                        'note': f'fewer than {min_models} models with every cell'}
    standard = _order(group, models, *STANDARD)
    out = {'models': models, 'cells': [], 'switches': []}
    for mapping, measure, inputs in cells:
        order = _order(group, models, mapping + INPUTS[inputs], measure)
        entry = {'mapping': mapping, 'measure': measure, 'inputs': inputs, 'name': _cell_name(mapping, measure, inputs)}
        for kind in ('spearman', 'kendall'):
            entry[kind] = estimate_with_interval('rank correlation',
                                                 Quantity('rank', (order, standard), kind, entry['name']), group)
        out['cells'].append(entry)
        for factor, level in FACTORS.items():
            current = {'mapping': mapping, 'measure': measure, 'inputs': inputs}
            if current[factor] == level:
                continue
            switched = dict(current, **{factor: level})
            other = _order(group, models, switched['mapping'] + INPUTS[switched['inputs']], switched['measure'])
            switch = {'cell': entry['name'], 'factor': factor, 'from': current[factor], 'to_level': level,
                      'to': _cell_name(switched['mapping'], switched['measure'], switched['inputs'])}
            for kind in ('spearman', 'kendall'):
                quantity = Quantity('rank_difference', ((order, standard), (other, standard)), kind,
                                    f"{entry['name']} − {switch['to']}")
                switch[kind] = estimate_with_interval('rank correlation difference', quantity, group)
            out['switches'].append(switch)
    return out


def ranking(rows, panels=None, alpha=0.05, min_models=3):
    """Does the NRP rank models differently from PLS? Per family and region, over the models scored.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows`.
    panels : dict, optional
        :func:`nrp_plugin.app.panels.group_panels` of the records; without them, no interval.
    alpha : float
        The level of the swap test.
    min_models : int
        The fewest models a correlation is computed for.

    Returns
    -------
    dict
        ``method``, ``swap_method``, ``factorial_method`` and ``regions``: per family and region ``family``,
        ``region``, ``ranks`` (per model: ``model``, ``pls_r``, ``nrp_error``, ``pls_rank``, ``nrp_rank`` (1 = best,
        ties the mean rank), ``rank_change`` = PLS rank − NRP rank), ``movers`` (:func:`rank_movers`),
        ``correlations`` (per comparison of :data:`RANK_COMPARISONS`: ``title``, ``n_models``, ``models``,
        ``spearman``, ``kendall``, each an estimate with its interval), ``difference`` (the NRP's correlation minus
        ridge's, each kind, with its interval and p-value), ``discordant_pairs`` (:func:`discordant_pairs`),
        ``n_pairs``, ``n_discordant``, ``n_swaps``, ``factorial`` (:func:`factorial`) and ``missing`` (models left
        out of the intervals, with why).
    """
    panels = panels or {}
    groups = []
    for family, region in ordered_unique((r['family'], r['region']) for r in rows):
        sub = [r for r in rows if r['family'] == family and r['region'] == region]
        group = panels.get((family, region))
        scored = [r for r in sub if r.get('pls_raw_r') is not None and r.get('nrp_error') is not None]
        ranks = []
        if scored:
            pls_ranks = model_ranks([r['pls_raw_r'] for r in scored], True)
            nrp_ranks = model_ranks([r['nrp_error'] for r in scored], False)
            ranks = [{'model': r['model'], 'pls_r': r['pls_raw_r'], 'nrp_error': r['nrp_error'],
                      'pls_rank': float(p), 'nrp_rank': float(n), 'rank_change': float(p - n)}
                     for r, p, n in zip(scored, pls_ranks, nrp_ranks)]
        models = [r['model'] for r in scored if group is not None and r['model'] in group.models] \
            if group is not None and group.draws is not None else [r['model'] for r in scored]
        correlations = [dict(_correlation_entries(group, models, order, STANDARD, title, min_models)
                             if group is not None and group.draws is not None
                             else _plain_correlations(scored, order, title, min_models), comparison=order[0] + '_vs_pls')
                        for title, order in RANK_COMPARISONS]
        difference = None
        if group is not None and group.draws is not None:
            difference = _difference_entry(group, models, RANK_COMPARISONS[0][1], RANK_COMPARISONS[1][1], STANDARD,
                                           f'({RANK_COMPARISONS[0][0]}) − ({RANK_COMPARISONS[1][0]})', min_models)
        pairs = discordant_pairs(sub, group, alpha)
        groups.append({'family': family, 'region': region, 'ranks': ranks, 'movers': rank_movers(ranks),
                       'correlations': correlations, 'difference': difference, 'discordant_pairs': pairs,
                       'n_pairs': len(scored) * (len(scored) - 1) // 2, 'n_discordant': len(pairs),
                       'n_swaps': sum(1 for pair in pairs if pair['swaps']), 'factorial': factorial(group, min_models),
                       'missing': dict(group.missing) if group is not None else {}})
    return {'method': RANKING_METHOD, 'swap_method': SWAP_METHOD, 'factorial_method': FACTORIAL_METHOD,
            'alpha': alpha, 'regions': groups}


def _plain_correlations(scored, order, title, min_models):
    """The correlations of the rows' scores, without an interval (no held-out predictions)."""
    from scipy.stats import kendalltau, spearmanr
    key = {'nrp': 'nrp_error', 'ridge': 'ridge_mae'}[order[0]]
    both = [r for r in scored if r.get(key) is not None]
    entry = {'title': title, 'n_models': len(both), 'models': [r['model'] for r in both]}
    for kind, function in (('spearman', spearmanr), ('kendall', kendalltau)):
        if len(both) < min_models:
            entry[kind] = {'estimate': None, 'note': f'fewer than {min_models} models'}
            continue
        value = function(-np.asarray([r[key] for r in both]), [r['pls_raw_r'] for r in both])[0]
        entry[kind] = {'estimate': None if not np.isfinite(value) else float(value), 'low': None, 'high': None,
                       'p': None, 'method': None, 'note': 'no held-out predictions: no interval'}
    return entry

