"""Does the NRP rank models differently from PLS? Rank correlations between the models' orders, their intervals,
and the pairs of models whose order changes, each tested under both measures. Pure numpy and scipy.
"""
import warnings

import numpy as np

from .intervals import holm, ordered_unique, paired_difference
from .methods import RANKING_METHOD, SWAP_METHOD


#: The rankings of models that are compared: per ranking, the row's score it ranks by (``score``), the same score
#: per split (``splits``, a row key) and per split and site (``sites``, a key of the ``kind`` record), how a split's
#: sites are aggregated into the score (``aggregate``), whether higher is better and a title.
RANKINGS = {'pls': {'score': 'pls_raw_r', 'splits': 'split_pls_r', 'kind': 'pls', 'sites': 'site_pls_r',
                    'aggregate': 'median', 'higher_is_better': True, 'title': 'PLS r'},
            'nrp': {'score': 'nrp_error', 'splits': 'split_nrp_mae', 'kind': 'nrp', 'sites': 'site_nrp_mae',
                    'aggregate': 'mean', 'higher_is_better': False, 'title': 'NRP-error'},
            'ridge': {'score': 'ridge_mae', 'splits': 'split_ridge_mae', 'kind': 'nrp', 'sites': 'site_ridge_mae',
                      'aggregate': 'mean', 'higher_is_better': False, 'title': 'ridge MAE'}}
#: The rank comparisons ``(a, b)`` of :func:`ranking`: the NRP against PLS, and ridge (a linear mapping scored by MAE,
#: as the NRP is) against PLS, which separates the mapping from the measure.
RANK_COMPARISONS = (('nrp', 'pls'), ('ridge', 'pls'))
#: Bootstrap resamples of the rank correlations' intervals and their seed.
RANK_RESAMPLES = 1000
RANK_RANDOM_STATE = 0
#: At most this many models are named as the largest movers (:func:`rank_movers`).
MAX_MOVERS = 5


def oriented(values, higher_is_better):
    """``values`` as floats, negated when lower is better, so that higher is better in every ranking.

    Parameters
    ----------
    values : array-like
    higher_is_better : bool

    Returns
    -------
    numpy.ndarray
    """
    values = np.asarray(values, dtype=float)
    return values if higher_is_better else -values


def rank_correlations(x, y):
    """Spearman's rho and Kendall's tau-b (scipy) between two scores of the same models.

    Parameters
    ----------
    x, y : array-like, shape (n_models,)
        Both oriented so that higher is better (:func:`oriented`): +1 is the same order.

    Returns
    -------
    rho, tau : float or None
        None with fewer than 3 models, a non-finite score, or a score equal for every model.
    """
    from scipy.stats import kendalltau, spearmanr
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if (x.size < 3 or x.shape != y.shape or not np.all(np.isfinite(x)) or not np.all(np.isfinite(y))
            or np.ptp(x) == 0 or np.ptp(y) == 0):
        return None, None
    return float(spearmanr(x, y).statistic), float(kendalltau(x, y).statistic)


def model_ranks(values, higher_is_better):
    """Each model's rank, 1 the best; tied models share the mean of their ranks (as Spearman's rho ranks).

    Parameters
    ----------
    values : array-like, shape (n_models,)
    higher_is_better : bool

    Returns
    -------
    numpy.ndarray of float
    """
    from scipy.stats import rankdata
    return rankdata(-oriented(values, higher_is_better), method='average')


def site_aggregate(values, aggregate):
    """Aggregate over the last axis (the sites): ``'median'`` (NaN skipped, as Brain-Score's median over sites) or
    ``'mean'``."""
    values = np.asarray(values, dtype=float)
    if aggregate == 'median':
        if not np.isnan(values).any():
            return np.median(values, axis=-1)
        with warnings.catch_warnings():  # a split whose every drawn site is NaN: NaN, as its score would be
            warnings.simplefilter('ignore', RuntimeWarning)
            return np.nanmedian(values, axis=-1)
    return values.mean(axis=-1)


def resampled_scores(values, aggregate, sites, splits):
    """Every model's score on one draw of sites and splits, computed the way the score is defined.

    Parameters
    ----------
    values : array-like, shape (n_models, k, n_sites)
        Per model, per split and site: PLS r or a mapping's MAE.
    aggregate : {'median', 'mean'}
        How a split's sites make its figure (:func:`site_aggregate`).
    sites, splits : array-like of int
        The drawn sites and splits, repetitions included.

    Returns
    -------
    numpy.ndarray, shape (n_models,)
        Per model, the mean over the drawn splits (each as often as drawn) of the aggregate over the drawn sites.
        All sites and splits once each give the score itself.
    """
    values = np.asarray(values, dtype=float)
    drawn, counts = np.unique(np.asarray(splits, dtype=int), return_counts=True)
    per_split = site_aggregate(values[:, drawn][:, :, np.asarray(sites, dtype=int)], aggregate)
    return per_split @ counts / counts.sum()


def bootstrap_scores(site_values, aggregates, resamples=RANK_RESAMPLES, random_state=RANK_RANDOM_STATE):
    """Every model's scores over bootstrap resamples of sites and splits drawn jointly.

    Parameters
    ----------
    site_values : dict of str -> array-like, shape (n_models, k, n_sites)
        Per ranking (e.g. ``'pls'``, ``'nrp'``), its models' per-split, per-site values; every array on the same
        k splits and n sites (the number of models may differ).
    aggregates : dict of str -> {'median', 'mean'}
        Per ranking, how a split's sites are aggregated.
    resamples : int
    random_state : int
        Seed of ``numpy.random.default_rng``. Each resample draws ``n_sites`` sites, then ``k`` splits, uniformly
        with replacement, and uses them for every ranking and model.

    Returns
    -------
    dict of str -> numpy.ndarray, shape (resamples, n_models)
    """
    site_values = {name: np.asarray(values, dtype=float) for name, values in site_values.items()}
    shapes = {values.shape[1:] for values in site_values.values()}
    if len(shapes) != 1:
        raise ValueError(f'per-site values on different splits or sites: {sorted(shapes)}')
    k, n_sites = shapes.pop()
    rng = np.random.default_rng(random_state)
    out = {name: np.empty((resamples, values.shape[0])) for name, values in site_values.items()}
    for index in range(resamples):
        sites = rng.integers(0, n_sites, size=n_sites)
        splits = rng.integers(0, k, size=k)
        for name, values in site_values.items():
            out[name][index] = resampled_scores(values, aggregates[name], sites, splits)
    return out


def percentile_interval(values, alpha=0.05):
    """The ``alpha/2`` and ``1 - alpha/2`` quantiles of the finite ``values`` (None when there are none)."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return [float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))]


def rank_movers(ranks, limit=MAX_MOVERS):
    """The models whose rank changes most between PLS and the NRP.

    Parameters
    ----------
    ranks : list of dict
        ``ranking()``'s ``ranks`` of one family and region (``model``, ``pls_rank``, ``rank_change``).
    limit : int

    Returns
    -------
    list of str
        At most ``limit`` models with a non-zero rank change, the largest absolute change first (a tie: the better
        PLS rank first).
    """
    moved = [r for r in ranks if r['rank_change']]
    moved.sort(key=lambda r: (-abs(r['rank_change']), r['pls_rank']))
    return [r['model'] for r in moved[:limit]]


def discordant_pairs(rows, alpha=0.05):
    """The pairs of models that PLS r and the NRP-error order differently, each tested under both measures.

    Parameters
    ----------
    rows : list of dict
        Rows of one family and region (:func:`nrp_plugin.app.tables.build_rows`): ``pls_raw_r``, ``nrp_error``,
        ``split_pls_r``, ``split_nrp_mae``, ``train_size``.
    alpha : float
        The level the Holm-corrected p-values are held to.

    Returns
    -------
    list of dict
        Per discordant pair: ``model_a`` (the higher PLS r), ``model_b`` (the lower NRP-error), their scores
        (``pls_r_a``, ``pls_r_b``, ``nrp_error_a``, ``nrp_error_b``); for each measure ``pls`` (PLS r, A − B per
        split) and ``nrp`` (NRP-error, A − B per split) the corrected resampled t (:func:`paired_difference`) as
        ``<measure>_{difference, ci_low, ci_high, t, p}``, and ``<measure>_p_holm``, Holm-corrected (:func:`holm`)
        over the 2m p-values of the m pairs; ``n_splits``; ``swaps``: True when both Holm-corrected p-values are
        below ``alpha`` and A is better by PLS r and B by the NRP-error, False when not, None when a measure has
        no test (no per-split values, or differences that do not vary).
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
            n_splits = None
            for measure, key in (('pls', 'split_pls_r'), ('nrp', 'split_nrp_mae')):
                test = paired_difference(a.get(key) or [], b.get(key) or [], a.get('train_size')) or {}
                pair.update({f'{measure}_difference': test.get('mean'), f'{measure}_ci_low': test.get('ci_low'),
                             f'{measure}_ci_high': test.get('ci_high'), f'{measure}_t': test.get('t'),
                             f'{measure}_p': test.get('p')})
                n_splits = n_splits if n_splits is not None else test.get('n_splits')
            pair['n_splits'] = n_splits
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


def _site_array(record, ranking_name):
    """A record's per-split, per-site values of one ranking as a (k, n_sites) array, and its sites' ids; None when
    the record has none."""
    values = (record or {}).get(RANKINGS[ranking_name]['sites'])
    if not values:
        return None, None
    try:
        array = np.asarray(values, dtype=float)  # None (a NaN kept in JSON) reads as NaN
    except (TypeError, ValueError):
        return None, None
    if array.ndim != 2 or array.size == 0:
        return None, None
    ids = record.get('site_neuroid_id')
    return array, (tuple(ids) if ids else None)


def _group_site_values(rows, records, family, region):
    """Per ranking, ``{model: (k, n_sites) array}`` of the models whose per-site values can be resampled together:
    on the most common (k, n_sites) and, where the records name their sites, the same sites in the same order.
    Also the models whose values are missing and those whose values are on other splits or sites."""
    found = {}
    for name, spec in RANKINGS.items():
        for row in rows:
            if row.get(spec['score']) is not None:
                found[(name, row['model'])] = _site_array(records.get((family, row['model'], region, spec['kind'])),
                                                          name)
    present = {key: value for key, value in found.items() if value[0] is not None}
    shapes = [array.shape for array, _ in present.values()]
    ids = [site_ids for _, site_ids in present.values() if site_ids is not None]
    shape = max(set(shapes), key=shapes.count) if shapes else None
    site_ids = max(set(ids), key=ids.count) if ids else None
    usable, missing, mismatched = {}, set(), set()
    for (name, model), (array, ids_) in found.items():
        if array is None:
            missing.add((name, model))
        elif array.shape != shape or (ids_ is not None and site_ids is not None and ids_ != site_ids):
            mismatched.add((name, model))
        else:
            usable.setdefault(name, {})[model] = array
    return usable, missing, mismatched, shape


def _bootstrap_note(models, names, missing, mismatched):
    """Why a comparison has no bootstrap interval ('' when it has one)."""
    lacking = [m for m in models if any((name, m) in missing for name in names)]
    other = [m for m in models if m not in lacking and any((name, m) in mismatched for name in names)]
    notes = []
    if lacking:
        notes.append(f"no per-site values for {len(lacking)} of {len(models)} models (e.g. {lacking[0]}; records "
                     f"from before they were kept)")
    if other:
        notes.append(f"per-site values on other splits or sites for {len(other)} of {len(models)} models "
                     f"(e.g. {other[0]})")
    return '; '.join(notes)


def ranking(rows, records=(), resamples=RANK_RESAMPLES, random_state=RANK_RANDOM_STATE, alpha=0.05, min_models=3):
    """Does the NRP rank models differently from PLS? Per family and region, over the models scored.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows` (the point estimates and per-split values).
    records : sequence of dict
        The score records the rows were built from (:func:`nrp_plugin.app.compare.summarize`), for their per-split,
        per-site values (``site_pls_r``, ``site_nrp_mae``, ``site_ridge_mae``, ``site_neuroid_id``); without them
        there are no bootstrap intervals.
    resamples : int
        Bootstrap resamples (0: no intervals).
    random_state : int
        The bootstrap's seed (:func:`bootstrap_scores`); every family and region draws from it anew.
    alpha : float
        1 - the intervals' level, and the level of the swap test.
    min_models : int
        The fewest models a correlation is computed for.

    Returns
    -------
    dict
        ``method`` (:data:`RANKING_METHOD`), ``swap_method`` (:data:`SWAP_METHOD`), ``resamples``,
        ``random_state``, ``alpha`` and ``regions``: per family and region, ``family``, ``region``, ``ranks`` (per
        model with PLS r and NRP-error: ``model``, ``pls_r``, ``nrp_error``, ``pls_rank``, ``nrp_rank`` (1 = best,
        ties the mean rank), ``rank_change`` = PLS rank − NRP rank, positive when the NRP ranks it better),
        ``movers`` (:func:`rank_movers`), ``correlations`` (per comparison of :data:`RANK_COMPARISONS`:
        ``comparison`` (``'nrp_vs_pls'``, ``'ridge_vs_pls'``), ``title``, ``n_models``, ``models``, ``spearman``,
        ``kendall``, ``spearman_ci``, ``kendall_ci`` ([low, high] or None), ``bootstrap`` (``resamples``,
        ``valid``, ``splits``, ``sites``; None when not run) and ``note`` (why there is no interval, or None)),
        ``discordant_pairs`` (:func:`discordant_pairs`), ``n_pairs``, ``n_discordant`` and ``n_swaps``.
    """
    by_record = {(r.get('family'), r.get('model'), r.get('region'), r.get('kind')): r for r in records}
    groups = []
    for family, region in ordered_unique((r['family'], r['region']) for r in rows):
        sub = [r for r in rows if r['family'] == family and r['region'] == region]
        usable, missing, mismatched, shape = _group_site_values(sub, by_record, family, region)
        draws = {}
        if resamples and usable:
            models = {name: list(values) for name, values in usable.items()}
            draws = bootstrap_scores({name: np.stack([usable[name][m] for m in ms]) for name, ms in models.items()},
                                     {name: RANKINGS[name]['aggregate'] for name in models}, resamples, random_state)
            draws = {name: (models[name], values) for name, values in draws.items()}
        correlations = []
        for a, b in RANK_COMPARISONS:
            spec_a, spec_b = RANKINGS[a], RANKINGS[b]
            both = [r for r in sub if r.get(spec_a['score']) is not None and r.get(spec_b['score']) is not None]
            models = [r['model'] for r in both]
            if not both:
                continue
            rho, tau = (rank_correlations(oriented([r[spec_a['score']] for r in both], spec_a['higher_is_better']),
                                          oriented([r[spec_b['score']] for r in both], spec_b['higher_is_better']))
                        if len(both) >= min_models else (None, None))
            entry = {'comparison': f'{a}_vs_{b}', 'title': f"{spec_a['title']} vs {spec_b['title']}",
                     'n_models': len(both), 'models': models, 'spearman': rho, 'kendall': tau,
                     'spearman_ci': None, 'kendall_ci': None, 'bootstrap': None, 'note': None}
            if rho is None:
                entry['note'] = (f'fewer than {min_models} models' if len(both) < min_models
                                 else 'a score equal for every model')
            elif not resamples:
                entry['note'] = 'bootstrap not run'
            else:
                note = _bootstrap_note(models, (a, b), missing, mismatched)
                if note:
                    entry['note'] = note
                else:
                    columns = {name: [draws[name][0].index(m) for m in models] for name in (a, b)}
                    pairs = [rank_correlations(oriented(draws[a][1][i, columns[a]], spec_a['higher_is_better']),
                                               oriented(draws[b][1][i, columns[b]], spec_b['higher_is_better']))
                             for i in range(resamples)]
                    valid = [pair for pair in pairs if pair[0] is not None]
                    entry.update(spearman_ci=percentile_interval([p[0] for p in valid], alpha),
                                 kendall_ci=percentile_interval([p[1] for p in valid], alpha),
                                 bootstrap={'resamples': int(resamples), 'valid': len(valid), 'splits': int(shape[0]),
                                            'sites': int(shape[1])})
                    if not valid:
                        entry['note'] = 'every resample left every model tied'
            correlations.append(entry)
        scored = [r for r in sub if r.get('pls_raw_r') is not None and r.get('nrp_error') is not None]
        ranks = []
        if scored:
            pls_ranks = model_ranks([r['pls_raw_r'] for r in scored], True)
            nrp_ranks = model_ranks([r['nrp_error'] for r in scored], False)
            ranks = [{'model': r['model'], 'pls_r': r['pls_raw_r'], 'nrp_error': r['nrp_error'],
                      'pls_rank': float(p), 'nrp_rank': float(n), 'rank_change': float(p - n)}
                     for r, p, n in zip(scored, pls_ranks, nrp_ranks)]
        pairs = discordant_pairs(sub, alpha)
        groups.append({'family': family, 'region': region, 'ranks': ranks, 'movers': rank_movers(ranks),
                       'correlations': correlations, 'discordant_pairs': pairs,
                       'n_pairs': len(scored) * (len(scored) - 1) // 2, 'n_discordant': len(pairs),
                       'n_swaps': sum(1 for pair in pairs if pair['swaps'])})
    return {'method': RANKING_METHOD, 'swap_method': SWAP_METHOD, 'resamples': int(resamples),
            'random_state': int(random_state), 'alpha': alpha, 'regions': groups}
