"""Tables, statistics and plots of a comparison run (:func:`nrp_plugin.app.compare.run_compare`).

Every statistic is documented, with its formula and reference, in docs/compare.md: the mapping x
measure table (PLS, ridge, paper-linear and NRP under MAE, Pearson r and both ceiled scores), the
corrected resampled t of Nadeau & Bengio (2003) for every paired difference, and Spearman's rho
across models with what it can and cannot say.

Every file is written atomically (:func:`nrp_plugin.storage.cache.atomic_path`): after a failure or an
interrupt a table is either the previous complete one or absent, never half written.
"""
import csv
import io
import json
import math
import re

import numpy as np

from ..storage.cache import atomic_path, atomic_write_text

MAPPINGS = ('pls', 'ridge', 'linear', 'nrp')
MAPPING_TITLES = {'pls': 'PLS', 'ridge': 'ridge', 'linear': 'linear', 'nrp': 'NRP'}
MEASURES = ('mae', 'mae_error', 'r', 'score_mae', 'score_r')
# (measure, title, lower is better)
MEASURE_TITLES = (('mae', 'MAE'), ('r', 'r'), ('score_mae', 'ceiled MAE'), ('score_r', 'ceiled r²'))
CONTRASTS = (('nrp', 'linear'), ('nrp', 'pls'), ('nrp', 'ridge'), ('ridge', 'linear'))
COLUMNS = (('family', 'model', 'region', 'pls_raw_r', 'pls_raw_r_error', 'pls_score', 'pls_score_error',
            'nrp_error', 'nrp_error_sem', 'nrp_score', 'nrp_score_error', 'nrp_pearson',
            'linear_mae', 'linear_mae_error', 'linear_r2', 'linear_r2_error', 'ridge_r2', 'ridge_r2_error',
            'mean_predictor_mae', 'noise_floor', 'internal_consistency')
           + tuple(f'{m}_{measure}' for m in MAPPINGS for measure in MEASURES if f'{m}_{measure}' not in
                   ('linear_mae', 'linear_mae_error'))
           + tuple(f'{a}_minus_{b}_{field}' for a, b in CONTRASTS for field in ('mae', 'ci_low', 'ci_high', 'p'))
           + ('mean_nrp_error_v4_it', 'sparsity'))
MD_COLUMNS = (('model', 'model'), ('region', 'region'), ('pls_raw_r', 'PLS r'), ('pls_score', 'PLS score'),
              ('nrp_error', 'NRP-error'), ('nrp_error_sem', '±'), ('nrp_score', 'NRP score'),
              ('nrp_pearson', 'NRP r'), ('linear_mae', 'linear MAE'), ('linear_r2', 'linear R²'),
              ('nrp_minus_linear_mae', 'NRP − linear MAE'), ('nrp_minus_linear_ci', '95% CI'),
              ('mean_nrp_error_v4_it', 'mean NRP-error V4+IT'))
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


def mapping_figures(pls, nrp):
    """The 2 x 2 for one (model, region): per mapping its MAE, r and both ceiled scores.

    Parameters
    ----------
    pls, nrp : dict
        The ``-pls`` and ``-nrp`` records (:func:`nrp_plugin.app.compare.summarize`); {} when missing.

    Returns
    -------
    figures : dict
        ``{mapping: {'mae', 'mae_error', 'r', 'score_mae', 'score_r', 'split_mae'}}``; a mapping the
        run did not report (e.g. no ridge) has None everywhere and an empty ``split_mae``.
    """
    raw = {'pls': (pls.get('pls_mae'), pls.get('pls_mae_error'), pls.get('raw_r'), pls.get('split_pls_mae')),
           'ridge': (nrp.get('ridge_mae'), nrp.get('ridge_mae_error'), nrp.get('ridge_pearson'),
                     nrp.get('split_ridge_mae')),
           'linear': (nrp.get('linear_mae'), nrp.get('linear_mae_error'), nrp.get('linear_pearson'),
                      nrp.get('split_linear_mae')),
           'nrp': (nrp.get('nrp_error'), nrp.get('nrp_error_sem'), nrp.get('pearson'), nrp.get('split_nrp_error'))}
    floor, mae_mean, ceiling = nrp.get('ceiling'), nrp.get('mean_predictor_mae'), pls.get('ceiling')
    return {mapping: {'mae': mae, 'mae_error': error, 'r': r, 'score_mae': _ceiled_mae(mae, mae_mean, floor),
                      'score_r': _ceiled_r(r, ceiling), 'split_mae': list(splits or [])}
            for mapping, (mae, error, r, splits) in raw.items()}


def build_rows(records):
    """One row per (family, model, region): both benchmarks' scores, the 2 x 2 and the mapping contrasts."""
    by_key = {}
    for record in records:
        by_key[(record['family'], record['model'], record['region'], record['kind'])] = record
    keys = _ordered((r['family'], r['model'], r['region']) for r in records)
    rows = []
    for family, model, region in keys:
        pls = by_key.get((family, model, region, 'pls'), {})
        nrp = by_key.get((family, model, region, 'nrp'), {})
        sparsity = nrp.get('sparsity', pls.get('sparsity'))
        row = {'family': family, 'model': model, 'region': region,
               'pls_raw_r': pls.get('raw_r'), 'pls_raw_r_error': pls.get('raw_r_error'),
               'pls_score': pls.get('score'), 'pls_score_error': pls.get('score_error'),
               'nrp_error': nrp.get('nrp_error'), 'nrp_error_sem': nrp.get('nrp_error_sem'),
               'nrp_score': nrp.get('score'), 'nrp_score_error': nrp.get('score_error'),
               'nrp_pearson': nrp.get('pearson'), 'linear_mae': nrp.get('linear_mae'),
               'linear_mae_error': nrp.get('linear_mae_error'), 'linear_r2': nrp.get('linear_r2'),
               'linear_r2_error': nrp.get('linear_r2_error'), 'ridge_r2': nrp.get('ridge_r2'),
               'ridge_r2_error': nrp.get('ridge_r2_error'),
               'mean_predictor_mae': nrp.get('mean_predictor_mae'), 'noise_floor': nrp.get('ceiling'),
               'internal_consistency': pls.get('ceiling'), 'sparsity': sparsity,
               'train_size': nrp.get('train_size', pls.get('train_size')),
               'split_pls_r': list(pls.get('split_pls_r') or [])}
        figures = mapping_figures(pls, nrp)
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
    """``{(family, model): {'mean_nrp_error', 'regions', 'sparsity'}}``: the paper's Table 1 column."""
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


METHOD = ('Differences between two mappings or two models are paired per split (the same Brain-Score splits) '
          'and tested with the corrected resampled t of Nadeau & Bengio (2003): t = mean(d) / sqrt((1/k + '
          'n_test/n_train) s^2), k - 1 degrees of freedom; 95% CI = mean(d) ± t_{k-1, 0.975} · SE. '
          'See docs/compare.md.')


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
    """The main table and the mapping x measure table, per family (missing figures as '–')."""
    families = _ordered(r['family'] for r in rows)
    out = []
    for family in families:
        out.append(f'**{family}**\n')
        out.append('| ' + ' | '.join(title for _, title in MD_COLUMNS) + ' |')
        out.append('|' + '---|' * len(MD_COLUMNS))
        for row in rows:
            if row['family'] == family:
                cells = dict(row, nrp_minus_linear_ci=_ci(row['nrp_minus_linear_ci_low'],
                                                          row['nrp_minus_linear_ci_high']))
                out.append('| ' + ' | '.join(cells[key] if key == 'nrp_minus_linear_ci' else _fmt(cells[key])
                                             for key, _ in MD_COLUMNS) + ' |')
        out.append('')
        out.append(f'**{family}: mapping x measure** (MAE: lower is better; r: median over sites, mean over '
                   f'splits; ceiled MAE = (MAE_mean − MAE)/(MAE_mean − floor), unclipped; ceiled r² = '
                   f'r²/internal consistency; – = not reported)\n')
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
    return '\n'.join(out)


def stats_markdown(stats):
    """``stats.md``: Spearman with its intervals, mapping contrasts and model contrasts, all with 95% CIs."""
    out = ['## Method', '', stats.get('method', METHOD), '',
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
            'Negative: the first mapping predicts better.', '',
            '| family | model | region | contrast | mean difference | 95% CI | t | p | splits |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['mapping_differences']:
        out.append(f"| {e['family']} | {e['model']} | {e['region']} | {e['contrast']} | {_fmt(e['mean'], 4)} | "
                   f"{_ci(e['ci_low'], e['ci_high'])} | {_fmt(e['t'], 2)} | {_fmt(e['p'], 4)} | {e['n_splits']} |")
    out += ['', '## Model contrasts, per region (same splits)', '',
            'Measure `<mapping>_mae`: model A − model B MAE (negative: A better); `pls_r`: A − B median r '
            '(positive: A better).', '',
            '| family | region | model A | model B | measure | mean difference | 95% CI | t | p |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['model_differences']:
        out.append(f"| {e['family']} | {e['region']} | {e['model_a']} | {e['model_b']} | {e['measure']} | "
                   f"{_fmt(e['mean'], 4)} | {_ci(e['ci_low'], e['ci_high'])} | {_fmt(e['t'], 2)} | "
                   f"{_fmt(e['p'], 4)} |")
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


def plot_all(rows, out):
    """Write the PNG plots into ``out``; return their paths."""
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
                    ax.errorbar(row['pls_score'], row['nrp_error'], xerr=row['pls_score_error'] or 0,
                                yerr=row['nrp_error_sem'] or 0, fmt='o', color=f'C{index % 10}', label=model)
            ax.set_xlabel('PLS score (ceiled r², higher is better)')
            ax.set_ylabel('NRP-error (MAE, lower is better)')
            ax.set_title(f'{family} {region}')
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:  # labels beside the points overlap when models score alike: one legend below
            fig.legend(handles, labels, loc='lower center', ncol=min(len(labels), 4), fontsize=7, frameon=False)
            fig.subplots_adjust(bottom=0.25)
        paths.append(out / f'{family}_nrp_error_vs_pls_score.png')
        _save(fig, paths[-1])

        x = np.arange(len(models))
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(models)), 4))
        width = 0.8 / max(1, len(regions))
        for i, region in enumerate(regions):
            values = [get.get((m, region), {}).get('nrp_error') for m in models]
            errors = [get.get((m, region), {}).get('nrp_error_sem') or 0 for m in models]
            ax.bar(x + i * width, [v if v is not None else np.nan for v in values], width, yerr=errors, label=region)
        ax.set_xticks(x + width * (len(regions) - 1) / 2, models, rotation=30, ha='right', fontsize=8)
        ax.set_ylabel('NRP-error')
        ax.set_title(f'{family}: V4 vs IT NRP-error')
        ax.legend()
        paths.append(out / f'{family}_v4_vs_it_nrp_error.png')
        _save(fig, paths[-1])

        labels = [f'{r["model"]} {r["region"]}' for r in family_rows]
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 4))
        for offset, key, err, label in ((-0.2, 'linear_mae', 'linear_mae_error', 'linear'),
                                        (0.2, 'nrp_error', 'nrp_error_sem', 'NRP')):
            ax.bar(x + offset, [r[key] if r[key] is not None else np.nan for r in family_rows], 0.4,
                   yerr=[r[err] or 0 for r in family_rows], label=label)
        ax.set_xticks(x, labels, rotation=40, ha='right', fontsize=7)
        ax.set_ylabel('test MAE')
        ax.set_title(f'{family}: linear vs NRP MAE')
        ax.legend(loc='lower right')
        paths.append(out / f'{family}_linear_vs_nrp_mae.png')
        _save(fig, paths[-1])

        pruned = {}
        for row in family_rows:
            match = re.match(r'(resnet50(?:_untrained)?)_pruned\d+$', row['model'])
            if match and row['sparsity'] is not None and row['nrp_error'] is not None:
                pruned.setdefault((match.group(1), row['region']), []).append(
                    (row['sparsity'], row['nrp_error'], row['nrp_error_sem'] or 0))
        if any(len({s for s, _, _ in points}) >= 2 for points in pruned.values()):
            fig, ax = plt.subplots(figsize=(5, 4))
            for (variant, region), points in sorted(pruned.items()):
                points.sort()
                s, e, se = np.array(points).T
                ax.errorbar(100 * s, e, yerr=se, marker='o', label=f'{variant} {region}')
            ax.set_xlabel('sparsity (% of weights zero)')
            ax.set_ylabel('NRP-error')
            ax.set_title(f'{family}: pruned ResNet50')
            ax.legend(fontsize=7)
            paths.append(out / f'{family}_nrp_error_vs_sparsity.png')
            _save(fig, paths[-1])
        paths.append(out / f'{family}_mapping_x_measure.png')
        plot_mapping_measure(family_rows, regions, models, family, paths[-1])
    return paths


def plot_mapping_measure(family_rows, regions, models, family, path):
    """One row of panels per region, one column per measure (ceiled MAE, ceiled r²): grouped bars per
    model, one bar per mapping; a mapping the run did not report is marked 'n/a', not drawn as 0."""
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
