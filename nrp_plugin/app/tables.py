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
from .contrasts import MAIN, MEASURES, best_linear, contrasts, mapping_figures
from ..inference.splits import ordered_unique
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


INTERVAL_LEGEND = ("95% interval: printed only by a method whose coverage was measured on worlds with a known answer "
                   "and found right (stats.md, Method, names each method and its coverage): from the kept held-out "
                   "predictions, the images and the sites resampled with the overlapping splits' part added as the "
                   "corrected resampled t's (Nadeau & Bengio 2003); without them, that t over the splits alone; – "
                   "where none may be printed.")
#: ``(measure, title)`` of the mapping x measure table's columns.
MEASURE_TITLES = (('mae', 'MAE'), ('r', 'r'), ('score_mae', 'ceiled MAE'), ('score_r', 'ceiled r²'))
#: The figures each mapping contrast gives a row (``<a>_minus_<b>_<field>``; ``t`` is in the JSON only).
CONTRAST_FIELDS = ('mae', 'ci_low', 'ci_high', 'p', 'p_holm')


def reference_names():
    """The registered mappings other than Brain-Score's PLS and the NRP: those the NRP benchmark reports beside
    the NRP."""
    return [name for name, mapping in mappings.registered().items()
            if name != MAIN and mapping.standard_benchmark is None]


def columns():
    """``table.csv``'s columns. ``*_ci_low``/``*_ci_high`` are the ends of 95% intervals (empty where none may be
    printed, stats.md); ``*_error`` and ``nrp_error_sem`` the SEMs over splits the benchmarks report (the splits
    taken as independent); ``*_p_holm`` the p-values Holm-corrected across the models and regions of one family and
    contrast."""
    base = ['family', 'model', 'region', 'pls_raw_r', 'pls_raw_r_ci_low', 'pls_raw_r_ci_high', 'pls_raw_r_error',
            'pls_score', 'pls_score_error', 'nrp_error', 'nrp_error_ci_low', 'nrp_error_ci_high', 'nrp_error_sem',
            'nrp_score', 'nrp_score_error', 'nrp_pearson']
    for name in reference_names():
        base += [f'{name}_r2', f'{name}_r2_error']
    base += ['mean_predictor_mae', 'noise_floor', 'internal_consistency']
    out = base + [f'{m}_{measure}' for m in mappings.names() for measure in MEASURES if f'{m}_{measure}' not in base]
    out += [f'{m}_mae_ci_{end}' for m in mappings.names() for end in ('low', 'high')]
    out += ['best_linear', 'best_linear_mae']
    out += [f'{a}_minus_{b}_{field}' for a, b in contrasts() for field in CONTRAST_FIELDS]
    return tuple(out + ['mean_nrp_error_v4_it', 'sparsity'])


def md_columns():
    """``(key, header, digits)`` of the main Markdown table's columns (an interval's key ends in ``_ci``)."""
    lsq = mappings.title('least_squares')
    out = [('model', 'model', 3), ('region', 'region', 3), ('pls_raw_r', 'PLS r', 3), ('pls_raw_r_ci', '95% interval', 3),
           ('pls_score', 'PLS score', 3), ('nrp_error', 'NRP-error', 3), ('nrp_error_ci', '95% interval', 4),
           ('nrp_score', 'NRP score', 3), ('nrp_pearson', 'NRP r', 3)]
    if 'least_squares' in mappings.names():
        out += [('least_squares_mae', f'{lsq} MAE', 3), ('least_squares_r2', f'{lsq} R²', 3),
                ('nrp_minus_least_squares_mae', f'NRP − {lsq} MAE', 3), ('nrp_minus_least_squares_ci', '95% interval', 4)]
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
        The keys of :func:`columns` but the intervals and the contrasts, which the statistics add
        (:func:`nrp_plugin.app.contrasts.statistics`, :func:`attach_contrasts`). ``*_error`` and ``nrp_error_sem``
        are the SEMs over splits the benchmarks report. ``best_linear`` is the linear mapping with the lowest mean MAE
        over the splits (:func:`nrp_plugin.app.contrasts.best_linear`), ``best_linear_mae`` that mean and
        ``split_best_linear_mae`` its per-split MAEs. What each reference mapping reports per split (e.g.
        ``banded_ridge_layer_weights``, ``kernel_ridge_bandwidth``) is kept as in the record ([] when not reported).
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
        figures = mapping_figures(pls, nrp, train_size)
        row = {'family': family, 'model': model, 'region': region,
               'pls_raw_r': pls.get('raw_r'), 'pls_raw_r_error': pls.get('raw_r_error'),
               'pls_score': pls.get('score'), 'pls_score_error': pls.get('score_error'),
               'nrp_error': nrp.get('nrp_error'), 'nrp_error_sem': nrp.get('nrp_error_sem'),
               'nrp_score': nrp.get('score'), 'nrp_score_error': nrp.get('score_error'),
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
                cells = [_ci(row.get(f'{key}_low'), row.get(f'{key}_high'), digits) if key.endswith('_ci')
                         else _fmt(row.get(key), digits) for key, _, digits in main_columns]
                out.append('| ' + ' | '.join(cells) + ' |')
        out.append('')
        out.append(f'{mapping_legend()} {INTERVAL_LEGEND} Mean NRP-error V4+IT: the quantity of the paper\'s Table 1 '
                   f'column, for this package\'s NRP.')
        out.append('')
        out.append(f'**{family}: mapping x measure** (MAE: lower is better; r: median over sites, mean over '
                   f'splits; ceiled MAE = (MAE_mean − MAE)/(MAE_mean − floor), unclipped; ceiled r² = '
                   f'r²/internal consistency; – = not reported; intervals of the MAEs: `<mapping>_mae_ci_low`, `_ci_high` in '
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


def _estimate(found, digits=3):
    """An estimate with its interval as text: ``0.812 [0.701, 0.884]``, the estimate alone (with why) when no
    interval may be printed, ``–`` when there is no estimate."""
    if not found or found.get('estimate') is None:
        return '–'
    text = _fmt(found['estimate'], digits)
    if found.get('low') is not None and found.get('high') is not None:
        return f"{text} {_ci(found['low'], found['high'], digits)}"
    return f"{text} (no interval: {found.get('note') or 'coverage not measured'})"


def _method(*found):
    methods = ordered_unique(f.get('method') for f in found if f and f.get('method'))
    return ', '.join(methods) or '–'


def ranking_markdown(ranking):
    """The ``stats.md`` section "Does the NRP rank models differently from PLS?".

    Parameters
    ----------
    ranking : dict
        :func:`nrp_plugin.app.ranking.ranking` of the rows.

    Returns
    -------
    list of str
        Its lines: the rank correlations and their difference with their intervals, the factorial analysis (when
        the records hold fits on the committed layer), the largest rank changes, every discordant pair with both
        Holm p-values and the verdict, and the method.
    """
    out = ['## Does the NRP rank models differently from PLS?', '',
           'Rank correlations between the models\' order by Brain-Score\'s standard (PLS r on the committed layer, '
           'higher is better) and by another mapping and measure (MAE: lower is better), oriented so that +1 is the '
           'same order and −1 the reversed one. Ridge MAE vs PLS r changes the measure and the mapping to a '
           'linear one; the difference of the two correlations is the part of the change that the NRP adds over a '
           'linear mapping on the same inputs. Each figure is followed by its 95% interval where its method\'s '
           'coverage was measured (Method).', '',
           '| family | region | orders | models | Spearman rho | Kendall tau | interval |', '|---|---|---|---|---|---|---|']
    for group in ranking['regions']:
        entries = list(group['correlations']) + ([group['difference']] if group.get('difference') else [])
        for entry in entries:
            out.append(f"| {group['family']} | {group['region']} | {entry['title']} | {entry['n_models']} | "
                       f"{_estimate(entry.get('spearman'))} | {_estimate(entry.get('kendall'))} | "
                       f"{_method(entry.get('spearman'), entry.get('kendall'))} |")
    factorial_lines = []
    for group in ranking['regions']:
        found = group.get('factorial')
        if not found or not found.get('cells'):
            continue
        factorial_lines += [f"**{group['family']} {group['region']}** ({len(found['models'])} models)", '',
                            '| mapping, measure, inputs | Spearman rho with the standard | Kendall tau |',
                            '|---|---|---|']
        for cell in found['cells']:
            factorial_lines.append(f"| {cell['name']} | {_estimate(cell['spearman'])} | {_estimate(cell['kendall'])} |")
        factorial_lines += ['', '| cell | factor switched to the standard\'s level | cell after the switch | '
                            'change in rho | change in tau |', '|---|---|---|---|---|']
        for switch in found['switches']:
            factorial_lines.append(f"| {switch['cell']} | {switch['factor']}: {switch['from']} → {switch['to_level']} "
                                   f"| {switch['to']} | {_estimate(switch['spearman'])} | "
                                   f"{_estimate(switch['kendall'])} |")
        factorial_lines.append('')
    if factorial_lines:
        out += ['', '### Which factor moves the ranking: mapping x measure x inputs', '',
                'Every mapping taken in r and in MAE, on the committed layer alone and on the NRP\'s window, each '
                'order\'s rank correlation with the standard; then each factor switched, one at a time, to the '
                'standard\'s level (the change: rank correlation before − after; an interval that excludes 0 says '
                'that factor moves the ranking).', ''] + factorial_lines
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
    out += ['', 'A: the model with the higher PLS r; B: the one with the lower NRP-error. Each difference A − B with '
            'its 95% interval and p; Holm p over the 2m tests of the family and region (Method below).', '',
            '| family | region | A (PLS prefers) | B (NRP prefers) | PLS r A − B | p | Holm p | NRP-error A − B | '
            'p | Holm p | interval | swaps significantly |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for group in ranking['regions']:
        for pair in group['discordant_pairs']:
            pls = {'estimate': pair['pls_difference'], 'low': pair['pls_ci_low'], 'high': pair['pls_ci_high']}
            nrp = {'estimate': pair['nrp_difference'], 'low': pair['nrp_ci_low'], 'high': pair['nrp_ci_high']}
            out.append(f"| {group['family']} | {group['region']} | {pair['model_a']} | {pair['model_b']} | "
                       f"{_estimate(pls, 4)} | {_fmt(pair['pls_p'], 4)} | {_fmt(pair['pls_p_holm'], 4)} | "
                       f"{_estimate(nrp, 4)} | {_fmt(pair['nrp_p'], 4)} | {_fmt(pair['nrp_p_holm'], 4)} | "
                       f"{_method({'method': pair.get('pls_method')}, {'method': pair.get('nrp_method')})} | "
                       f"{_verdict(pair['swaps'])} |")
    out += ['', '### Method: rank correlations and discordant pairs', '', ranking['method'], '',
            ranking['swap_method'], '']
    if any(group.get('factorial') for group in ranking['regions']):
        out += [ranking['factorial_method'], '']
    return out


def intervals_markdown(stats):
    """The method section's lines on which intervals are printed: per kind of quantity, each method's measured
    coverage (:func:`nrp_plugin.app.contrasts.interval_methods`)."""
    out = ['**Which intervals are printed.** A 95% interval (and its p-value) is printed only by a method whose '
           'coverage was measured on worlds with a known answer (`nrp-plugin calibrate`, docs/inference.md) and '
           'reached at least 93% (above 97%: printed, and called conservative); `factor` first, the corrected resampled t over the splits (`split_t`) where the records keep '
           'no held-out predictions.', '', '| quantity | method | printed | measured |', '|---|---|---|---|']
    for kind, methods in (stats.get('interval_methods') or {}).items():
        for method, entry in methods.items():
            out.append(f"| {kind} | {method} | {'yes' if entry['printed'] else 'no'} | {entry['words']} |")
    return out + ['']


def stats_markdown(stats, ranking=None):
    """``stats.md``: the method, whether the NRP ranks models differently from PLS (with ``ranking``,
    :func:`ranking_markdown`), the mapping contrasts and the model contrasts, each with the interval its measured
    coverage allows (:func:`intervals_markdown`).

    The mapping contrasts also show their Holm-corrected p-values (:func:`nrp_plugin.inference.splits.holm`), and
    the method section says how "best linear" is chosen and how the p-values are corrected.
    """
    out = ['## Method', '', stats.get('method', METHOD), ''] + intervals_markdown(stats) + [
        mapping_legend(), '', stats.get('best_linear_method') or best_linear_method(), '',
        stats.get('holm_method', HOLM_METHOD), '']
    if ranking is not None:
        out += ranking_markdown(ranking)
    out += ['## Mapping contrasts in MAE, per model and region (same splits)', '',
            'Negative: the first mapping predicts better. Best linear: the linear mapping named in brackets, '
            'the one with the lowest mean MAE over the splits for that model and region (Method). Holm p: the p '
            'corrected across the models and regions of the family, per contrast (Method). The JSON keeps the '
            'mapping names (`least_squares` = LSQ (NRP inputs), `best_linear`).', '',
            '| family | model | region | contrast | difference | 95% interval | p | Holm p | interval |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['mapping_differences']:
        title = _contrast_title(e['contrast'])
        if e.get('best_linear'):
            title += f" ({mappings.title(e['best_linear'])})"
        out.append(f"| {e['family']} | {e['model']} | {e['region']} | {title} | {_fmt(e['mean'], 4)} | "
                   f"{_ci(e['ci_low'], e['ci_high'])} | {_fmt(e['p'], 4)} | {_fmt(e.get('p_holm'), 4)} | "
                   f"{e.get('method') or '–'} |")
    out += ['', '## Model contrasts, per region (same splits)', '',
            'Measure "<mapping> MAE": model A − model B MAE (negative: A better); "PLS r": A − B median r '
            '(positive: A better).', '',
            '| family | region | model A | model B | measure | difference | 95% interval | p | interval |',
            '|---|---|---|---|---|---|---|---|---|']
    for e in stats['model_differences']:
        out.append(f"| {e['family']} | {e['region']} | {e['model_a']} | {e['model_b']} | "
                   f"{_measure_title(e['measure'])} | {_fmt(e['mean'], 4)} | {_ci(e['ci_low'], e['ci_high'])} | "
                   f"{_fmt(e['p'], 4)} | {e.get('method') or '–'} |")
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
        ``cached`` and ``heldout_path``).
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
    # where this run read a score from and where its held-out predictions lie are not results: two runs of the same
    # scores write the same document (``heldout`` keeps the predictions' file name, relative to the result cache)
    document['scores'] = [{k: v for k, v in r.items() if k not in ('cached', 'heldout_path')} for r in records]
    return document
