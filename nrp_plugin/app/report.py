"""Tables, statistics and plots of a comparison run (:func:`nrp_plugin.app.compare.run_compare`).

Every statistic is documented, with its formula and reference, in docs/compare.md: the mapping x
measure table (PLS, ridge, least squares on the NRP inputs and the NRP under MAE, Pearson r and both
ceiled scores), the corrected resampled t of Nadeau & Bengio (2003) for every interval (a single
mapping's score and every paired difference), and Spearman's rho across models with what it can and
cannot say.

Every file is written atomically (:func:`nrp_plugin.storage.cache.atomic_path`): after a failure or an
interrupt a table is either the previous complete one or absent, never half written.
"""
import csv
import io
import json
import math
import re
import textwrap

import numpy as np

from ..storage.cache import atomic_path, atomic_write_text

MAPPINGS = ('pls', 'ridge', 'linear', 'nrp')
#: Short titles for headers and legends; :data:`MAPPING_LEGEND` says what each one is. The data keys keep
#: the mapping names (``linear_mae`` etc.): ``linear`` is least squares on the NRP's prepared inputs.
MAPPING_TITLES = {'pls': 'PLS', 'ridge': 'ridge', 'linear': 'LSQ (NRP inputs)', 'nrp': 'NRP'}
MAPPING_LEGEND = ("PLS: Brain-Score's PLS regression (25 components); ridge: ridge on every non-zero principal "
                  "component of every layer (each layer scaled to unit total variance), each site's penalty by "
                  "leave-one-out; LSQ (NRP inputs): least squares with an intercept on the NRP's prepared inputs "
                  "(per-layer principal components chosen on each split's training stimuli), not on the layers' "
                  "activations as the paper's linear baseline was; NRP-error: MAE of the NRP's test predictions.")
INTERVAL_LEGEND = ("±95%: half-width of the 95% interval of the corrected resampled t (Nadeau & Bengio 2003) over "
                   "the k splits, t_{k−1, 0.975} · sqrt((1/k + n_test/n_train) · s²), s² the variance of the "
                   "per-split values; naive SEM (splits overlap; understates): std over splits / sqrt(k), which "
                   "treats the overlapping splits as independent.")
#: Plot captions: what the error bars are.
ERROR_BAR_CAPTION = ('Error bars: 95% interval of the corrected resampled t (Nadeau & Bengio 2003) over the '
                     'cross-validation splits, not the naive SEM (the splits overlap).')
MEASURES = ('mae', 'mae_error', 'mae_ci95', 'r', 'score_mae', 'score_r')
# (measure, title, lower is better)
MEASURE_TITLES = (('mae', 'MAE'), ('r', 'r'), ('score_mae', 'ceiled MAE'), ('score_r', 'ceiled r²'))
CONTRASTS = (('nrp', 'linear'), ('nrp', 'pls'), ('nrp', 'ridge'), ('ridge', 'linear'))
_BASE_COLUMNS = ('family', 'model', 'region', 'pls_raw_r', 'pls_raw_r_error', 'pls_raw_r_ci95', 'pls_score',
                 'pls_score_error', 'pls_score_ci95', 'nrp_error', 'nrp_error_sem', 'nrp_error_ci95', 'nrp_score',
                 'nrp_score_error', 'nrp_score_ci95', 'nrp_pearson', 'linear_mae', 'linear_mae_error',
                 'linear_mae_ci95', 'linear_r2', 'linear_r2_error', 'ridge_r2', 'ridge_r2_error',
                 'mean_predictor_mae', 'noise_floor', 'internal_consistency')
#: CSV columns. ``*_error`` and ``nrp_error_sem`` are the naive SEMs the benchmarks report (std over splits
#: / sqrt(k), which understates: the splits overlap); ``*_ci95`` are the corrected 95% half-widths.
COLUMNS = (_BASE_COLUMNS
           + tuple(f'{m}_{measure}' for m in MAPPINGS for measure in MEASURES
                   if f'{m}_{measure}' not in _BASE_COLUMNS)
           + tuple(f'{a}_minus_{b}_{field}' for a, b in CONTRASTS for field in ('mae', 'ci_low', 'ci_high', 'p'))
           + ('mean_nrp_error_v4_it', 'sparsity'))
NAIVE_SEM_TITLE = 'naive SEM (splits overlap; understates)'
# (key, header, digits)
MD_COLUMNS = (('model', 'model', 3), ('region', 'region', 3), ('pls_raw_r', 'PLS r', 3), ('pls_raw_r_ci95', '±95%', 4),
              ('pls_score', 'PLS score', 3), ('nrp_error', 'NRP-error', 3), ('nrp_error_ci95', '±95%', 4),
              ('nrp_error_sem', NAIVE_SEM_TITLE, 4), ('nrp_score', 'NRP score', 3), ('nrp_pearson', 'NRP r', 3),
              ('linear_mae', 'LSQ (NRP inputs) MAE', 3), ('linear_r2', 'LSQ (NRP inputs) R²', 3),
              ('nrp_minus_linear_mae', 'NRP − LSQ (NRP inputs) MAE', 3), ('nrp_minus_linear_ci', '95% CI', 4),
              ('mean_nrp_error_v4_it', 'mean NRP-error V4+IT', 3))
DEFAULT_TRAIN_SIZE = 0.9


# ----------------------------------------------------------------------------------------------
# statistics

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


def _ordered(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _ceiled_mae(mae, mae_mean, floor):
    """(MAE_mean - MAE) / (MAE_mean - floor), unclipped: 0 = the training mean, 1 = the noise floor."""
    if None in (mae, mae_mean, floor) or mae_mean == floor:
        return None
    return (mae_mean - mae) / (mae_mean - floor)


def _ceiled_r(r, ceiling):
    """r^2 / internal-consistency ceiling, as Brain-Score's ``explained_variance`` ceils ``-pls`` scores."""
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
        None everywhere and an empty ``split_mae``.
    """
    raw = {'pls': (pls.get('pls_mae'), pls.get('pls_mae_error'), pls.get('raw_r'), pls.get('split_pls_mae')),
           'ridge': (nrp.get('ridge_mae'), nrp.get('ridge_mae_error'), nrp.get('ridge_pearson'),
                     nrp.get('split_ridge_mae')),
           'linear': (nrp.get('linear_mae'), nrp.get('linear_mae_error'), nrp.get('linear_pearson'),
                      nrp.get('split_linear_mae')),
           'nrp': (nrp.get('nrp_error'), nrp.get('nrp_error_sem'), nrp.get('pearson'), nrp.get('split_nrp_error'))}
    floor, mae_mean, ceiling = nrp.get('ceiling'), nrp.get('mean_predictor_mae'), pls.get('ceiling')
    return {mapping: {'mae': mae, 'mae_error': error, 'mae_ci95': split_half_width(splits, train_size),
                      'r': r, 'score_mae': _ceiled_mae(mae, mae_mean, floor),
                      'score_r': _ceiled_r(r, ceiling), 'split_mae': list(splits or [])}
            for mapping, (mae, error, r, splits) in raw.items()}


def _ceiled_r_half_width(r, r_half, ceiling):
    """Half-width of r^2 / ceiling from that of r by the delta method (2 |r| / ceiling)."""
    if None in (r, r_half) or not ceiling:
        return None
    return 2 * abs(r) * r_half / ceiling


def _ceiled_mae_half_width(mae_half, mae_mean, floor):
    """Half-width of (MAE_mean - MAE) / (MAE_mean - floor) from that of the MAE (MAE_mean, floor held fixed)."""
    if None in (mae_half, mae_mean, floor) or mae_mean == floor:
        return None
    return mae_half / abs(mae_mean - floor)


def build_rows(records):
    """One row per (family, model, region): both benchmarks' scores, the 2 x 2 and the mapping contrasts.

    Parameters
    ----------
    records : list of dict
        Score records (:func:`nrp_plugin.app.compare.summarize` plus ``family``, ``model``, ``region``,
        ``kind``, ``train_size``).

    Returns
    -------
    rows : list of dict
        The keys of :data:`COLUMNS` and more. ``*_error`` and ``nrp_error_sem`` are the naive SEMs the
        benchmarks report; ``*_ci95`` are corrected 95% half-widths (:func:`split_interval`) over the
        per-split values: ``pls_raw_r_ci95`` over ``split_pls_r``, ``<mapping>_mae_ci95`` and
        ``nrp_error_ci95`` over ``split_<mapping>_mae``, ``pls_score_ci95`` from ``pls_raw_r_ci95`` by the
        delta method (``2 |r| / IC``), ``nrp_score_ci95`` = ``nrp_error_ci95 / (MAE_mean - floor)``. None
        where the per-split values are missing or fewer than 2.
    """
    by_key = {}
    for record in records:
        by_key[(record['family'], record['model'], record['region'], record['kind'])] = record
    keys = _ordered((r['family'], r['model'], r['region']) for r in records)
    rows = []
    for family, model, region in keys:
        pls = by_key.get((family, model, region, 'pls'), {})
        nrp = by_key.get((family, model, region, 'nrp'), {})
        sparsity = nrp.get('sparsity', pls.get('sparsity'))
        train_size = nrp.get('train_size', pls.get('train_size'))
        split_pls_r = list(pls.get('split_pls_r') or [])
        pls_r_half = split_half_width(split_pls_r, train_size)
        figures = mapping_figures(pls, nrp, train_size)
        nrp_half = figures['nrp']['mae_ci95']
        row = {'family': family, 'model': model, 'region': region,
               'pls_raw_r': pls.get('raw_r'), 'pls_raw_r_error': pls.get('raw_r_error'), 'pls_raw_r_ci95': pls_r_half,
               'pls_score': pls.get('score'), 'pls_score_error': pls.get('score_error'),
               'pls_score_ci95': _ceiled_r_half_width(pls.get('raw_r'), pls_r_half, pls.get('ceiling')),
               'nrp_error': nrp.get('nrp_error'), 'nrp_error_sem': nrp.get('nrp_error_sem'),
               'nrp_error_ci95': nrp_half,
               'nrp_score': nrp.get('score'), 'nrp_score_error': nrp.get('score_error'),
               'nrp_score_ci95': _ceiled_mae_half_width(nrp_half, nrp.get('mean_predictor_mae'), nrp.get('ceiling')),
               'nrp_pearson': nrp.get('pearson'), 'linear_mae': nrp.get('linear_mae'),
               'linear_mae_error': nrp.get('linear_mae_error'), 'linear_r2': nrp.get('linear_r2'),
               'linear_r2_error': nrp.get('linear_r2_error'), 'ridge_r2': nrp.get('ridge_r2'),
               'ridge_r2_error': nrp.get('ridge_r2_error'),
               'mean_predictor_mae': nrp.get('mean_predictor_mae'), 'noise_floor': nrp.get('ceiling'),
               'internal_consistency': pls.get('ceiling'), 'sparsity': sparsity,
               'train_size': train_size, 'split_pls_r': split_pls_r}
        for mapping, values in figures.items():
            for measure in MEASURES:
                row[f'{mapping}_{measure}'] = values[measure]
            row[f'split_{mapping}_mae'] = values['split_mae']
        for a, b in CONTRASTS:
            test = paired_difference(figures[a]['split_mae'], figures[b]['split_mae'], row['train_size'])
            test = test or {}
            row[f'{a}_minus_{b}_mae'] = test.get('mean')
            row[f'{a}_minus_{b}_ci_low'] = test.get('ci_low')
            row[f'{a}_minus_{b}_ci_high'] = test.get('ci_high')
            row[f'{a}_minus_{b}_p'] = test.get('p')
            row[f'{a}_minus_{b}_t'] = test.get('t')
        rows.append(row)
    means = model_summary(rows)
    for row in rows:
        row['mean_nrp_error_v4_it'] = means[(row['family'], row['model'])]['mean_nrp_error']
    return rows


def model_summary(rows):
    """``{(family, model): {'mean_nrp_error', 'regions', 'sparsity'}}``: the mean NRP-error over the regions
    (the quantity of the paper's Table 1 column, here for this package's NRP)."""
    summary = {}
    for row in rows:
        entry = summary.setdefault((row['family'], row['model']), {'errors': [], 'regions': [],
                                                                   'sparsity': row['sparsity']})
        if row['nrp_error'] is not None:
            entry['errors'].append(row['nrp_error'])
            entry['regions'].append(row['region'])
    for entry in summary.values():
        errors = entry.pop('errors')
        entry['mean_nrp_error'] = float(np.mean(errors)) if errors else None
    return summary


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
    for family, region in _ordered((r['family'], r['region']) for r in rows):
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
    for family, region in _ordered((r['family'], r['region']) for r in rows):
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


def mapping_differences(rows):
    """Per model and region, the mapping contrasts (:data:`CONTRASTS`) in MAE on the same splits."""
    out = []
    for r in rows:
        for a, b in CONTRASTS:
            test = paired_difference(r[f'split_{a}_mae'], r[f'split_{b}_mae'], r['train_size'])
            if test is not None:
                out.append({'family': r['family'], 'model': r['model'], 'region': r['region'],
                            'contrast': f'{a} - {b}', 'measure': 'mae', **test})
    return out


METHOD = ('Every interval is from the corrected resampled t of Nadeau & Bengio (2003) over the k '
          'cross-validation splits, which overlap (the same Brain-Score splits for every mapping and model). '
          'A single mapping\'s score (e.g. NRP-error, PLS r): 95% CI = mean ± t_{k-1, 0.975} · sqrt((1/k + '
          'n_test/n_train) s²), s² the variance of its per-split values. A difference between two mappings or '
          'two models is paired per split and tested the same way on the per-split differences d: t = mean(d) / '
          'sqrt((1/k + n_test/n_train) s²), k - 1 degrees of freedom; 95% CI = mean(d) ± t_{k-1, 0.975} · SE. '
          'See docs/compare.md.')


def _contrast_title(contrast):
    """``'nrp - linear'`` -> ``'NRP − LSQ (NRP inputs)'`` (the data keep the mapping names)."""
    a, b = contrast.split(' - ')
    return f'{MAPPING_TITLES.get(a, a)} − {MAPPING_TITLES.get(b, b)}'


def _measure_title(measure):
    """``'linear_mae'`` -> ``'LSQ (NRP inputs) MAE'``, ``'pls_r'`` -> ``'PLS r'``."""
    mapping, _, name = measure.rpartition('_')
    return f"{MAPPING_TITLES.get(mapping, mapping)} {'MAE' if name == 'mae' else name}"


def statistics(rows):
    """Spearman per family/region, mapping contrasts per model/region and model contrasts per region."""
    paired = [{'family': r['family'], 'model': r['model'], 'region': r['region'],
               'nrp_minus_linear_mae': r['nrp_minus_linear_mae'], 'ci_low': r['nrp_minus_linear_ci_low'],
               'ci_high': r['nrp_minus_linear_ci_high'], 't': r['nrp_minus_linear_t'],
               'p': r['nrp_minus_linear_p']} for r in rows]
    return {'method': METHOD, 'spearman_nrp_vs_pls_score': spearman(rows),
            'paired_nrp_minus_linear_mae': paired, 'mapping_differences': mapping_differences(rows),
            'model_differences': model_differences(rows)}


def _fmt(value, digits=3):
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def _ci(low, high, digits=4):
    if low is None or high is None:
        return '–'
    return f'[{low:.{digits}f}, {high:.{digits}f}]'


def markdown_table(rows):
    """The main table and the mapping x measure table, per family (missing figures as '–').

    Each table is followed by a legend that says what the mappings are (:data:`MAPPING_LEGEND`) and
    what the intervals are (:data:`INTERVAL_LEGEND`).
    """
    families = _ordered(r['family'] for r in rows)
    out = []
    for family in families:
        out.append(f'**{family}**\n')
        out.append('| ' + ' | '.join(title for _, title, _ in MD_COLUMNS) + ' |')
        out.append('|' + '---|' * len(MD_COLUMNS))
        for row in rows:
            if row['family'] == family:
                cells = dict(row, nrp_minus_linear_ci=_ci(row['nrp_minus_linear_ci_low'],
                                                          row['nrp_minus_linear_ci_high']))
                out.append('| ' + ' | '.join(cells[key] if key == 'nrp_minus_linear_ci' else _fmt(cells[key], digits)
                                             for key, _, digits in MD_COLUMNS) + ' |')
        out.append('')
        out.append(f'{MAPPING_LEGEND} {INTERVAL_LEGEND} 95% CI of NRP − LSQ (NRP inputs) MAE: the same corrected '
                   f't on the per-split differences. Mean NRP-error V4+IT: the quantity of the paper\'s Table 1 '
                   f'column, for this package\'s NRP.')
        out.append('')
        out.append(f'**{family}: mapping x measure** (MAE: lower is better; r: median over sites, mean over '
                   f'splits; ceiled MAE = (MAE_mean − MAE)/(MAE_mean − floor), unclipped; ceiled r² = '
                   f'r²/internal consistency; – = not reported; intervals of the MAEs: `<mapping>_mae_ci95` in '
                   f'table.csv)\n')
        header = ['model', 'region'] + [f'{MAPPING_TITLES[m]} {title}' for _, title in MEASURE_TITLES
                                        for m in MAPPINGS]
        out.append('| ' + ' | '.join(header) + ' |')
        out.append('|' + '---|' * len(header))
        for row in rows:
            if row['family'] == family:
                cells = [row['model'], row['region']] + [_fmt(row[f'{m}_{measure}']) for measure, _ in MEASURE_TITLES
                                                         for m in MAPPINGS]
                out.append('| ' + ' | '.join(cells) + ' |')
        out.append('')
        out.append(MAPPING_LEGEND)
        out.append('')
    return '\n'.join(out)


def stats_markdown(stats):
    """``stats.md``: Spearman with its intervals, mapping contrasts and model contrasts, all with 95% CIs."""
    out = ['## Method', '', stats.get('method', METHOD), '', MAPPING_LEGEND, '',
           '## Spearman rank correlation across models: NRP score vs PLS score', '',
           '| family | region | models | rho | exact permutation p | 95% CI (Fisher z, n ≥ 4) | '
           'rho under measurement error (95%) |', '|---|---|---|---|---|---|---|']
    for family, regions in stats['spearman_nrp_vs_pls_score'].items():
        for region, entry in regions.items():
            mci = entry.get('measurement_ci')
            out.append(f"| {family} | {region} | {entry['n_models']} | {_fmt(entry['rho'])} | "
                       f"{_fmt(entry.get('p_permutation'))} | {_ci(entry.get('ci_low'), entry.get('ci_high'), 2)} | "
                       f"{_ci(*(mci or (None, None)), 2)} |")
    out += ['', 'rho needs ≥ 3 models with both scores, not all tied. With n models the smallest possible '
            'two-sided permutation p is 2/n! (0.083 for 4 models): few models can never show a significant '
            'rank agreement or disagreement, and the Fisher interval then spans most of [-1, 1]. The '
            'measurement interval says only how stable the ranking of *these* models is under their '
            'scores\' measurement error.', '',
            '## Mapping contrasts in MAE, per model and region (same splits)', '',
            'Negative: the first mapping predicts better. The JSON keeps the mapping names (`linear` = LSQ '
            '(NRP inputs)).', '',
            '| family | model | region | contrast | mean difference | 95% CI | t | p | splits |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['mapping_differences']:
        out.append(f"| {e['family']} | {e['model']} | {e['region']} | {_contrast_title(e['contrast'])} | "
                   f"{_fmt(e['mean'], 4)} | "
                   f"{_ci(e['ci_low'], e['ci_high'])} | {_fmt(e['t'], 2)} | {_fmt(e['p'], 4)} | {e['n_splits']} |")
    out += ['', '## Model contrasts, per region (same splits)', '',
            'Measure "<mapping> MAE": model A − model B MAE (negative: A better); "PLS r": A − B median r '
            '(positive: A better).', '',
            '| family | region | model A | model B | measure | mean difference | 95% CI | t | p |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['model_differences']:
        out.append(f"| {e['family']} | {e['region']} | {e['model_a']} | {e['model_b']} | "
                   f"{_measure_title(e['measure'])} | {_fmt(e['mean'], 4)} | {_ci(e['ci_low'], e['ci_high'])} | "
                   f"{_fmt(e['t'], 2)} | {_fmt(e['p'], 4)} |")
    return '\n'.join(out) + '\n'


def csv_text(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ('' if row.get(key) is None else row.get(key)) for key in COLUMNS})
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# plots

def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=120, bbox_inches='tight')
    import matplotlib.pyplot as plt
    plt.close(fig)


def _caption(fig, text, y=None, va='top'):
    """A caption of ``text`` wrapped to the figure's width, at height ``y`` (figure coordinates) or, by
    default, under everything already drawn (tick labels included; kept in the PNG by
    ``bbox_inches='tight'``)."""
    if y is None:
        bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
        y, va = bottom - 0.02, 'top'
    fig.text(0.5, y, textwrap.fill(text, max(40, int(17 * fig.get_figwidth()))), ha='center', va=va, fontsize=7)


def _bar_error(value):
    """An error-bar length for matplotlib: NaN (no bar) when the interval is unknown, never a false 0."""
    return np.nan if value is None else value


NRP_ERROR_LABEL = "NRP-error (MAE of the NRP's test predictions)"


def plot_all(rows, out):
    """Write the PNG plots into ``out``; return their paths.

    Every error bar is the corrected 95% half-width (``*_ci95``, :func:`split_interval`); a point or bar
    whose per-split values are missing has no error bar. Each figure's caption says so, and the plot that
    shows least squares on the NRP inputs says what it is (:data:`MAPPING_LEGEND`).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    paths = []
    for family in _ordered(r['family'] for r in rows):
        family_rows = [r for r in rows if r['family'] == family]
        regions = _ordered(r['region'] for r in family_rows)
        models = _ordered(r['model'] for r in family_rows)
        get = {(r['model'], r['region']): r for r in family_rows}

        fig, axes = plt.subplots(1, len(regions), figsize=(5 * len(regions), 4), squeeze=False)
        for ax, region in zip(axes[0], regions):
            for index, model in enumerate(models):  # one colour per model in every panel
                row = get.get((model, region))
                if row and row['pls_score'] is not None and row['nrp_error'] is not None:
                    ax.errorbar(row['pls_score'], row['nrp_error'], xerr=_bar_error(row['pls_score_ci95']),
                                yerr=_bar_error(row['nrp_error_ci95']), fmt='o', color=f'C{index % 10}',
                                label=model, capsize=2)
            ax.set_xlabel('PLS score (ceiled r², higher is better) ± 95% CI')
            ax.set_ylabel(f'{NRP_ERROR_LABEL},\nlower is better; ± 95% CI', fontsize=8)
            ax.set_title(f'{family} {region}')
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:  # labels beside the points overlap when models score alike: one legend below
            fig.legend(handles, labels, loc='lower center', bbox_to_anchor=(0.5, 0.08), ncol=min(len(labels), 4),
                       fontsize=7, frameon=False)
        fig.subplots_adjust(bottom=0.3)
        _caption(fig, ERROR_BAR_CAPTION + " PLS score's interval: from PLS r's by the delta method (2 |r| / "
                 'internal consistency).', y=0.0, va='bottom')
        paths.append(out / f'{family}_nrp_error_vs_pls_score.png')
        _save(fig, paths[-1])

        x = np.arange(len(models))
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(models)), 4))
        width = 0.8 / max(1, len(regions))
        for i, region in enumerate(regions):
            values = [get.get((m, region), {}).get('nrp_error') for m in models]
            errors = [_bar_error(get.get((m, region), {}).get('nrp_error_ci95')) for m in models]
            ax.bar(x + i * width, [v if v is not None else np.nan for v in values], width, yerr=errors,
                   capsize=2, label=region)
        ax.set_xticks(x + width * (len(regions) - 1) / 2, models, rotation=30, ha='right', fontsize=8)
        ax.set_ylabel(f'{NRP_ERROR_LABEL}\n± 95% CI', fontsize=8)
        ax.set_title(f'{family}: V4 vs IT NRP-error')
        ax.legend()
        _caption(fig, ERROR_BAR_CAPTION)
        paths.append(out / f'{family}_v4_vs_it_nrp_error.png')
        _save(fig, paths[-1])

        labels = [f'{r["model"]} {r["region"]}' for r in family_rows]
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 4))
        for offset, key, err, label in ((-0.2, 'linear_mae', 'linear_mae_ci95', MAPPING_TITLES['linear']),
                                        (0.2, 'nrp_error', 'nrp_error_ci95', 'NRP')):
            ax.bar(x + offset, [r[key] if r[key] is not None else np.nan for r in family_rows], 0.4,
                   yerr=[_bar_error(r[err]) for r in family_rows], capsize=2, label=label)
        ax.set_xticks(x, labels, rotation=40, ha='right', fontsize=7)
        ax.set_ylabel('test MAE ± 95% CI')
        ax.set_title(f'{family}: least squares on the NRP inputs vs NRP, test MAE', fontsize=10)
        ax.legend(loc='lower right')
        _caption(fig, f"{ERROR_BAR_CAPTION} LSQ (NRP inputs): least squares with an intercept on the NRP's "
                 "prepared inputs (per-layer principal components chosen on each split's training stimuli), not "
                 "on the layers' activations as the paper's linear baseline was.")
        paths.append(out / f'{family}_linear_vs_nrp_mae.png')
        _save(fig, paths[-1])

        pruned = {}
        for row in family_rows:
            match = re.match(r'(resnet50(?:_untrained)?)_pruned\d+$', row['model'])
            if match and row['sparsity'] is not None and row['nrp_error'] is not None:
                pruned.setdefault((match.group(1), row['region']), []).append(
                    (row['sparsity'], row['nrp_error'], _bar_error(row['nrp_error_ci95'])))
        if any(len({s for s, _, _ in points}) >= 2 for points in pruned.values()):
            fig, ax = plt.subplots(figsize=(5, 4))
            for (variant, region), points in sorted(pruned.items()):
                points.sort()
                s, e, half = np.array(points).T
                ax.errorbar(100 * s, e, yerr=half, marker='o', capsize=2, label=f'{variant} {region}')
            ax.set_xlabel('sparsity (% of weights zero)')
            ax.set_ylabel(f'{NRP_ERROR_LABEL}\n± 95% CI', fontsize=8)
            ax.set_title(f'{family}: pruned ResNet50')
            ax.legend(fontsize=7)
            _caption(fig, ERROR_BAR_CAPTION)
            paths.append(out / f'{family}_nrp_error_vs_sparsity.png')
            _save(fig, paths[-1])
        paths.append(out / f'{family}_mapping_x_measure.png')
        plot_mapping_measure(family_rows, regions, models, family, paths[-1])
    return paths


def plot_mapping_measure(family_rows, regions, models, family, path):
    """One row of panels per region, one column per measure (ceiled MAE, ceiled r²): grouped bars per
    model, one bar per mapping; a mapping the run did not report is marked 'n/a', not drawn as 0. The
    bars carry no intervals (the table's ``*_ci95`` columns have them); the caption says what each
    mapping is."""
    import matplotlib.pyplot as plt
    get = {(r['model'], r['region']): r for r in family_rows}
    measures = (('score_mae', 'ceiled MAE score\n(MAE_mean − MAE)/(MAE_mean − floor)'),
                ('score_r', 'ceiled r score\nr² / internal consistency'))
    fig, axes = plt.subplots(len(regions), len(measures), figsize=(6 * len(measures), 3.2 * len(regions)),
                             squeeze=False)
    x = np.arange(len(models))
    width = 0.8 / len(MAPPINGS)
    for i, region in enumerate(regions):
        for j, (measure, label) in enumerate(measures):
            ax = axes[i][j]
            for k, mapping in enumerate(MAPPINGS):
                values = [get.get((m, region), {}).get(f'{mapping}_{measure}') for m in models]
                positions = x + (k - (len(MAPPINGS) - 1) / 2) * width
                ax.bar(positions, [v if v is not None else np.nan for v in values], width, color=f'C{k}',
                       label=MAPPING_TITLES[mapping])
                for position, value in zip(positions, values):
                    if value is None:
                        ax.text(position, 0, 'n/a', rotation=90, ha='center', va='bottom', fontsize=6,
                                color=f'C{k}')
            ax.axhline(0, color='black', linewidth=0.5)
            ax.set_xticks(x, models, rotation=25, ha='right', fontsize=7)
            ax.set_ylabel(label, fontsize=8)
            ax.set_title(f'{family} {region}', fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='upper center', ncol=len(MAPPINGS), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    _caption(fig, MAPPING_LEGEND + " No error bars here: the MAEs' corrected intervals are in table.csv "
             '(`<mapping>_mae_ci95`).')
    _save(fig, path)


# ----------------------------------------------------------------------------------------------

def provenance(records):
    """What produced the table: the distinct cache-key payloads' shared parts (code, versions, data)."""
    keys = [r.get('key') for r in records if isinstance(r.get('key'), dict)]
    shared = {}
    for field in ('code', 'versions', 'format'):
        values = _ordered(json.dumps(k.get(field), sort_keys=True) for k in keys)
        shared[field] = [json.loads(v) for v in values]
    shared['data'] = {r['benchmark']: r['key'].get('data') for r in records if isinstance(r.get('key'), dict)}
    shared['mixed'] = any(len(shared[field]) > 1 for field in ('code', 'versions'))
    return shared


def write_report(records, out, run_info=None, plots=True):
    """Write ``table.csv``, ``table.md``, ``table.json``, ``stats.md`` and the plots into ``out``.

    Returns ``(rows, stats, markdown, plot_paths)``.
    """
    rows = build_rows(records)
    stats = statistics(rows)
    summary = model_summary(rows)
    table_md = markdown_table(rows)
    document = {'run': run_info or {}, 'provenance': provenance(records), 'rows': rows,
                'models': [{'family': f, 'model': m, **entry} for (f, m), entry in summary.items()],
                'stats': stats,
                'scores': [{k: v for k, v in r.items() if k != 'cached'} for r in records]}
    atomic_write_text(out / 'table.json', json.dumps(document, indent=1))
    atomic_write_text(out / 'table.csv', csv_text(rows))
    atomic_write_text(out / 'table.md', table_md + '\n')
    atomic_write_text(out / 'stats.md', stats_markdown(stats))
    paths = plot_all(rows, out) if plots else []
    return rows, stats, table_md, paths
