"""The tables of a comparison run: one row per (family, model, region), Markdown, CSV and the JSON payload.

:func:`build_rows` turns score records (:func:`nrp_plugin.app.compare.run_compare`) into rows with both
benchmarks' scores and the mapping x measure figures; :func:`attach_contrasts` adds the mapping contrasts the
statistics computed (:mod:`nrp_plugin.app.contrasts`; nothing here runs a test); :func:`markdown_table`, :func:`stats_markdown`, :func:`csv_text` and
:func:`json_document` are the texts of ``table.md``, ``stats.md``, ``table.csv`` and ``table.json``. Nothing
here writes a file (:func:`nrp_plugin.app.report.write_report` does).
"""
import csv
import io
import json

import numpy as np

from .. import mappings
from .contrasts import (MAIN, MEASURES, best_linear, ceiled_mae_half_width, ceiled_r_half_width, contrasts,
                        mapping_figures)
from .intervals import ordered_unique, split_half_width
from .methods import HOLM_METHOD, METHOD, best_linear_method
from .ranking import MAX_MOVERS


def mapping_titles():
    """``{name: title}`` of every registered mapping, in display order."""
    return {name: mapping.title for name, mapping in mappings.registered().items()}


def contrast_titles():
    """Titles of the contrasts' sides: the mappings and the row's best linear mapping."""
    return dict(mapping_titles(), best_linear='best linear')


def mapping_legend():
    """What each registered mapping is, in one paragraph (tables and plots)."""
    parts = [f'{mapping.title}: {mapping.description}' for name, mapping in mappings.registered().items()
             if name != MAIN]
    return '; '.join(parts) + "; NRP-error: MAE of the NRP's test predictions."


INTERVAL_LEGEND = ("±95%: half-width of the 95% interval of the corrected resampled t (Nadeau & Bengio 2003) over "
                   "the k splits, t_{k−1, 0.975} · sqrt((1/k + n_test/n_train) · s²), s² the variance of the "
                   "per-split values; naive SEM (splits overlap; understates): std over splits / sqrt(k), which "
                   "treats the overlapping splits as independent.")
#: ``(measure, title)`` of the mapping x measure table's columns.
MEASURE_TITLES = (('mae', 'MAE'), ('r', 'r'), ('score_mae', 'ceiled MAE'), ('score_r', 'ceiled r²'))
#: The figures each mapping contrast gives a row (``<a>_minus_<b>_<field>``; ``t`` is in the JSON only).
CONTRAST_FIELDS = ('mae', 'ci_low', 'ci_high', 'p', 'p_holm')
NAIVE_SEM_TITLE = 'naive SEM (splits overlap; understates)'


def reference_names():
    """The registered mappings other than Brain-Score's PLS and the NRP: those the NRP benchmark reports beside
    the NRP."""
    return [name for name, mapping in mappings.registered().items()
            if name != MAIN and mapping.standard_benchmark is None]


def columns():
    """``table.csv``'s columns. ``*_error`` and ``nrp_error_sem`` are the naive SEMs the benchmarks report (std over
    splits / sqrt(k), which understates: the splits overlap); ``*_ci95`` are the corrected 95% half-widths;
    ``*_p_holm`` the p-values Holm-corrected across the models and regions of one family and contrast."""
    base = ['family', 'model', 'region', 'pls_raw_r', 'pls_raw_r_error', 'pls_raw_r_ci95', 'pls_score',
            'pls_score_error', 'pls_score_ci95', 'nrp_error', 'nrp_error_sem', 'nrp_error_ci95', 'nrp_score',
            'nrp_score_error', 'nrp_score_ci95', 'nrp_pearson']
    for name in reference_names():
        base += [f'{name}_r2', f'{name}_r2_error']
    base += ['mean_predictor_mae', 'noise_floor', 'internal_consistency']
    out = base + [f'{m}_{measure}' for m in mappings.names() for measure in MEASURES if f'{m}_{measure}' not in base]
    out += ['best_linear', 'best_linear_mae']
    out += [f'{a}_minus_{b}_{field}' for a, b in contrasts() for field in CONTRAST_FIELDS]
    return tuple(out + ['mean_nrp_error_v4_it', 'sparsity'])


def md_columns():
    """``(key, header, digits)`` of the main Markdown table's columns."""
    lsq = mappings.title('least_squares')
    out = [('model', 'model', 3), ('region', 'region', 3), ('pls_raw_r', 'PLS r', 3), ('pls_raw_r_ci95', '±95%', 4),
           ('pls_score', 'PLS score', 3), ('nrp_error', 'NRP-error', 3), ('nrp_error_ci95', '±95%', 4),
           ('nrp_error_sem', NAIVE_SEM_TITLE, 4), ('nrp_score', 'NRP score', 3), ('nrp_pearson', 'NRP r', 3)]
    if 'least_squares' in mappings.names():
        out += [('least_squares_mae', f'{lsq} MAE', 3), ('least_squares_r2', f'{lsq} R²', 3),
                ('nrp_minus_least_squares_mae', f'NRP − {lsq} MAE', 3), ('nrp_minus_least_squares_ci', '95% CI', 4)]
    return tuple(out + [('mean_nrp_error_v4_it', 'mean NRP-error V4+IT', 3)])


def build_rows(records):
    """One row per (family, model, region): both benchmarks' scores and every mapping's figures.

    Parameters
    ----------
    records : list of dict
        Score records (:func:`nrp_plugin.app.compare.summarize` plus ``family``, ``model``, ``region``,
        ``kind``, ``train_size``).

    Returns
    -------
    rows : list of dict
        The keys of :func:`columns` but the contrasts (:func:`attach_contrasts` adds them from the statistics).
        ``*_error`` and ``nrp_error_sem`` are the naive SEMs the benchmarks report; ``*_ci95`` are corrected 95%
        half-widths (:func:`nrp_plugin.app.intervals.split_interval`) over the per-split values:
        ``pls_raw_r_ci95`` over ``split_pls_r``, ``<mapping>_mae_ci95`` and ``nrp_error_ci95`` over
        ``split_<mapping>_mae``, ``pls_score_ci95`` from ``pls_raw_r_ci95`` by the delta method (``2 |r| / IC``),
        ``nrp_score_ci95`` = ``nrp_error_ci95 / (MAE_mean - floor)``. None where the per-split values are missing
        or fewer than 2. ``best_linear`` is the linear mapping with the lowest mean MAE over the splits
        (:func:`nrp_plugin.app.contrasts.best_linear`), ``best_linear_mae`` that mean and ``split_best_linear_mae``
        its per-split MAEs. What each reference mapping reports per split (e.g. ``banded_ridge_layer_weights``,
        ``kernel_ridge_bandwidth``) is kept as in the record ([] when not reported).
    """
    by_key = {}
    for record in records:
        by_key[(record['family'], record['model'], record['region'], record['kind'])] = record
    keys = ordered_unique((r['family'], r['model'], r['region']) for r in records)
    rows = []
    for family, model, region in keys:
        pls = by_key.get((family, model, region, 'pls'), {})
        nrp = by_key.get((family, model, region, 'nrp'), {})
        sparsity = nrp.get('sparsity', pls.get('sparsity'))
        plot_family = nrp.get('plot_family', pls.get('plot_family'))  # None for a record without the field
        train_size = nrp.get('train_size', pls.get('train_size'))
        split_pls_r = list(pls.get('split_pls_r') or [])
        pls_r_half = split_half_width(split_pls_r, train_size)
        figures = mapping_figures(pls, nrp, train_size)
        nrp_half = figures[MAIN]['mae_ci95']
        row = {'family': family, 'model': model, 'region': region,
               'pls_raw_r': pls.get('raw_r'), 'pls_raw_r_error': pls.get('raw_r_error'), 'pls_raw_r_ci95': pls_r_half,
               'pls_score': pls.get('score'), 'pls_score_error': pls.get('score_error'),
               'pls_score_ci95': ceiled_r_half_width(pls.get('raw_r'), pls_r_half, pls.get('ceiling')),
               'nrp_error': nrp.get('nrp_error'), 'nrp_error_sem': nrp.get('nrp_error_sem'),
               'nrp_error_ci95': nrp_half,
               'nrp_score': nrp.get('score'), 'nrp_score_error': nrp.get('score_error'),
               'nrp_score_ci95': ceiled_mae_half_width(nrp_half, nrp.get('mean_predictor_mae'), nrp.get('ceiling')),
               'nrp_pearson': nrp.get('pearson'),
               'mean_predictor_mae': nrp.get('mean_predictor_mae'), 'noise_floor': nrp.get('ceiling'),
               'internal_consistency': pls.get('ceiling'), 'sparsity': sparsity, 'plot_family': plot_family,
               'train_size': train_size, 'split_pls_r': split_pls_r}
        for name in reference_names():
            for figure in ('r2', 'r2_error'):
                row[f'{name}_{figure}'] = nrp.get(f'{name}_{figure}')
            for figure in mappings.get(name).per_split_figures:  # what the reference reports per split
                row[f'{name}_{figure}'] = list(nrp.get(f'{name}_{figure}') or [])
        for mapping, values in figures.items():
            for measure in MEASURES:
                row[f'{mapping}_{measure}'] = values[measure]
            row[f'split_{mapping}_mae'] = values['split_mae']
        chosen = best_linear({mapping: values['split_mae'] for mapping, values in figures.items()})
        row['best_linear'] = chosen
        row['split_best_linear_mae'] = list(figures[chosen]['split_mae']) if chosen else []
        row['best_linear_mae'] = float(np.mean(row['split_best_linear_mae'])) if chosen else None
        rows.append(row)
    means = model_summary(rows)
    for row in rows:
        row['mean_nrp_error_v4_it'] = means[(row['family'], row['model'])]['mean_nrp_error']
    return rows


def attach_contrasts(rows, differences):
    """Copy the mapping contrasts of the statistics (:func:`nrp_plugin.app.contrasts.mapping_differences`) into
    the rows, as ``<a>_minus_<b>_{mae, ci_low, ci_high, p, t, p_holm}`` (None where a contrast was not tested);
    the rows are changed in place and returned."""
    found = {(e['family'], e['model'], e['region'], e['contrast']): e for e in differences}
    for row in rows:
        for a, b in contrasts():
            entry = found.get((row['family'], row['model'], row['region'], f'{a} - {b}'), {})
            for field, key in (('mae', 'mean'), ('ci_low', 'ci_low'), ('ci_high', 'ci_high'), ('p', 'p'),
                               ('t', 't'), ('p_holm', 'p_holm')):
                row[f'{a}_minus_{b}_{field}'] = entry.get(key)
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


def _contrast_title(contrast):
    """``'nrp - least_squares'`` -> ``'NRP − LSQ (NRP inputs)'`` (the data keep the mapping names)."""
    a, b = contrast.split(' - ')
    titles = contrast_titles()
    return f'{titles.get(a, a)} − {titles.get(b, b)}'


def _measure_title(measure):
    """``'linear_mae'`` -> ``'LSQ (NRP inputs) MAE'``, ``'pls_r'`` -> ``'PLS r'``."""
    mapping, _, name = measure.rpartition('_')
    return f"{mappings.title(mapping)} {'MAE' if name == 'mae' else name}"


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

    Each table is followed by a legend that says what the mappings are (:func:`mapping_legend`) and
    what the intervals are (:data:`INTERVAL_LEGEND`).
    """
    families = ordered_unique(r['family'] for r in rows)
    out = []
    for family in families:
        out.append(f'**{family}**\n')
        main_columns = md_columns()
        out.append('| ' + ' | '.join(title for _, title, _ in main_columns) + ' |')
        out.append('|' + '---|' * len(main_columns))
        for row in rows:
            if row['family'] == family:
                cells = dict(row, nrp_minus_least_squares_ci=_ci(row.get('nrp_minus_least_squares_ci_low'),
                                                                 row.get('nrp_minus_least_squares_ci_high')))
                out.append('| ' + ' | '.join(cells[key] if key == 'nrp_minus_least_squares_ci'
                                             else _fmt(cells.get(key), digits) for key, _, digits in main_columns)
                           + ' |')
        out.append('')
        out.append(f'{mapping_legend()} {INTERVAL_LEGEND} 95% CI of NRP − LSQ (NRP inputs) MAE: the same corrected '
                   f't on the per-split differences. Mean NRP-error V4+IT: the quantity of the paper\'s Table 1 '
                   f'column, for this package\'s NRP.')
        out.append('')
        out.append(f'**{family}: mapping x measure** (MAE: lower is better; r: median over sites, mean over '
                   f'splits; ceiled MAE = (MAE_mean − MAE)/(MAE_mean − floor), unclipped; ceiled r² = '
                   f'r²/internal consistency; – = not reported; intervals of the MAEs: `<mapping>_mae_ci95` in '
                   f'table.csv)\n')
        names = mappings.names()
        header = ['model', 'region'] + [f'{mappings.title(m)} {title}' for _, title in MEASURE_TITLES for m in names]
        out.append('| ' + ' | '.join(header) + ' |')
        out.append('|' + '---|' * len(header))
        for row in rows:
            if row['family'] == family:
                cells = [row['model'], row['region']] + [_fmt(row.get(f'{m}_{measure}')) for measure, _ in MEASURE_TITLES
                                                         for m in names]
                out.append('| ' + ' | '.join(cells) + ' |')
        out.append('')
        out.append(mapping_legend())
        out.append('')
    return '\n'.join(out)


def _rank(value):
    """A rank as text: ``3`` or ``2.5`` (tied models share the mean rank)."""
    return '–' if value is None else f'{value:g}'


def _verdict(swaps):
    return {True: 'yes', False: 'no', None: 'not tested'}[swaps]


def ranking_markdown(ranking):
    """The ``stats.md`` section "Does the NRP rank models differently from PLS?".

    Parameters
    ----------
    ranking : dict
        :func:`nrp_plugin.app.ranking.ranking` of the rows.

    Returns
    -------
    list of str
        Its lines: the rank correlations with their bootstrap intervals, the largest rank changes, every
        discordant pair with both corrected p-values and the verdict, and the method.
    """
    out = ['## Does the NRP rank models differently from PLS?', '',
           'Rank correlations between the models\' order by PLS r (higher is better) and by the NRP-error (MAE of '
           'the NRP\'s test predictions, lower is better), oriented so that +1 is the same order and −1 the '
           'reversed one; ridge MAE vs PLS r separates the mapping (ridge is linear) from the measure (MAE). '
           '95% CI: percentile bootstrap over sites and splits (Method below; – with the reason in the note). The '
           'Spearman section above ranks by the ceiled scores instead (r²/IC, and the MAE-ceiled NRP score, '
           'clipped to [0, 1]).', '',
           '| family | region | rankings | models | Spearman rho | 95% CI | Kendall tau | 95% CI | bootstrap '
           '(valid / resamples; splits x sites) | note |', '|---|---|---|---|---|---|---|---|---|---|']
    for group in ranking['regions']:
        for entry in group['correlations']:
            boot = entry.get('bootstrap')
            boot_text = (f"{boot['valid']} / {boot['resamples']}; {boot['splits']} x {boot['sites']}" if boot
                         else '–')
            out.append(f"| {group['family']} | {group['region']} | {entry['title']} | {entry['n_models']} | "
                       f"{_fmt(entry['spearman'])} | {_ci(*(entry['spearman_ci'] or (None, None)), 3)} | "
                       f"{_fmt(entry['kendall'])} | {_ci(*(entry['kendall_ci'] or (None, None)), 3)} | "
                       f"{boot_text} | {entry.get('note') or ''} |")
    out += ['', f'**Largest rank changes** (PLS rank → NRP rank, 1 = best; per region the at most {MAX_MOVERS} '
            'models whose rank changes most, as named in `<family>_<region>_rank_change.png`):', '']
    for group in ranking['regions']:
        ranks = {r['model']: r for r in group['ranks']}
        moves = ', '.join(f"{model} {_rank(ranks[model]['pls_rank'])} → {_rank(ranks[model]['nrp_rank'])}"
                          for model in group['movers'])
        out.append(f"- {group['family']} {group['region']} ({len(group['ranks'])} models): {moves or 'none'}")
    out += ['', '### Pairs of models ordered differently by PLS r and by the NRP-error', '']
    for group in ranking['regions']:
        out.append(f"- {group['family']} {group['region']}: {group['n_discordant']} of {group['n_pairs']} pairs "
                   f"discordant, {group['n_swaps']} swap significantly")
    out += ['', 'A: the model with the higher PLS r; B: the one with the lower NRP-error. Differences A − B per '
            'split, corrected resampled t; Holm p over the 2m tests of the family and region (Method below).', '',
            '| family | region | A (PLS prefers) | B (NRP prefers) | PLS r A − B | p | Holm p | NRP-error A − B | '
            'p | Holm p | splits | swaps significantly |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for group in ranking['regions']:
        for pair in group['discordant_pairs']:
            out.append(f"| {group['family']} | {group['region']} | {pair['model_a']} | {pair['model_b']} | "
                       f"{_fmt(pair['pls_r_a'] - pair['pls_r_b'], 4)} | {_fmt(pair['pls_p'], 4)} | "
                       f"{_fmt(pair['pls_p_holm'], 4)} | {_fmt(pair['nrp_error_a'] - pair['nrp_error_b'], 4)} | "
                       f"{_fmt(pair['nrp_p'], 4)} | {_fmt(pair['nrp_p_holm'], 4)} | {_fmt(pair['n_splits'])} | "
                       f"{_verdict(pair['swaps'])} |")
    out += ['', '### Method: rank correlations and discordant pairs', '', ranking['method'], '',
            ranking['swap_method'], '']
    return out


def stats_markdown(stats, ranking=None):
    """``stats.md``: Spearman with its intervals, mapping contrasts and model contrasts, all with 95% CIs.

    The mapping contrasts also show their Holm-corrected p-values (:func:`nrp_plugin.app.intervals.holm`), and
    the method section says how "best linear" is chosen and how the p-values are corrected. With ``ranking``
    (:func:`nrp_plugin.app.ranking.ranking`), the section "Does the NRP rank models differently from PLS?"
    (:func:`ranking_markdown`) follows the Spearman section.
    """
    out = ['## Method', '', stats.get('method', METHOD), '', mapping_legend(), '',
           stats.get('best_linear_method') or best_linear_method(), '', stats.get('holm_method', HOLM_METHOD), '',
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
            'scores\' measurement error.', '']
    if ranking is not None:
        out += ranking_markdown(ranking)
    out += ['## Mapping contrasts in MAE, per model and region (same splits)', '',
            'Negative: the first mapping predicts better. Best linear: the linear mapping named in brackets, '
            'the one with the lowest mean MAE over the splits for that model and region (Method). Holm p: the p '
            'corrected across the models and regions of the family, per contrast (Method). The JSON keeps the '
            'mapping names (`least_squares` = LSQ (NRP inputs), `best_linear`).', '',
            '| family | model | region | contrast | mean difference | 95% CI | t | p | Holm p | splits |',
            '|---|---|---|---|---|---|---|---|---|---|']
    for e in stats['mapping_differences']:
        title = _contrast_title(e['contrast'])
        if e.get('best_linear'):
            title += f" ({mappings.title(e['best_linear'])})"
        out.append(f"| {e['family']} | {e['model']} | {e['region']} | {title} | {_fmt(e['mean'], 4)} | "
                   f"{_ci(e['ci_low'], e['ci_high'])} | {_fmt(e['t'], 2)} | {_fmt(e['p'], 4)} | "
                   f"{_fmt(e.get('p_holm'), 4)} | {e['n_splits']} |")
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
    """``table.csv``: the :func:`columns` of every row, missing figures as empty cells.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`build_rows`.

    Returns
    -------
    str
    """
    buffer = io.StringIO()
    fieldnames = columns()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ('' if row.get(key) is None else row.get(key)) for key in fieldnames})
    return buffer.getvalue()


def provenance(records):
    """What produced the table: the distinct cache-key payloads' shared parts (code, versions, data)."""
    keys = [r.get('key') for r in records if isinstance(r.get('key'), dict)]
    shared = {}
    for field in ('code', 'versions', 'format'):
        values = ordered_unique(json.dumps(k.get(field), sort_keys=True) for k in keys)
        shared[field] = [json.loads(v) for v in values]
    shared['data'] = {r['benchmark']: r['key'].get('data') for r in records if isinstance(r.get('key'), dict)}
    shared['mixed'] = any(len(shared[field]) > 1 for field in ('code', 'versions'))
    return shared


def json_document(records, rows, stats, run_info=None, ranking=None):
    """The payload of ``table.json``.

    Parameters
    ----------
    records : list of dict
        The score records the rows were built from (:func:`nrp_plugin.app.compare.run_compare`).
    rows : list of dict
        Rows of :func:`build_rows`.
    stats : dict
        :func:`nrp_plugin.app.contrasts.statistics` of the rows.
    run_info : dict, optional
        The run's settings.
    ranking : dict, optional
        :func:`nrp_plugin.app.ranking.ranking` of the rows and records.

    Returns
    -------
    dict
        ``run``, ``provenance`` (:func:`provenance`), ``mappings`` (every registered mapping's ``name``, ``title``
        and whether it is ``linear``, in display order), ``rows``, ``models`` (per model :func:`model_summary` with
        its ``family`` and ``model``), ``stats``, ``ranking`` (when given) and ``scores`` (the records without
        ``cached``).
    """
    summary = model_summary(rows)
    document = {'run': run_info or {}, 'provenance': provenance(records),
                'mappings': [{'name': name, 'title': mapping.title, 'linear': bool(mapping.linear)}
                             for name, mapping in mappings.registered().items()],
                'rows': rows,
                'models': [{'family': f, 'model': m, **entry} for (f, m), entry in summary.items()],
                'stats': stats}
    if ranking is not None:
        document['ranking'] = ranking
    document['scores'] = [{k: v for k, v in r.items() if k != 'cached'} for r in records]
    return document
