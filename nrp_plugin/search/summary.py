"""The summary of a nested search: the validation table, the one- vs two-hidden-layer comparison and the
L1 x L2 heat-map (the paper's Fig. 3A), and :func:`write_search_summary`, which writes them."""
import csv
import itertools
import json
from collections import Counter
from pathlib import Path

import numpy as np

from .nested import choice_key

def depth_comparison(table):
    """Best mean inner-validation MAE with one hidden layer (``l2_size == 0``) and with two (> 0)."""
    one = [row for row in table if row['l2_size'] == 0]
    two = [row for row in table if row['l2_size'] > 0]
    best = lambda rows: min(rows, key=lambda row: row['validation_mae']) if rows else None
    return dict(one_hidden_layer=best(one), two_hidden_layers=best(two))


def l1_l2_matrix(table):
    """Validation MAE over (L1, L2): the best over layer subsets and learning rates of each cell.

    Returns ``(l1_sizes, l2_sizes, matrix)`` with ``matrix[i, j]`` for ``l1_sizes[i]``, ``l2_sizes[j]``.
    """
    l1_sizes = sorted({row['l1_size'] for row in table})
    l2_sizes = sorted({row['l2_size'] for row in table})
    matrix = np.full((len(l1_sizes), len(l2_sizes)), np.nan)
    for row in table:
        i, j = l1_sizes.index(row['l1_size']), l2_sizes.index(row['l2_size'])
        matrix[i, j] = np.nanmin([matrix[i, j], row['validation_mae']])
    return l1_sizes, l2_sizes, matrix


def write_search_summary(score, directory, title='NRP grid search'):
    """Write the search's summary for a Score from the metric with a ``search`` grid.

    Files: ``search_table.csv`` and ``search_table.md`` (inner-validation MAE per configuration, mean over
    splits, sorted best first), ``search_heatmap.png`` (validation MAE over L1 x L2, as the paper's
    Fig. 3A), ``search_summary.json`` (choices per split, depth comparison, test score). Returns the paths.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = sorted(score.attrs['search_table'], key=lambda row: row['validation_mae'])
    choices = score.attrs['search_choices']
    counts = Counter(choice_key(choice) for choice in choices)
    paths = {}
    paths['csv'] = directory / 'search_table.csv'
    with open(paths['csv'], 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['layers', 'l1_size', 'l2_size', 'learning_rate', 'validation_mae',
                         'validation_mae_sem', 'chosen_in_splits', 'mean_best_epoch'])
        for row in table:
            values = np.asarray(row['split_validation_mae'])
            writer.writerow(['+'.join(row['layers']) or 'all', row['l1_size'], row['l2_size'], row['learning_rate'],
                             f"{row['validation_mae']:.6g}", f"{values.std() / np.sqrt(len(values)):.3g}",
                             counts.get(choice_key(row), 0), f"{np.mean(row['best_epoch']):.1f}"])
    depth = depth_comparison(table)
    lines = [f'# {title}', '', f"Test NRP-error with the nested search: {float(score):.4f} "
             f"(SEM {score.attrs['error']:.4f}) over {len(choices)} splits.", '',
             '## Chosen configuration per split', '', '| split | layers | L1 | L2 | lr | inner-val MAE |',
             '|---|---|---|---|---|---|']
    for split, choice in enumerate(choices):
        lines.append(f"| {split} | {'+'.join(choice['layers']) or 'all'} | {choice['l1_size']} | "
                     f"{choice['l2_size']} | {choice['learning_rate']:g} | {choice['validation_mae']:.4f} |")
    lines += ['', '## One vs two hidden layers (best inner-validation MAE, mean over splits)', '']
    for label, key in (('one hidden layer (L2 = 0)', 'one_hidden_layer'), ('two hidden layers (L2 > 0)',
                                                                            'two_hidden_layers')):
        row = depth[key]
        lines.append(f"- {label}: " + ('not in the grid' if row is None else
                     f"{row['validation_mae']:.4f} ({'+'.join(row['layers']) or 'all'}, L1 {row['l1_size']}, "
                     f"L2 {row['l2_size']}, lr {row['learning_rate']:g})"))
    lines += ['', '## Inner-validation MAE per configuration (mean over splits, best first)', '',
              '| layers | L1 | L2 | lr | validation MAE | chosen in splits |', '|---|---|---|---|---|---|']
    for row in table:
        lines.append(f"| {'+'.join(row['layers']) or 'all'} | {row['l1_size']} | {row['l2_size']} | "
                     f"{row['learning_rate']:g} | {row['validation_mae']:.4f} | {counts.get(choice_key(row), 0)} |")
    paths['markdown'] = directory / 'search_table.md'
    paths['markdown'].write_text('\n'.join(lines) + '\n', encoding='utf-8')
    paths['heatmap'] = directory / 'search_heatmap.png'
    plot_heatmap(table, paths['heatmap'], title)
    paths['summary'] = directory / 'search_summary.json'
    summary = dict(score=float(score), error=score.attrs['error'], choices=choices, depth=depth,
                   grid=score.attrs.get('search_grid'), config=score.attrs['config'], layers=score.attrs['layers'])
    paths['summary'].write_text(json.dumps(summary, indent=2), encoding='utf-8')
    return paths


def plot_heatmap(table, path, title='NRP grid search'):
    """Heat-map of inner-validation MAE over NRP-L1 x NRP-L2 sizes (matplotlib, Agg backend)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    l1_sizes, l2_sizes, matrix = l1_l2_matrix(table)
    figure, axis = plt.subplots(figsize=(1.2 * len(l2_sizes) + 2.5, 1.0 * len(l1_sizes) + 1.8))
    image = axis.imshow(matrix, cmap='viridis_r', aspect='auto', origin='lower')
    axis.set_xticks(range(len(l2_sizes)), [str(size) if size else '0 (none)' for size in l2_sizes])
    axis.set_yticks(range(len(l1_sizes)), [str(size) for size in l1_sizes])
    axis.set_xlabel('NRP-L2 size')
    axis.set_ylabel('NRP-L1 size (per layer block)')
    best = np.unravel_index(np.nanargmin(matrix), matrix.shape)
    for i, j in itertools.product(range(len(l1_sizes)), range(len(l2_sizes))):
        if np.isfinite(matrix[i, j]):
            axis.text(j, i, f'{matrix[i, j]:.3f}', ha='center', va='center', fontsize=8,
                      color='red' if (i, j) == best else 'white', fontweight='bold' if (i, j) == best else None)
    figure.colorbar(image, ax=axis, label='inner-validation MAE')
    axis.set_title(f'{title}\n(best over layer subsets and learning rates)', fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
