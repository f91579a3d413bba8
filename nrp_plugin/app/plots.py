"""The figures of a comparison run, drawn with matplotlib (Agg backend) from the rows of
:func:`nrp_plugin.app.tables.build_rows`.

Every error bar is a 95% interval the statistics printed (``*_ci_low``, ``*_ci_high``:
:func:`nrp_plugin.app.contrasts.score_intervals`, of the images, the sites and the splits, printed where its coverage
was measured and found right); a point or bar without one has no error bar. Each figure's caption says so, and a figure
that shows least squares on the NRP inputs says what it is (:func:`nrp_plugin.app.tables.mapping_legend`).
Nothing here writes a file: :func:`figures` hands over each figure with its file name, and
:func:`nrp_plugin.app.report.plot_all` saves and closes it.
"""
import textwrap

import numpy as np

from .. import mappings
from ..inference.splits import ordered_unique
from .ranking import ranking as rank_analysis
from .tables import mapping_legend

#: Plot captions: what the error bars are.
ERROR_BAR_CAPTION = ('Error bars: 95% intervals, printed only by a method whose coverage was measured and found '
                     'right (stats.md, Method): the sites and the test images resampled with the overlapping splits\' '
                     'part of the corrected resampled t added, or that t over the splits alone where no held-out '
                     'predictions were kept; none where neither may be printed.')
NRP_ERROR_LABEL = "NRP-error (MAE of the NRP's test predictions)"


def _caption(fig, text, y=None, va='top'):
    """A caption of ``text`` wrapped to the figure's width, at height ``y`` (figure coordinates) or, by
    default, under everything already drawn (tick labels included; kept in the PNG by
    ``bbox_inches='tight'``)."""
    if y is None:
        bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
        y, va = bottom - 0.02, 'top'
    fig.text(0.5, y, textwrap.fill(text, max(40, int(17 * fig.get_figwidth()))), ha='center', va=va, fontsize=7)


def _bar_error(value, low, high):
    """An asymmetric error bar ``(below, above)`` for matplotlib: NaN (no bar) when the value or its interval is
    unknown, never a false 0."""
    if value is None or low is None or high is None:
        return np.nan, np.nan
    return value - low, high - value


def _bars(rows, key):
    """matplotlib's ``yerr`` (2, n) of the rows' ``key`` from its ``_ci_low`` and ``_ci_high``."""
    return np.asarray([_bar_error(row.get(key), row.get(f'{key}_ci_low'), row.get(f'{key}_ci_high'))
                       for row in rows], dtype=float).T.reshape(2, -1)


def figures(rows, ranking=None):
    """The comparison's figures, one family of benchmarks after another.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows`.
    ranking : dict, optional
        :func:`nrp_plugin.app.ranking.ranking` of the rows, for the rank-change figures' captions (the rank
        correlations with their intervals); computed here without intervals when not given.

    Yields
    ------
    name : str
        The PNG's file name, ``<family>_<figure>.png``.
    figure : matplotlib.figure.Figure
        The figure, drawn and captioned. The consumer saves and closes it before the next one is drawn.

    Notes
    -----
    Per family: NRP-error against PLS score per region, V4 vs IT NRP-error per model, least squares on the
    NRP inputs vs the NRP in test MAE, NRP-error against sparsity, one line per plot family and region
    (:func:`sparsity_groups`; only when one of them has two sparsities or more), the mapping x measure
    panels (:func:`mapping_measure_figure`), per region the rank-change figure
    (:func:`rank_change_figure`, ``<family>_<region>_rank_change.png``; only with 3 models or more scored under
    both) and, where the run fitted every mapping on both inputs (``compare --factorial``), the factorial figure
    (:func:`factorial_figure`, ``<family>_<region>_factorial.png``).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if ranking is None:
        ranking = rank_analysis(rows, resamples=0)
    by_region = {(group['family'], group['region']): group for group in ranking['regions']}
    for family in ordered_unique(r['family'] for r in rows):
        family_rows = [r for r in rows if r['family'] == family]
        regions = ordered_unique(r['region'] for r in family_rows)
        models = ordered_unique(r['model'] for r in family_rows)
        get = {(r['model'], r['region']): r for r in family_rows}

        fig, axes = plt.subplots(1, len(regions), figsize=(5 * len(regions), 4), squeeze=False)
        for ax, region in zip(axes[0], regions):
            for index, model in enumerate(models):  # one colour per model in every panel
                row = get.get((model, region))
                if row and row['pls_score'] is not None and row['nrp_error'] is not None:
                    ax.errorbar(row['pls_score'], row['nrp_error'], yerr=_bars([row], 'nrp_error'), fmt='o',
                                color=f'C{index % 10}', label=model, capsize=2)
            ax.set_xlabel('PLS score (ceiled r², higher is better)')
            ax.set_ylabel(f'{NRP_ERROR_LABEL},\nlower is better; 95% interval', fontsize=8)
            ax.set_title(f'{family} {region}')
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:  # labels beside the points overlap when models score alike: one legend below
            fig.legend(handles, labels, loc='lower center', bbox_to_anchor=(0.5, 0.08), ncol=min(len(labels), 4),
                       fontsize=7, frameon=False)
        fig.subplots_adjust(bottom=0.3)
        _caption(fig, ERROR_BAR_CAPTION + ' The ceiled scores have no interval: their ceilings are estimates whose '
                 'uncertainty the intervals do not hold.', y=0.0, va='bottom')
        yield f'{family}_nrp_error_vs_pls_score.png', fig

        x = np.arange(len(models))
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(models)), 4))
        width = 0.8 / max(1, len(regions))
        for i, region in enumerate(regions):
            values = [get.get((m, region), {}).get('nrp_error') for m in models]
            ax.bar(x + i * width, [v if v is not None else np.nan for v in values], width,
                   yerr=_bars([get.get((m, region), {}) for m in models], 'nrp_error'), capsize=2, label=region)
        ax.set_xticks(x + width * (len(regions) - 1) / 2, models, rotation=30, ha='right', fontsize=8)
        ax.set_ylabel(f'{NRP_ERROR_LABEL}\n95% interval', fontsize=8)
        ax.set_title(f'{family}: V4 vs IT NRP-error')
        ax.legend()
        _caption(fig, ERROR_BAR_CAPTION)
        yield f'{family}_v4_vs_it_nrp_error.png', fig

        labels = [f'{r["model"]} {r["region"]}' for r in family_rows]
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 4))
        for offset, key, label in ((-0.2, 'least_squares_mae', mappings.title('least_squares')),
                                   (0.2, 'nrp_error', 'NRP')):
            ax.bar(x + offset, [r.get(key) if r.get(key) is not None else np.nan for r in family_rows], 0.4,
                   yerr=_bars(family_rows, key), capsize=2, label=label)
        ax.set_xticks(x, labels, rotation=40, ha='right', fontsize=7)
        ax.set_ylabel('test MAE, 95% interval')
        ax.set_title(f'{family}: least squares on the NRP inputs vs NRP, test MAE', fontsize=10)
        ax.legend(loc='lower right')
        _caption(fig, f"{ERROR_BAR_CAPTION} LSQ (NRP inputs): least squares with an intercept on the NRP's "
                 "prepared inputs (per-layer principal components chosen on each split's training stimuli), not "
                 "on the layers' activations as the paper's linear baseline was.")
        yield f'{family}_least_squares_vs_nrp_mae.png', fig

        by_sparsity = sparsity_groups(family_rows)
        if any(len({point[0] for point in points}) >= 2 for points in by_sparsity.values()):
            fig, ax = plt.subplots(figsize=(5, 4))
            for (plot_family, region), points in sorted(by_sparsity.items()):
                s, e, below, above = np.array(points).T
                ax.errorbar(100 * s, e, yerr=np.stack([below, above]), marker='o', capsize=2,
                            label=f'{plot_family} {region}')
            ax.set_xlabel('sparsity (% of weights zero)')
            ax.set_ylabel(f'{NRP_ERROR_LABEL}\n± 95% CI', fontsize=8)
            ax.set_title(f"{family}: pruned {', '.join(sorted({name for name, _ in by_sparsity}))}")
            ax.legend(fontsize=7)
            _caption(fig, ERROR_BAR_CAPTION)
            yield f'{family}_nrp_error_vs_sparsity.png', fig
        yield f'{family}_mapping_x_measure.png', mapping_measure_figure(family_rows, regions, models, family)
        for region in regions:
            group = by_region.get((family, region))
            if group is not None and len(group['ranks']) >= 3:
                yield f'{family}_{region}_rank_change.png', rank_change_figure(group)
            if group is not None and (group.get('factorial') or {}).get('cells'):
                yield f'{family}_{region}_factorial.png', factorial_figure(group)


def sparsity_groups(rows):
    """The points of the sparsity plot: NRP-error against sparsity per plot family and region.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`nrp_plugin.app.tables.build_rows`; a row is drawn when its ``plot_family`` (what the
        model's metadata says it is drawn with), ``sparsity`` and ``nrp_error`` are all known.

    Returns
    -------
    dict
        ``{(plot_family, region): [(sparsity, nrp_error, below, above), ...]}``, each list sorted; ``below`` and
        ``above`` (the error bar) are NaN where no interval is printed.
    """
    groups = {}
    for row in rows:
        if row.get('plot_family') is not None and row['sparsity'] is not None and row['nrp_error'] is not None:
            below, above = _bar_error(row['nrp_error'], row.get('nrp_error_ci_low'), row.get('nrp_error_ci_high'))
            groups.setdefault((row['plot_family'], row['region']), []).append(
                (row['sparsity'], row['nrp_error'], below, above))
    return {key: sorted(points) for key, points in groups.items()}


def mapping_measure_figure(family_rows, regions, models, family):
    """The mapping x measure panels of one family of benchmarks.

    One row of panels per region, one column per measure (ceiled MAE, ceiled r²): grouped bars per model,
    one bar per registered mapping (:func:`nrp_plugin.mappings.names`: PLS, ridge, banded ridge, least squares
    on the NRP inputs, RBF kernel ridge, NRP); a mapping the run did not report (e.g. records from before the
    banded and kernel ridge were reported) is marked 'n/a', not drawn as 0. The bars carry
    no intervals (table.csv's ``<mapping>_mae_ci_low``, ``_ci_high`` have them); the caption says what each mapping
    is.

    Parameters
    ----------
    family_rows : list of dict
        The family's rows (:func:`nrp_plugin.app.tables.build_rows`).
    regions, models : list of str
        The regions (rows of panels) and models (bar groups), in order.
    family : str
        The benchmark family, for the titles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    get = {(r['model'], r['region']): r for r in family_rows}
    measures = (('score_mae', 'ceiled MAE score\n(MAE_mean − MAE)/(MAE_mean − floor)'),
                ('score_r', 'ceiled r score\nr² / internal consistency'))
    fig, axes = plt.subplots(len(regions), len(measures), figsize=(6 * len(measures), 3.2 * len(regions)),
                             squeeze=False)
    x = np.arange(len(models))
    names = mappings.names()
    width = 0.8 / len(names)
    for i, region in enumerate(regions):
        for j, (measure, label) in enumerate(measures):
            ax = axes[i][j]
            for k, mapping in enumerate(names):
                values = [get.get((m, region), {}).get(f'{mapping}_{measure}') for m in models]
                positions = x + (k - (len(names) - 1) / 2) * width
                ax.bar(positions, [v if v is not None else np.nan for v in values], width, color=f'C{k}',
                       label=mappings.title(mapping))
                for position, value in zip(positions, values):
                    if value is None:
                        ax.text(position, 0, 'n/a', rotation=90, ha='center', va='bottom', fontsize=6,
                                color=f'C{k}')
            ax.axhline(0, color='black', linewidth=0.5)
            ax.set_xticks(x, models, rotation=25, ha='right', fontsize=7)
            ax.set_ylabel(label, fontsize=8)
            ax.set_title(f'{family} {region}', fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='upper center', ncol=min(len(names), 6), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    _caption(fig, mapping_legend() + " No error bars here: the MAEs' corrected intervals are in table.csv "
             '(`<mapping>_mae_ci_low`, `_ci_high`).')
    return fig


def _correlation_text(entry):
    """``'Spearman rho = 0.94 (95% interval [0.83, 0.99])'``-like text of one rank comparison."""
    def one(name, found):
        if not found or found.get('estimate') is None:
            return f'{name} –'
        if found.get('low') is None or found.get('high') is None:
            return f"{name} = {found['estimate']:.2f} (no interval: {found.get('note') or 'coverage not measured'})"
        return f"{name} = {found['estimate']:.2f} (95% interval [{found['low']:.2f}, {found['high']:.2f}])"
    return f"{one('Spearman rho', entry.get('spearman'))}, {one('Kendall tau', entry.get('kendall'))}"


def rank_change_figure(group):
    """The rank-change (slope) chart of one family and region: each model's rank by PLS r and by the NRP-error.

    One line per model from its PLS rank (left) to its NRP rank (right), 1 = best at the top; the models whose
    rank changes most (``group['movers']``, :func:`nrp_plugin.app.ranking.rank_movers`) are drawn in colour
    and named on both sides, the others faint and unnamed. The caption gives Spearman's rho and Kendall's tau with
    their intervals and how many pairs swap significantly.

    Parameters
    ----------
    group : dict
        One family and region of :func:`nrp_plugin.app.ranking.ranking` (``family``, ``region``, ``ranks``,
        ``movers``, ``correlations``, ``n_discordant``, ``n_pairs``, ``n_swaps``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    ranks, movers = group['ranks'], list(group['movers'])
    n = len(ranks)
    fig, ax = plt.subplots(figsize=(8, max(4.0, 0.22 * n + 2)))
    for row in ranks:
        y = (row['pls_rank'], row['nrp_rank'])
        if row['model'] in movers:
            color = f'C{movers.index(row["model"]) % 10}'
            ax.plot((0, 1), y, '-o', color=color, linewidth=2, markersize=5, zorder=3)
            ax.text(-0.04, y[0], f"{row['model']} ({y[0]:g})", ha='right', va='center', fontsize=7, color=color)
            ax.text(1.04, y[1], f"({y[1]:g}) {row['model']}", ha='left', va='center', fontsize=7, color=color)
        else:
            ax.plot((0, 1), y, '-o', color='0.6', alpha=0.35, linewidth=1, markersize=3, zorder=1)
    ax.set_xlim(-1.0, 2.0)
    ax.set_ylim(n + 0.5, 0.5)  # rank 1 at the top
    ticks = list(range(1, n + 1)) if n <= 30 else list(range(1, n + 1, 5))
    ax.set_yticks(ticks)
    ax.set_ylabel('rank by PLS r (1 = highest r)')
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(ticks)
    right.set_ylabel('rank by NRP-error (1 = lowest error)')
    ax.set_xticks((0, 1), ['PLS r\n(higher is better)', 'NRP-error\n(lower is better)'])
    for side in ('top', 'bottom'):
        ax.spines[side].set_visible(False)
        right.spines[side].set_visible(False)
    ax.set_title(f"{group['family']} {group['region']}: rank by PLS r vs rank by the NRP-error ({n} models)",
                 fontsize=10)
    nrp_vs_pls = next((entry for entry in group['correlations'] if entry['comparison'] == 'nrp_vs_pls'), None)
    correlation = f'{_correlation_text(nrp_vs_pls)}; +1 is the same order. ' if nrp_vs_pls else ''
    named = (f'Named: the {len(movers)} models whose rank changes most (rank in brackets); the others faint. '
             if movers else 'No model changes rank. ')
    _caption(fig, f"Each model's rank by PLS r (median over sites, mean over splits) and by the NRP-error "
             f"(the MAE of the NRP's test predictions); tied models share the mean rank. {named}{correlation}"
             f"{group['n_discordant']} of {group['n_pairs']} pairs are ordered differently, {group['n_swaps']} "
             'swap significantly (both differences significant at 5% after Holm\'s correction, each by the 95% '
             'interval method stats.md names: the images, sites and overlapping splits resampled, or the corrected '
             'resampled t of Nadeau & Bengio 2003 over the splits).')
    return fig


def factorial_figure(group):
    """Each cell of mapping x measure x inputs: its Spearman rho with Brain-Score's standard (PLS, r, the committed
    layer), with its 95% interval where the report prints one.

    One row per mapping, one marker per measure and inputs (the standard's cell is rho = 1 by construction); the
    dashed line is the NRP-error's cell (the NRP, MAE, the window).

    Parameters
    ----------
    group : dict
        One family and region of :func:`nrp_plugin.app.ranking.ranking` with its ``factorial``
        (:func:`nrp_plugin.app.ranking.factorial`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    found = group['factorial']
    names = ordered_unique(cell['mapping'] for cell in found['cells'])
    styles = {('r', 'layer'): ('o', 'C0'), ('mae', 'layer'): ('s', 'C1'), ('r', 'window'): ('^', 'C2'),
              ('mae', 'window'): ('D', 'C3')}
    offsets = dict(zip(styles, (-0.27, -0.09, 0.09, 0.27)))
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 2.2))
    for cell in found['cells']:
        rho = cell['spearman'] or {}
        if rho.get('estimate') is None:
            continue
        level = (cell['measure'], cell['inputs'])
        marker, color = styles[level]
        y = names.index(cell['mapping']) + offsets[level]
        if rho.get('low') is not None and rho.get('high') is not None:
            ax.plot((rho['low'], rho['high']), (y, y), color=color, linewidth=1)
        ax.plot(rho['estimate'], y, marker=marker, color=color, linestyle='none')
    for (measure, inputs), (marker, color) in styles.items():  # the legend, one entry per measure and inputs
        ax.plot([], [], marker=marker, color=color, linestyle='none',
                label=f"{measure.upper() if measure == 'mae' else 'Pearson r'}, "
                      f"{'the committed layer' if inputs == 'layer' else 'the NRP window'}")
    nrp = next((cell for cell in found['cells'] if (cell['mapping'], cell['measure'], cell['inputs'])
                == ('nrp', 'mae', 'window')), None)
    if nrp and (nrp['spearman'] or {}).get('estimate') is not None:
        ax.axvline(nrp['spearman']['estimate'], color='0.5', linestyle='--', linewidth=1)
    ax.axvline(1.0, color='0.8', linewidth=1)
    ax.set_yticks(range(len(names)), [mappings.title(name) for name in names], fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("Spearman rho with the standard's order (PLS r on the committed layer; +1 the same order)")
    ax.set_title(f"{group['family']} {group['region']}: mapping x measure x inputs ({len(found['models'])} models)",
                 fontsize=10)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0), frameon=False)
    _caption(fig, 'Each marker: the order of the models by one mapping, in one measure, on one set of inputs, '
             'against the standard\'s. Bars: 95% intervals where the report prints them (stats.md, Method, '
             'names the method and its measured coverage). Dashed: the NRP-error\'s cell. stats.md gives '
             'Kendall\'s tau and the change when one factor at a time is switched to the standard\'s level.')
    return fig
