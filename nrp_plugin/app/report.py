"""Tables, paired statistics and plots of a comparison run (:func:`nrp_plugin.app.compare.run_compare`).

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

COLUMNS = ('family', 'model', 'region', 'pls_raw_r', 'pls_raw_r_error', 'pls_score', 'pls_score_error',
           'nrp_error', 'nrp_error_sem', 'nrp_score', 'nrp_score_error', 'nrp_pearson',
           'linear_mae', 'linear_mae_error', 'linear_r2', 'linear_r2_error', 'mean_predictor_mae',
           'nrp_minus_linear_mae', 'nrp_minus_linear_sem', 'mean_nrp_error_v4_it', 'sparsity')
MD_COLUMNS = (('model', 'model'), ('region', 'region'), ('pls_raw_r', 'PLS r'), ('pls_score', 'PLS score'),
              ('nrp_error', 'NRP-error'), ('nrp_error_sem', '±'), ('nrp_score', 'NRP score'),
              ('nrp_pearson', 'NRP r'), ('linear_mae', 'linear MAE'), ('linear_r2', 'linear R²'),
              ('mean_nrp_error_v4_it', 'mean NRP-error V4+IT'))


def paired_difference(nrp_splits, linear_splits):
    """Per-split NRP MAE minus linear MAE: ``(mean, SEM, n)``; SEM with ddof=1 over splits."""
    a, b = np.asarray(nrp_splits, dtype=float), np.asarray(linear_splits, dtype=float)
    if a.size == 0 or a.shape != b.shape:
        return None, None, 0
    diff = a - b
    sem = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else None
    return float(diff.mean()), sem, int(diff.size)


def _ordered(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def build_rows(records):
    """One row per (family, model, region), with the model's mean NRP-error over its regions."""
    by_key = {}
    for record in records:
        by_key[(record['family'], record['model'], record['region'], record['kind'])] = record
    keys = _ordered((r['family'], r['model'], r['region']) for r in records)
    rows = []
    for family, model, region in keys:
        pls = by_key.get((family, model, region, 'pls'), {})
        nrp = by_key.get((family, model, region, 'nrp'), {})
        diff, diff_sem, _ = paired_difference(nrp.get('split_nrp_error', []), nrp.get('split_linear_mae', []))
        sparsity = nrp.get('sparsity', pls.get('sparsity'))
        rows.append({'family': family, 'model': model, 'region': region,
                     'pls_raw_r': pls.get('raw_r'), 'pls_raw_r_error': pls.get('raw_r_error'),
                     'pls_score': pls.get('score'), 'pls_score_error': pls.get('score_error'),
                     'nrp_error': nrp.get('nrp_error'), 'nrp_error_sem': nrp.get('nrp_error_sem'),
                     'nrp_score': nrp.get('score'), 'nrp_score_error': nrp.get('score_error'),
                     'nrp_pearson': nrp.get('pearson'), 'linear_mae': nrp.get('linear_mae'),
                     'linear_mae_error': nrp.get('linear_mae_error'), 'linear_r2': nrp.get('linear_r2'),
                     'linear_r2_error': nrp.get('linear_r2_error'),
                     'mean_predictor_mae': nrp.get('mean_predictor_mae'),
                     'nrp_minus_linear_mae': diff, 'nrp_minus_linear_sem': diff_sem, 'sparsity': sparsity})
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


def spearman(rows, min_models=3):
    """Spearman rank correlation across models between NRP score and PLS score, per family and region."""
    from scipy.stats import spearmanr
    result = {}
    for family, region in _ordered((r['family'], r['region']) for r in rows):
        pairs = [(r['nrp_score'], r['pls_score']) for r in rows if r['family'] == family and r['region'] == region
                 and r['nrp_score'] is not None and r['pls_score'] is not None]
        entry = {'n_models': len(pairs), 'rho': None, 'p': None}
        if len(pairs) >= min_models:
            nrp, pls = np.array(pairs).T
            if np.ptp(nrp) > 0 and np.ptp(pls) > 0:
                rho, p = spearmanr(nrp, pls)
                entry.update(rho=float(rho), p=float(p))
        result.setdefault(family, {})[region] = entry
    return result


def statistics(rows):
    """Spearman per family/region and the paired NRP-minus-linear MAE per model/region."""
    paired = [{'family': r['family'], 'model': r['model'], 'region': r['region'],
               'nrp_minus_linear_mae': r['nrp_minus_linear_mae'], 'sem': r['nrp_minus_linear_sem'],
               't': (r['nrp_minus_linear_mae'] / r['nrp_minus_linear_sem']
                     if r['nrp_minus_linear_sem'] else None)} for r in rows]
    return {'spearman_nrp_vs_pls_score': spearman(rows), 'paired_nrp_minus_linear_mae': paired}


def _fmt(value, digits=3):
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def markdown_table(rows):
    families = _ordered(r['family'] for r in rows)
    out = []
    for family in families:
        out.append(f'**{family}**\n')
        out.append('| ' + ' | '.join(title for _, title in MD_COLUMNS) + ' |')
        out.append('|' + '---|' * len(MD_COLUMNS))
        for row in rows:
            if row['family'] == family:
                out.append('| ' + ' | '.join(_fmt(row[key]) for key, _ in MD_COLUMNS) + ' |')
        out.append('')
    return '\n'.join(out)


def stats_markdown(stats):
    out = ['## Spearman rank correlation across models: NRP score vs PLS score', '',
           '| family | region | models | rho | p |', '|---|---|---|---|---|']
    for family, regions in stats['spearman_nrp_vs_pls_score'].items():
        for region, entry in regions.items():
            out.append(f"| {family} | {region} | {entry['n_models']} | {_fmt(entry['rho'])} | {_fmt(entry['p'])} |")
    out += ['', '(rho needs >= 3 models with both scores and not all tied.)', '',
            '## Paired per-split difference: NRP MAE minus linear MAE (same splits)', '',
            'Mean over splits of (NRP-error − linear MAE) on each split; SEM with ddof=1 over splits; '
            't = mean / SEM. Negative: the NRP predicts better than the linear baseline.', '',
            '| family | model | region | NRP − linear MAE | SEM | t |', '|---|---|---|---|---|---|']
    for entry in stats['paired_nrp_minus_linear_mae']:
        out.append(f"| {entry['family']} | {entry['model']} | {entry['region']} | "
                   f"{_fmt(entry['nrp_minus_linear_mae'], 4)} | {_fmt(entry['sem'], 4)} | {_fmt(entry['t'], 2)} |")
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
    return paths


# ----------------------------------------------------------------------------------------------

def write_report(records, out, run_info=None, plots=True):
    """Write ``table.csv``, ``table.md``, ``table.json``, ``stats.md`` and the plots into ``out``.

    Returns ``(rows, stats, markdown, plot_paths)``.
    """
    rows = build_rows(records)
    stats = statistics(rows)
    summary = model_summary(rows)
    table_md = markdown_table(rows)
    document = {'run': run_info or {}, 'rows': rows,
                'models': [{'family': f, 'model': m, **entry} for (f, m), entry in summary.items()],
                'stats': stats,
                'scores': [{k: v for k, v in r.items() if k != 'cached'} for r in records]}
    atomic_write_text(out / 'table.json', json.dumps(document, indent=1))
    atomic_write_text(out / 'table.csv', csv_text(rows))
    atomic_write_text(out / 'table.md', table_md + '\n')
    atomic_write_text(out / 'stats.md', stats_markdown(stats))
    paths = plot_all(rows, out) if plots else []
    return rows, stats, table_md, paths
