"""The validity sweep: the NRP metric against least squares, ridge, banded ridge, PLS, kernel ridge and scikit-learn's
MLP on generated worlds.

Runs :func:`nrp_plugin.validity.run_world` on every world of :data:`nrp_plugin.validity.WORLDS` (or the
cheap subset), prints one line per world, and writes a Markdown table, a CSV and a plot::

    python scripts/validity_report.py                    # all worlds
    python scripts/validity_report.py --cheap            # the subset the tests assert (a few minutes)
    python scripts/validity_report.py --paper            # also the NRP as close to the paper as it is specified
    python scripts/validity_report.py --seed 201 202     # every world drawn at held-out seeds (names: <world>@seed201)

Without ``--seed`` every world is drawn at the seed of its design in ``WORLDS``, the development worlds the defaults
were chosen on; figures offered as evidence come from held-out seeds (docs/validity.md, "Development and held-out
worlds").

Outputs (``--out``, default ``validity_results/``): ``validity.csv``, ``validity.md``, ``validity.png``.
The exit status is 1 when a target is missed (:func:`nrp_plugin.validity.check_targets`).
"""
import argparse
import csv
import sys
import time
from pathlib import Path

import torch

COLUMNS = ['name', 'truth', 'n_stimuli', 'rank', 'widths', 'spectrum', 'feature_noise', 'response_noise', 'n_sites',
           'kept', 'nrp', 'lstsq', 'ridge', 'banded', 'pls', 'kernel', 'mlp', 'floor', 'nrp_vs_linear',
           'nrp_vs_nonlinear', 'mlp_vs_linear', 'best_epoch_median', 'best_epoch_max', 'paper_best_epoch_max',
           'linear_path_weight', 'nrp_seconds']
PAPER_COLUMNS = ['nrp_paper', 'paper_vs_nrp']


def _format(value):
    return f'{value:.3f}' if isinstance(value, float) else str(value)


def markdown(rows, missed, title, columns=COLUMNS):
    lines = [f'# {title}', '', '| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    lines += ['| ' + ' | '.join(_format(row[column]) for column in columns) + ' |' for row in rows]
    lines += ['', 'Targets missed: ' + ('none' if not missed else
                                        '; '.join(f'{name} ({target}: {value:.3f})' for name, target, value in missed))]
    return '\n'.join(lines) + '\n'


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from nrp_plugin.validity.sweep import LINEAR_TARGET, NONLINEAR_TARGET
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        linear = row['truth'] == 'linear'
        value = row['nrp_vs_linear'] if linear else row['nrp_vs_nonlinear']
        axis.scatter(row['mlp_vs_linear'], value, marker='o' if linear else 's',
                     color='tab:blue' if linear else 'tab:orange')
        axis.annotate(row['name'], (row['mlp_vs_linear'], value), fontsize=6, xytext=(3, 2), textcoords='offset points')
    axis.axhline(LINEAR_TARGET, color='tab:blue', lw=0.8, ls='--',
                 label=f'linear truth (circles): NRP / best linear <= {LINEAR_TARGET}')
    axis.axhline(NONLINEAR_TARGET, color='tab:orange', lw=0.8, ls='--',
                 label=f'nonlinear truth (squares): NRP / best of MLP and kernel ridge <= {NONLINEAR_TARGET}')
    axis.set_xlabel('MLPRegressor MAE / best linear MAE (how nonlinear the world is)')
    axis.set_ylabel('NRP MAE / its target reference\'s MAE')
    axis.set_title('Validity sweep: linear references are least squares, ridge, banded ridge and PLS', fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--cheap', action='store_true', help='only the cheap subset the tests assert')
    parser.add_argument('--worlds', nargs='*', help='world names (default: all, or the cheap subset)')
    parser.add_argument('--paper', action='store_true',
                        help="also score NRPErrorMetric(config='paper'), the NRP as close to the paper as it is specified")
    parser.add_argument('--seed', type=int, nargs='+', default=None, metavar='K',
                        help='draw every world at each of these seeds instead of its design seed (held-out worlds)')
    parser.add_argument('--splits', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', default='validity_results')
    args = parser.parse_args(argv)
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.storage.cache import atomic_write_text
    from nrp_plugin.validity import CHEAP_WORLDS, WORLDS, check_targets, run_world, world_by_name
    torch.set_num_threads(args.threads)
    try:
        specs = [world_by_name(name) for name in args.worlds] if args.worlds else (CHEAP_WORLDS if args.cheap else
                                                                                  WORLDS)
        if args.seed is not None:
            specs = [spec.with_seed(seed) for seed in args.seed for spec in specs]
    except (KeyError, ValueError) as error:
        parser.error(str(error.args[0]))
    metric = NRPErrorMetric()
    columns = COLUMNS + (PAPER_COLUMNS if args.paper else [])
    rows = []
    started = time.time()
    for spec in specs:
        row = run_world(spec, metric, n_splits=args.splits, with_paper=args.paper)
        rows.append(row)
        print(' '.join(f'{column}={_format(row[column])}' for column in columns), flush=True)
    missed = check_targets(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / 'validity.md', markdown(rows, missed, 'Validity sweep', columns))
    with open(out / 'validity.csv', 'w', newline='', encoding='utf-8') as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / 'validity.png')
    print(f'{len(rows)} worlds in {time.time() - started:.0f} s; targets missed: {missed or "none"}; wrote {out}/')
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
