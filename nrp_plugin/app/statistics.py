"""The statistics of a comparison's tables: pure numpy and scipy, no plotting and no files.

Every interval is the corrected resampled t of Nadeau & Bengio (2003) over the cross-validation splits
(:func:`resampled_t`): a single mapping's per-split figure (:func:`split_interval`), a paired difference
between two mappings or two models on the same splits (:func:`paired_difference`), and the across-model
Spearman correlation with what it can and cannot say (:func:`spearman_inference`). The NRP is also held to
the best linear mapping of each model and region (:func:`best_linear`), and the p-values of one mapping contrast
are Holm-corrected across models and regions (:func:`holm`). Whether the NRP ranks models differently from PLS is
:func:`ranking`: rank correlations with a bootstrap over sites and splits, and the pairs of models whose order
changes, each tested under both measures (:func:`discordant_pairs`). The formulas and references are in
docs/compare.md.
"""
import math
import warnings

import numpy as np

#: The mappings of the mapping x measure table, linear ones first: Brain-Score's PLS, ridge, banded ridge, least
#: squares on the NRP inputs, RBF kernel ridge, the NRP.
MAPPINGS = ('pls', 'ridge', 'banded_ridge', 'linear', 'kernel_ridge', 'nrp')
#: The linear mappings "best linear" is chosen from (:func:`best_linear`), in the order that breaks a tie.
LINEAR_MAPPINGS = ('pls', 'ridge', 'banded_ridge', 'linear')
#: The figures :func:`mapping_figures` gives per mapping (besides its per-split MAEs).
MEASURES = ('mae', 'mae_error', 'mae_ci95', 'r', 'score_mae', 'score_r')
#: The mapping contrasts, ``(a, b)`` for ``a - b``, tested in MAE on the same splits; ``best_linear`` is the
#: row's :func:`best_linear` mapping.
CONTRASTS = (('nrp', 'linear'), ('nrp', 'pls'), ('nrp', 'ridge'), ('nrp', 'banded_ridge'), ('nrp', 'kernel_ridge'),
             ('nrp', 'best_linear'), ('ridge', 'linear'), ('banded_ridge', 'pls'))
DEFAULT_TRAIN_SIZE = 0.9
#: How "best linear" is chosen, in words (``stats.md`` and docs/compare.md).
BEST_LINEAR_METHOD = ('Best linear: per family, model and region, of PLS (when its per-split MAE is reported), '
                      'ridge, banded ridge and LSQ (NRP inputs), the mapping with the lowest mean MAE over the '
                      'splits (ties: in that order), among those reported on as many splits as the NRP; '
                      'NRP − best linear is then the paired per-split difference against that one mapping (not the '
                      'per-split minimum over the mappings). The p-value and interval do not account for the '
                      'choice, which favours the linear side.')
#: How the p-values of one contrast are corrected across models and regions (``stats.md``).
HOLM_METHOD = ('Holm p: Holm\'s (1979) step-down correction of the p-values of one mapping contrast across the '
               'models and regions of one family of benchmarks: the m p-values (tests without one, e.g. a zero '
               'variance, are left out) are sorted, the i-th smallest (i = 1..m) multiplied by m − i + 1, made '
               'non-decreasing by a running maximum and capped at 1. It controls the family-wise error rate of '
               'that contrast; nothing is corrected across contrasts or in the model contrasts, and the 95% '
               'intervals are not adjusted.')
#: How every interval is computed, in words (``stats.md``'s method section).
METHOD = ('Every interval is from the corrected resampled t of Nadeau & Bengio (2003) over the k '
          'cross-validation splits, which overlap (the same Brain-Score splits for every mapping and model). '
          'A single mapping\'s score (e.g. NRP-error, PLS r): 95% CI = mean ± t_{k-1, 0.975} · sqrt((1/k + '
          'n_test/n_train) s²), s² the variance of its per-split values. A difference between two mappings or '
          'two models is paired per split and tested the same way on the per-split differences d: t = mean(d) / '
          'sqrt((1/k + n_test/n_train) s²), k - 1 degrees of freedom; 95% CI = mean(d) ± t_{k-1, 0.975} · SE. '
          'See docs/compare.md.')


def ordered_unique(values):
    """The distinct ``values`` in the order they first appear.

    Parameters
    ----------
    values : iterable
        Any values comparable with ``==`` (hashable or not).

    Returns
    -------
    list
    """
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def resampled_t(differences, test_train_ratio, alpha=0.05, corrected=True):
    """Paired t over repeated random train/test splits, with Nadeau & Bengio's (2003) correction.

    Parameters
    ----------
    differences : array-like, shape (k,)
        Per-split difference of two mappings' (or models') test errors, on the same splits.
    test_train_ratio : float
        n_test / n_train of each split (1/9 for Brain-Score's 90/10 splits).
    alpha : float
        1 - the confidence level of the interval.
    corrected : bool
        True: variance ``(1/k + n_test/n_train) * s^2`` (the corrected resampled t); False: the naive
        ``s^2 / k``, which ignores that the splits' training and test sets overlap and so is too small.

    Returns
    -------
    dict
        ``mean``, ``se``, ``t``, ``df`` (k - 1), ``p`` (two-sided), ``ci_low``, ``ci_high``, ``n_splits``;
        the numbers are None with fewer than 2 splits. A zero variance gives ``se`` 0 and ``t``/``p`` None.
    """
    from scipy import stats as scipy_stats
    d = np.asarray(differences, dtype=float)
    k = d.size
    out = {'mean': float(d.mean()) if k else None, 'se': None, 't': None, 'df': k - 1 if k else None, 'p': None,
           'ci_low': None, 'ci_high': None, 'n_splits': int(k)}
    if k < 2 or not np.all(np.isfinite(d)):
        return out
    factor = (1.0 / k + float(test_train_ratio)) if corrected else 1.0 / k
    se = math.sqrt(factor * d.var(ddof=1))
    half = float(scipy_stats.t.ppf(1 - alpha / 2, k - 1)) * se
    out.update(se=se, ci_low=out['mean'] - half, ci_high=out['mean'] + half)
    if se > 0:
        t = out['mean'] / se
        out.update(t=float(t), p=float(2 * scipy_stats.t.sf(abs(t), k - 1)))
    return out


def split_ratio(train_size):
    """n_test / n_train for a training fraction ``train_size`` (Brain-Score's 0.9 when None)."""
    train_size = DEFAULT_TRAIN_SIZE if train_size is None else float(train_size)
    return (1.0 - train_size) / train_size


def paired_difference(a_splits, b_splits, train_size=None, alpha=0.05):
    """Per-split ``a - b`` on the same splits with the corrected resampled t; None when they do not pair."""
    a, b = np.asarray(a_splits, dtype=float), np.asarray(b_splits, dtype=float)
    if a.size == 0 or a.shape != b.shape:
        return None
    return resampled_t(a - b, split_ratio(train_size), alpha)


def split_interval(values, train_size=None, alpha=0.05):
    """Mean of one mapping's per-split figure with its corrected resampled t interval.

    The per-split values (e.g. the NRP-error of each split, or PLS r) come from overlapping random
    splits, so the naive SEM ``s / sqrt(k)`` is too small. The interval uses Nadeau & Bengio's (2003)
    variance ``(1/k + n_test/n_train) s^2`` with ``k - 1`` degrees of freedom, as for differences
    (:func:`resampled_t`).

    Parameters
    ----------
    values : array-like, shape (k,)
        One figure per split.
    train_size : float, optional
        Training fraction of each split (Brain-Score's 0.9 when None).
    alpha : float
        1 - the confidence level.

    Returns
    -------
    dict or None
        ``mean``, ``se``, ``half_width`` (``t_{k-1, 1-alpha/2} * se``), ``ci_low``, ``ci_high``, ``df``,
        ``n_splits``; the interval entries are None with fewer than 2 splits or a non-finite value.
        None when there are no values.
    """
    values = np.asarray(values if values is not None else [], dtype=float).ravel()
    if values.size == 0:
        return None
    test = resampled_t(values, split_ratio(train_size), alpha)
    half = None if test['ci_high'] is None else test['ci_high'] - test['mean']
    return {'mean': test['mean'], 'se': test['se'], 'half_width': half, 'ci_low': test['ci_low'],
            'ci_high': test['ci_high'], 'df': test['df'], 'n_splits': test['n_splits']}


def split_half_width(values, train_size=None, alpha=0.05):
    """The corrected half-width (95% by default) of :func:`split_interval`; None when it cannot be computed."""
    interval = split_interval(values, train_size, alpha)
    return None if interval is None else interval['half_width']


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
    """The 2 x 2 for one (model, region): per mapping its MAE, r and both ceiled scores.

    Parameters
    ----------
    pls, nrp : dict
        The ``-pls`` and ``-nrp`` records (:func:`nrp_plugin.app.compare.summarize`); {} when missing.
    train_size : float, optional
        Training fraction of the splits (Brain-Score's 0.9 when None), for the corrected intervals.

    Returns
    -------
    figures : dict
        ``{mapping: {'mae', 'mae_error', 'mae_ci95', 'r', 'score_mae', 'score_r', 'split_mae'}}``:
        ``mae_error`` is the naive SEM the metric reports, ``mae_ci95`` the corrected 95% half-width
        (:func:`split_interval`) over ``split_mae``. A mapping the run did not report (e.g. no ridge) has
        None everywhere and an empty ``split_mae`` (a record from before a mapping was reported has no key for
        it and reads the same). Keys in the order of :data:`MAPPINGS`.
    """
    raw = {'pls': (pls.get('pls_mae'), pls.get('pls_mae_error'), pls.get('raw_r'), pls.get('split_pls_mae')),
           **{mapping: (nrp.get(f'{mapping}_mae'), nrp.get(f'{mapping}_mae_error'), nrp.get(f'{mapping}_pearson'),
                        nrp.get(f'split_{mapping}_mae')) for mapping in ('ridge', 'banded_ridge', 'linear', 'kernel_ridge')},
           'nrp': (nrp.get('nrp_error'), nrp.get('nrp_error_sem'), nrp.get('pearson'), nrp.get('split_nrp_error'))}
    floor, mae_mean, ceiling = nrp.get('ceiling'), nrp.get('mean_predictor_mae'), pls.get('ceiling')
    raw = {mapping: raw[mapping] for mapping in MAPPINGS}
    return {mapping: {'mae': mae, 'mae_error': error, 'mae_ci95': split_half_width(splits, train_size),
                      'r': r, 'score_mae': ceiled_mae(mae, mae_mean, floor),
                      'score_r': ceiled_r(r, ceiling), 'split_mae': list(splits or [])}
            for mapping, (mae, error, r, splits) in raw.items()}


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
                measures = [(f'{m}_mae', a[f'split_{m}_mae'], b[f'split_{m}_mae']) for m in MAPPINGS]
                measures.append(('pls_r', a['split_pls_r'], b['split_pls_r']))
                for measure, sa, sb in measures:
                    test = paired_difference(sa, sb, a['train_size'])
                    if test is not None:
                        out.append({'family': family, 'region': region, 'model_a': a['model'],
                                    'model_b': b['model'], 'measure': measure, **test})
    return out


def best_linear(split_maes, reference='nrp'):
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
        Of :data:`LINEAR_MAPPINGS` with per-split MAEs, all finite, on as many splits as ``reference``, the one
        whose mean over the splits is lowest (a tie goes to the first in :data:`LINEAR_MAPPINGS`); None when the
        reference has no per-split MAEs or no candidate qualifies. The choice is made once per (family, model,
        region) from the means, not split by split.
    """
    n_splits = len(split_maes.get(reference) or [])
    best, best_mean = None, None
    for mapping in LINEAR_MAPPINGS:
        values = np.asarray(split_maes.get(mapping) or [], dtype=float)
        if n_splits == 0 or values.size != n_splits or not np.all(np.isfinite(values)):
            continue
        mean = float(values.mean())
        if best is None or mean < best_mean:
            best, best_mean = mapping, mean
    return best


def holm(p_values):
    """Holm's (1979) step-down adjusted p-values, in the order given.

    Parameters
    ----------
    p_values : sequence of float or None
        One family of tests; None (or NaN) is a test without a p-value and is left out of the count.

    Returns
    -------
    list of float or None
        With ``m`` the number of p-values, the i-th smallest (i = 1..m) times ``m - i + 1``, made non-decreasing
        in that order by a running maximum and capped at 1; None where the input is None or NaN.
    """
    present = sorted((float(p), index) for index, p in enumerate(p_values)
                     if p is not None and np.isfinite(p))
    m = len(present)
    adjusted = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def holm_within(entries, group, p_key='p', out_key='p_holm'):
    """Set ``entry[out_key]`` to the Holm-adjusted ``entry[p_key]`` (:func:`holm`) within each ``group(entry)``.

    Parameters
    ----------
    entries : list of dict
        Changed in place.
    group : callable
        The family of tests an entry belongs to (a hashable value).
    p_key, out_key : str
        The key of the unadjusted p-value (None: no test) and the key to write.
    """
    for key in ordered_unique(group(entry) for entry in entries):
        members = [entry for entry in entries if group(entry) == key]
        for entry, adjusted in zip(members, holm([entry.get(p_key) for entry in members])):
            entry[out_key] = adjusted


def mapping_differences(rows):
    """Per model and region, the mapping contrasts (:data:`CONTRASTS`) in MAE on the same splits.

    Each entry has the corrected resampled t (:func:`paired_difference`) and ``p_holm``, its p-value
    Holm-corrected across the models and regions of its family and contrast (:func:`holm`); an
    ``nrp - best_linear`` entry also names the mapping (``best_linear``, :func:`best_linear`).
    """
    out = []
    for r in rows:
        chosen = r.get('best_linear')
        if 'best_linear' not in r:  # rows not made by tables.build_rows
            chosen = best_linear({m: r.get(f'split_{m}_mae') for m in MAPPINGS})
        splits = dict(r, split_best_linear_mae=r.get(f'split_{chosen}_mae') if chosen else [])
        for a, b in CONTRASTS:
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
        (:func:`spearman`), ``paired_nrp_minus_linear_mae``, ``mapping_differences`` (:func:`mapping_differences`,
        with Holm-corrected ``p_holm``) and ``model_differences`` (:func:`model_differences`).
    """
    paired = [{'family': r['family'], 'model': r['model'], 'region': r['region'],
               'nrp_minus_linear_mae': r['nrp_minus_linear_mae'], 'ci_low': r['nrp_minus_linear_ci_low'],
               'ci_high': r['nrp_minus_linear_ci_high'], 't': r['nrp_minus_linear_t'],
               'p': r['nrp_minus_linear_p']} for r in rows]
    return {'method': METHOD, 'best_linear_method': BEST_LINEAR_METHOD, 'holm_method': HOLM_METHOD,
            'spearman_nrp_vs_pls_score': spearman(rows),
            'paired_nrp_minus_linear_mae': paired, 'mapping_differences': mapping_differences(rows),
            'model_differences': model_differences(rows)}


# ----------------------------------------------------------------------------------------------
# does the NRP rank models differently from PLS?

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
#: How the rank correlations and their intervals are computed, in words (``stats.md``).
RANKING_METHOD = ("Rank correlations across the models of one family and region: Spearman's rho and Kendall's "
                  "tau-b (scipy.stats.spearmanr, kendalltau) between the ranking by PLS r (median over sites, mean "
                  "over splits; higher is better) and the ranking by the NRP-error (the MAE of the NRP's test "
                  "predictions, mean over sites, then over splits; lower is better), oriented so that +1 is the "
                  "same order and −1 the reversed one; likewise ridge MAE against PLS r (ridge is a linear mapping "
                  "scored by MAE, as the NRP is, so it separates the mapping from the measure). Needs 3 models or "
                  "more with both scores. 95% CI: percentile interval over B = 1000 seeded bootstrap resamples; "
                  "each resample draws the recording sites (n of n, with replacement) and the cross-validation "
                  "splits (k of k, with replacement) once, for every model and every score alike, recomputes each "
                  "model's scores on the drawn sites and splits as they are defined (PLS r: per drawn split the "
                  "median over the drawn sites, then the mean over the drawn splits; MAE: the mean over the drawn "
                  "sites, then over the drawn splits), and the correlation from them; a resample whose correlation "
                  "is undefined (every model tied) is left out. It says how much the rank agreement of these models "
                  "depends on the sites and splits they were scored on, not how other models would rank. Records "
                  "without per-site values (made before they were kept) give no interval.")
#: How the pairs of models whose order changes are tested, in words (``stats.md``).
SWAP_METHOD = ("Discordant pairs: every pair of models that PLS r and the NRP-error order differently (A: the "
               "model with the higher PLS r; B: the one with the lower NRP-error; a tie under either measure is "
               "no discordance). For each pair, the per-split differences A − B in PLS r (median over sites) and in "
               "NRP-error (mean over sites) are each tested with the corrected resampled t of Nadeau & Bengio "
               "(2003) (two-sided, k − 1 degrees of freedom, as in Method). The 2m p-values of the m discordant "
               "pairs of one family and region are Holm-corrected together (Holm 1979). A pair swaps "
               "significantly when both Holm-corrected p-values are below 0.05 and the two differences point in "
               "opposite directions (A better by PLS r, B better by the NRP-error); a false swap needs a falsely "
               "rejected test, so the chance of naming any false swap in a family and region is at most 0.05. "
               "The family is the discordant pairs, chosen on the same data: correcting over every pair would be "
               "more conservative. Not tested: a measure has no per-split values for the pair, or its per-split "
               "differences do not vary.")


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
