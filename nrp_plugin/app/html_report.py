"""The interactive report of a comparison run: ``report.html``, one self-contained file built from ``table.json``.

:func:`build_html` turns the document of ``table.json`` (:func:`nrp_plugin.app.tables.json_document`) into one HTML
page that opens offline from disk: plotly's bundled JavaScript (:func:`plotly.offline.get_plotlyjs`), this module's
script and style (``report_assets/``) and the data are all inlined, and nothing is requested from any host when the
page is viewed. The page shows the comparison table (sortable, filterable by model, region, family and mapping, with
the 95% intervals), NRP-error against PLS r, the rank-change charts, the ranking analysis, a drill-down per model
(per-site errors, layers, failures) and the run's provenance. :func:`write_html` rebuilds ``report.html`` of a
folder from its ``table.json``; :func:`nrp_plugin.app.report.write_report` writes it with the other files.

The page's data are shaped here, once (:func:`report_data`): the mappings and their titles come from
``document['mappings']`` when the document has them, else from the mapping registry (:mod:`nrp_plugin.mappings`);
the ranking analysis is read generically by :func:`ranking_view`; a key
a document lacks (a record from before it was kept) is shown as '–'.
"""
import html
import json
import math
from pathlib import Path

import numpy as np

from ..storage.cache import atomic_write_text
from .. import mappings as registry
from ..inference.splits import ordered_unique
from .tables import INTERVAL_LEGEND, contrast_titles, mapping_legend

#: The file :func:`write_html` writes, beside ``table.json``.
REPORT_NAME = 'report.html'
TABLE_NAME = 'table.json'
ASSETS = Path(__file__).resolve().parent / 'report_assets'
#: Digits kept of every number the page shows or plots (the tables show 3 or 4).
DIGITS = 6
#: ``(suffix, title, group)`` of each mapping's columns in the comparison table; ``mae`` also has its interval.
MAPPING_MEASURES = (('mae', 'MAE', 'MAE'), ('r', 'r', 'r'), ('score_mae', 'ceiled MAE', 'ceiled'),
                    ('score_r', 'ceiled r²', 'ceiled'))
#: The column groups shown when the page opens (the others are one click away).
SHOWN_GROUPS = ('scores', 'MAE', 'contrasts')


class ReportError(ValueError):
    """A folder without a readable comparison table (the message names the file and the fix)."""


def mappings(document):
    """The mappings of a document in display order, each ``{'name', 'title', 'linear'}``.

    ``document['mappings']`` when present; else the registered mappings (:func:`nrp_plugin.mappings.registered`).
    """
    given = [m for m in document.get('mappings') or [] if isinstance(m, dict) and m.get('name')]
    if given:
        return [{'name': m['name'], 'title': m.get('title') or m['name'], 'linear': bool(m.get('linear'))}
                for m in given]
    return [{'name': name, 'title': mapping.title, 'linear': bool(mapping.linear)}
            for name, mapping in registry.registered().items()]


def contrasts(rows, names):
    """The mapping contrasts ``(a, b)`` whose ``<a>_minus_<b>_mae`` the rows hold, in the rows' key order.

    ``a`` and ``b`` are mapping names of ``names`` or ``best_linear``.
    """
    sides = sorted(list(names) + ['best_linear'], key=len, reverse=True)
    found = []
    for key in ordered_unique(key for row in rows for key in row):
        if not key.endswith('_mae') or '_minus_' not in key:
            continue
        body = key[:-len('_mae')]
        for a in sides:
            b = body[len(a) + len('_minus_'):]
            if body.startswith(f'{a}_minus_') and b in sides:
                found.append((a, b))
                break
    return found


def _clean(value):
    """``value`` with every float rounded to :data:`DIGITS` significant digits and NaN or infinity as None (JSON
    has neither)."""
    if isinstance(value, float):
        return float(f'{value:.{DIGITS}g}') if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def columns(mapping_list, contrast_list):
    """The comparison table's columns, each ``{'key', 'title', 'group', 'kind'}`` and, where it has one, its
    interval (``ci``: the half-width's key; ``low``/``high``: the interval's ends' keys), ``p`` (a Holm p-value's
    key) and ``mappings`` (the mapping names it shows, for the mapping filter)."""
    cols = [{'key': 'model', 'title': 'model', 'group': 'id', 'kind': 'model'},
            {'key': 'region', 'title': 'region', 'group': 'id', 'kind': 'text'},
            {'key': 'family', 'title': 'family', 'group': 'id', 'kind': 'text'},
            {'key': 'pls_raw_r', 'title': 'PLS r', 'group': 'scores', 'kind': 'num', 'low': 'pls_raw_r_ci_low',
             'high': 'pls_raw_r_ci_high'},
            {'key': 'nrp_error', 'title': 'NRP-error', 'group': 'scores', 'kind': 'num', 'low': 'nrp_error_ci_low',
             'high': 'nrp_error_ci_high'},
            {'key': 'pls_score', 'title': 'PLS score', 'group': 'scores', 'kind': 'num'},
            {'key': 'nrp_score', 'title': 'NRP score', 'group': 'scores', 'kind': 'num'},
            {'key': 'best_linear_title', 'title': 'best linear', 'group': 'scores', 'kind': 'text'}]
    for suffix, title, group in MAPPING_MEASURES:
        for m in mapping_list:
            col = {'key': f"{m['name']}_{suffix}", 'title': f"{m['title']} {title}", 'group': group, 'kind': 'num',
                   'mappings': [m['name']]}
            if suffix == 'mae':
                col['low'], col['high'] = f"{m['name']}_mae_ci_low", f"{m['name']}_mae_ci_high"
            cols.append(col)
    titles = dict(contrast_titles(), **{m['name']: m['title'] for m in mapping_list})
    for a, b in contrast_list:
        key = f'{a}_minus_{b}'
        cols.append({'key': f'{key}_mae', 'title': f'{titles.get(a, a)} − {titles.get(b, b)} MAE',
                     'group': 'contrasts', 'kind': 'num', 'low': f'{key}_ci_low', 'high': f'{key}_ci_high',
                     'p': f'{key}_p_holm', 'mappings': [m for m in (a, b) if m != 'best_linear']})
    return cols


def _row_view(row, cols, titles):
    """The keys of ``row`` the columns read (missing keys as None) and the best linear mapping's title."""
    keys = ordered_unique(key for col in cols for key in (col['key'], col.get('ci'), col.get('low'), col.get('high'),
                                                           col.get('p')) if key)
    view = {key: row.get(key) for key in keys}
    best = row.get('best_linear')
    view['best_linear_title'] = titles.get(best, best) if best else None
    return view


def _interval(value):
    return list(value) if isinstance(value, (list, tuple)) and len(value) == 2 else None


def ranking_view(ranking):
    """The ranking analysis as the page shows it: the one place that reads the shape of
    :func:`nrp_plugin.app.ranking.ranking`.

    Every entry of a group's ``correlations``, its ``difference`` and its factorial cells becomes ``{'title', 'n',
    'estimates', 'detail', 'note'}``, with one estimate ``{'name', 'value', 'interval'}`` per key whose value is an
    estimate (a dict with ``estimate``, and ``low`` and ``high`` where an interval may be printed); each discordant
    pair keeps its models and, per measure ``m`` with a ``m_difference``, the difference, its interval, p and Holm p.

    Parameters
    ----------
    ranking : dict or None
        ``document['ranking']``.

    Returns
    -------
    dict
        ``groups`` (per family and region: ``family``, ``region``, ``ranks``, ``movers``, ``entries``,
        ``measures`` (``[name, title]`` of the pairs' measures), ``pairs``, ``n_pairs``, ``n_discordant``,
        ``n_swaps``) and ``method`` (the method paragraphs).
    """
    if not isinstance(ranking, dict):
        return {'groups': [], 'method': []}
    groups = []
    for group in ranking.get('regions') or []:
        entries = []
        factorial = group.get('factorial') or {}
        listed = list(group.get('correlations') or []) + ([group['difference']] if group.get('difference') else [])
        listed += [dict(cell, title=f"{cell.get('name')} vs the standard") for cell in factorial.get('cells') or []]
        for entry in listed:
            estimates, notes, words = [], [], []
            for kind, found in entry.items():
                if not isinstance(found, dict) or 'estimate' not in found:
                    continue
                low, high = found.get('low'), found.get('high')
                estimates.append({'name': kind, 'value': found.get('estimate'),
                                  'interval': [low, high] if low is not None and high is not None else None})
                if found.get('note'):
                    notes.append(f"{kind}: {found['note']}")
                if found.get('coverage'):
                    words.append(f"{kind}: {found['method']}, {found['coverage']}")
            entries.append({'title': entry.get('title') or entry.get('comparison'), 'n': entry.get('n_models'),
                            'estimates': estimates, 'detail': '; '.join(words) or None,
                            'note': '; '.join(notes) or entry.get('note')})
        pairs = group.get('discordant_pairs') or []
        names = ordered_unique(key[:-len('_difference')] for pair in pairs for key in pair
                               if key.endswith('_difference'))
        measures = [[name, PAIR_MEASURES.get(name, name)] for name in names]
        flat = []
        for pair in pairs:
            item = {'model_a': pair.get('model_a'), 'model_b': pair.get('model_b'), 'swaps': pair.get('swaps'),
                    'n_splits': pair.get('n_splits')}
            for name in names:
                for field in ('difference', 'ci_low', 'ci_high', 'p', 'p_holm'):
                    item[f'{name}_{field}'] = pair.get(f'{name}_{field}')
            flat.append(item)
        groups.append({'family': group.get('family'), 'region': group.get('region'),
                       'ranks': group.get('ranks') or [], 'movers': group.get('movers') or [], 'entries': entries,
                       'measures': measures, 'pairs': flat, 'n_pairs': group.get('n_pairs'),
                       'n_discordant': group.get('n_discordant'), 'n_swaps': group.get('n_swaps')})
    method = [text for text in (ranking.get('method'), ranking.get('swap_method'), ranking.get('factorial_method'))
              if text]
    return {'groups': groups, 'method': method}


#: The measures the discordant pairs are tested in, by their key
PAIR_MEASURES = {'pls': 'PLS r', 'nrp': 'NRP-error'}


def _site_means(values):
    """Per site, the mean over splits of a split x site list (None when there is none)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.ndim != 2 or array.size == 0:
        return None
    with np.errstate(all='ignore'):
        means = np.nanmean(np.where(np.isfinite(array), array, np.nan), axis=0)
    return [None if not math.isfinite(v) else v for v in means.tolist()]


def model_details(scores, mapping_list):
    """Per model, what its records say beyond the table: per family and region the layers (``layer``,
    ``nrp_layers``, ``layer_choice``) and the per-site values, mean over splits.

    Returns
    -------
    dict
        ``{model: [{'family', 'region', 'layer', 'nrp_layers', 'layer_choice', 'site_ids', 'site_mae'
        ({mapping name: per-site MAE}), 'site_pls_r', 'config'}]}``, a record's missing keys as None.
    """
    details = {}
    for record in scores:
        if record.get('kind') == 'failed' or 'model' not in record:
            continue
        entries = details.setdefault(record['model'], [])
        entry = next((e for e in entries if (e['family'], e['region']) == (record.get('family'), record.get('region'))),
                     None)
        if entry is None:
            entry = {'family': record.get('family'), 'region': record.get('region'), 'layer': None,
                     'nrp_layers': None, 'layer_choice': None, 'site_ids': None, 'site_mae': {},
                     'site_pls_r': None, 'config': None}
            entries.append(entry)
        for key in ('layer', 'nrp_layers', 'layer_choice'):
            if record.get(key) and not entry[key]:
                entry[key] = record[key]
        if record.get('kind') == 'nrp' and record.get('config') is not None:
            entry['config'] = record['config']
        if record.get('site_neuroid_id') and not entry['site_ids']:
            entry['site_ids'] = [str(site) for site in record['site_neuroid_id']]
        for m in mapping_list:
            means = _site_means(record.get(f"site_{m['name']}_mae") or [])
            if means is not None:
                entry['site_mae'][m['name']] = means
        if record.get('site_pls_r'):
            entry['site_pls_r'] = _site_means(record['site_pls_r'])
    return details


def _devices(scores):
    """The devices the scores were computed on, as their cache keys record them."""
    found = []
    for record in scores:
        metric = (record.get('key') or {}).get('metric') if isinstance(record.get('key'), dict) else None
        device = metric.get('resolved_device') if isinstance(metric, dict) else None
        if device:
            found.append(device)
    return ordered_unique(found)


def report_data(document):
    """Everything the page shows, from the document of ``table.json``: JSON-able, floats rounded (:func:`_clean`).

    Parameters
    ----------
    document : dict
        :func:`nrp_plugin.app.tables.json_document` with ``failed``.

    Returns
    -------
    dict
        ``mappings``, ``mapping_measures``, ``columns`` (:func:`columns`), ``shown_groups``, ``legend``, ``rows``
        (the columns' keys per row),
        ``models`` (every model, scored or failed, in order), ``failed``, ``ranking`` (:func:`ranking_view`),
        ``details`` (:func:`model_details`), ``run``, ``provenance`` and ``devices``.
    """
    rows = [row for row in document.get('rows') or [] if isinstance(row, dict)]
    mapping_list = mappings(document)
    titles = {m['name']: m['title'] for m in mapping_list}
    cols = columns(mapping_list, contrasts(rows, titles))
    failed = [{'model': f.get('model'), 'reason': f.get('reason')} for f in document.get('failed') or []]
    scores = [record for record in document.get('scores') or [] if isinstance(record, dict)]
    models = ordered_unique([row.get('model') for row in rows] + [f['model'] for f in failed])
    data = {'mappings': mapping_list, 'mapping_measures': [[suffix, title] for suffix, title, _ in MAPPING_MEASURES],
            'columns': cols, 'shown_groups': list(SHOWN_GROUPS), 'legend': f'{mapping_legend()} {INTERVAL_LEGEND}',
            'rows': [_row_view(row, cols, titles) for row in rows], 'models': models,
            'families': ordered_unique(row.get('family') for row in rows),
            'regions': ordered_unique(row.get('region') for row in rows),
            'failed': failed, 'ranking': ranking_view(document.get('ranking')),
            'details': model_details(scores, mapping_list), 'run': document.get('run') or {},
            'provenance': document.get('provenance') or {}, 'devices': _devices(scores)}
    return _clean(data)


def _title(data):
    n = len(data['models'])
    return f"nrp-plugin compare: {n} model{'s' if n != 1 else ''}, {', '.join(map(str, data['families'])) or '–'}"


def _asset(name):
    return (ASSETS / name).read_text(encoding='utf-8')


def _script_json(data):
    """``data`` as JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(',', ':'), allow_nan=False)
    return text.replace('<', '\\u003c').replace('\u2028', '\\u2028').replace('\u2029', '\\u2029')


def build_html(document):
    """The page of a comparison: one self-contained HTML text (plotly, script, style and data inlined).

    Parameters
    ----------
    document : dict
        The document of ``table.json`` (:func:`nrp_plugin.app.tables.json_document` with ``failed``).

    Returns
    -------
    str
        The same text for the same document: nothing in it depends on when or where it is built.

    Raises
    ------
    ReportError
        When plotly is not installed.
    """
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as error:
        raise ReportError(f'the report needs plotly ({error}): `pip install plotly`, or reinstall '
                          f'nrp_plugin') from error
    data = report_data(document)
    title = html.escape(_title(data))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{title}</title>\n<style>\n{_asset("report.css")}</style>\n</head>\n<body>\n'
            f'{_asset("report_body.html").replace("{{title}}", title)}'
            f'<script type="application/json" id="report-data">{_script_json(data)}</script>\n'
            f'<script>{get_plotlyjs()}</script>\n<script>\n{_asset("report.js")}</script>\n</body>\n</html>\n')


def read_document(out_dir):
    """The document of ``out_dir/table.json``.

    Raises
    ------
    ReportError
        When the file is missing or unreadable, is not JSON, or holds no comparison table (no ``rows``).
    """
    path = Path(out_dir) / TABLE_NAME
    if not path.is_file():
        raise ReportError(f'{path} not found: give the --out folder of a finished `nrp-plugin compare` run')
    try:
        document = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f'cannot read {path} ({error}): check its permissions, or rerun `nrp-plugin compare`')
    except json.JSONDecodeError as error:
        raise ReportError(f'{path} is not valid JSON ({error}): rerun `nrp-plugin compare` to write it again')
    if not isinstance(document, dict) or not isinstance(document.get('rows'), list):
        raise ReportError(f'{path} holds no comparison table (no "rows"): give the --out folder of a '
                          f'`nrp-plugin compare` run')
    return document


def write_html(out_dir, document=None):
    """Write ``out_dir/report.html`` atomically from ``document`` (default: ``out_dir/table.json``).

    Returns
    -------
    pathlib.Path
        The report's path.

    Raises
    ------
    ReportError
        When ``document`` is not given and ``out_dir`` has no readable ``table.json`` (:func:`read_document`).
    """
    document = read_document(out_dir) if document is None else document
    path = Path(out_dir) / REPORT_NAME
    atomic_write_text(path, build_html(document))
    return path
