"""The report of a comparison run (:func:`nrp_plugin.app.compare.run_compare`): its files, written atomically.

:func:`write_report` writes ``table.md``, ``table.csv``, ``table.json``, ``stats.md``, ``report.html`` (the
interactive page of :mod:`nrp_plugin.app.html_report`) and the PNG plots (with
``<family>_<region>_rank_change.png`` and the ranking analysis of :func:`nrp_plugin.app.ranking.ranking`).
The rows and texts come from :mod:`nrp_plugin.app.tables`, the statistics from
:mod:`nrp_plugin.app.contrasts` and :mod:`nrp_plugin.app.ranking`, the figures from :mod:`nrp_plugin.app.plots`; every statistic is
documented, with its formula and reference, in docs/compare.md.

Every file is written atomically (:func:`nrp_plugin.storage.cache.atomic_path`): after a failure or an
interrupt a table is either the previous complete one or absent, never half written.
"""
import json
from collections import namedtuple

from ..storage.cache import atomic_path, atomic_write_text
from .contrasts import statistics
from .html_report import REPORT_NAME, build_html
from .panels import group_panels
from .plots import figures
from .ranking import ranking as rank_analysis
from .tables import attach_contrasts, build_rows, csv_text, json_document, markdown_table, stats_markdown

#: What :func:`write_report` wrote: the rows, the statistics, the texts of ``table.md`` (without its final newline)
#: and ``stats.md``, and the plots' paths.
Written = namedtuple('Written', 'rows stats table_markdown stats_markdown plots')


def _save(fig, path):
    """Write ``fig`` to ``path`` as a PNG, atomically, and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=120, bbox_inches='tight')
    import matplotlib.pyplot as plt
    plt.close(fig)


def plot_all(rows, out, ranking=None):
    """Write the PNG plots (:func:`nrp_plugin.app.plots.figures`) into ``out``.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows`.
    out : pathlib.Path
        An existing folder.
    ranking : dict, optional
        :func:`nrp_plugin.app.ranking.ranking` of the rows, for the rank-change figures.

    Returns
    -------
    list of pathlib.Path
        The plots' paths, in the order they were drawn.
    """
    paths = []
    for name, fig in figures(rows, ranking):
        paths.append(out / name)
        _save(fig, paths[-1])
    return paths


def failed_markdown(failed):
    """The table.md section listing the models that could not be scored and why ('' when none)."""
    if not failed:
        return ''
    lines = ['', '', '**Models that could not be scored**', '', '| model | why |', '|---|---|']
    lines += [f"| {record['model']} | {record['reason'].replace('|', '/')} |" for record in failed]
    return '\n'.join(lines)


def tabulate(records, panels=None):
    """The rows of the tables with their intervals and the mapping contrasts, and the statistics they come from.

    Parameters
    ----------
    records : list of dict
        Score records (failure records left out).
    panels : dict, optional
        :func:`nrp_plugin.app.panels.group_panels` of the records (made here when not given).

    Returns
    -------
    rows : list of dict
        :func:`nrp_plugin.app.tables.build_rows` with the intervals and
        :func:`nrp_plugin.app.tables.attach_contrasts`.
    stats : dict
        :func:`nrp_plugin.app.contrasts.statistics` of the rows.
    """
    rows = build_rows(records)
    stats = statistics(rows, group_panels(records) if panels is None else panels)
    return attach_contrasts(rows, stats['mapping_differences']), stats


def write_report(records, out, run_info=None, plots=True):
    """Write ``table.csv``, ``table.md``, ``table.json``, ``stats.md``, ``report.html`` and the plots into ``out``.

    ``report.html`` is the interactive page of :func:`nrp_plugin.app.html_report.build_html`, built from the text
    written to ``table.json`` (so ``nrp-plugin report`` rebuilds the same page from that file).

    ``stats.md`` and ``table.json`` (``ranking``) also say whether the NRP ranks the models differently from PLS
    (:func:`nrp_plugin.app.ranking.ranking` of the rows and records), and a rank-change plot per family and
    region shows it.

    Parameters
    ----------
    records : list of dict
        Score records (:func:`nrp_plugin.app.compare.run_compare`); failure records (``kind='failed'``) are listed
        in ``table.md`` and ``table.json`` (``failed``) with why.
    out : pathlib.Path
        The folder to write into.
    run_info : dict, optional
        The run's settings, kept in ``table.json``.
    plots : bool
        False: the tables only.

    Returns
    -------
    Written
    """
    failed = [record for record in records if record.get('kind') == 'failed']
    records = [record for record in records if record.get('kind') != 'failed']
    panels = group_panels(records)
    rows, stats = tabulate(records, panels)
    ranking = rank_analysis(rows, panels)
    table_md = markdown_table(rows) + failed_markdown(failed)
    stats_md = stats_markdown(stats, ranking)
    document = json_document(records, rows, stats, run_info, ranking)
    document['failed'] = [{'model': record['model'], 'reason': record['reason']} for record in failed]
    text = json.dumps(document, indent=1)
    atomic_write_text(out / 'table.json', text)
    atomic_write_text(out / 'table.csv', csv_text(rows))
    atomic_write_text(out / 'table.md', table_md + '\n')
    atomic_write_text(out / 'stats.md', stats_md)
    atomic_write_text(out / REPORT_NAME, build_html(json.loads(text)))  # as `nrp-plugin report` rebuilds it
    paths = plot_all(rows, out, ranking) if plots else []
    return Written(rows, stats, table_md, stats_md, paths)
