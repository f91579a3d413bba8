"""The NRP's training settings (learning rate, patience, epoch cap) compared on development or held-out worlds.

For every world of the chosen set the metric's inputs are prepared once (its splits, its input preparation and the
ridge reference, ``nrp_ridge``), and the NRP is trained on them with each setting. Per world and setting the script
prints and writes the NRP-error, its ratio to ridge, its ratio to the first setting's NRP-error on the same world,
the best epochs and the training seconds; per setting, the geometric mean and the worst of those ratios.

The sets (docs/validity.md, "Development and held-out worlds"):

- ``development``: the cheap validity worlds at their design seeds, and the embedded world at seed 0 with the
  teacher's own features (``SyntheticMajajHong2015-teacher``), V4 and IT: where the defaults were developed;
- ``validation``: the same designs at :data:`nrp_plugin.validity.VALIDATION_SEEDS`: where settings are chosen;
- ``test``: at :data:`nrp_plugin.validity.TEST_SEEDS`: where the chosen settings are reported, never chosen.

Usage::

    python scripts/training_settings_report.py --set development
    python scripts/training_settings_report.py --set validation --settings default learning_rate=0.001 patience=20
    python scripts/training_settings_report.py --set test --world-seeds 201 --out test.md

Settings are ``default`` or comma-separated ``name=value`` overrides of ``NRPConfig`` (``patience=80,max_epochs=800``).
Writes ``--out`` (Markdown) and the same path with ``.json``, once every world has run.
"""
import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

SETS = ('development', 'validation', 'test')


def parse_setting(text):
    """``'default'`` or ``'name=value,...'`` as a dict of ``NRPConfig`` overrides."""
    from nrp_plugin.core.network import NRPConfig
    if text == 'default':
        return {}
    names = {field.name for field in fields(NRPConfig)}
    overrides = {}
    for item in text.split(','):
        name, _, value = item.partition('=')
        if name not in names or not value:
            raise ValueError(f"setting {item!r}: use name=value with a field of NRPConfig ({sorted(names)}).")
        overrides[name] = value == 'True' if value in ('True', 'False') else json.loads(value)
    NRPConfig(**overrides)  # checks the values
    return overrides


def world_seeds(name, given):
    """The seeds of set ``name``'s validity worlds and embedded worlds (``given``: the latter's, when set)."""
    if name == 'development':  # no held-out seeds: runs on a checkout without them too
        return (None,), tuple(given) if given else (0,)
    from nrp_plugin.validity import TEST_SEEDS, VALIDATION_SEEDS
    seeds = VALIDATION_SEEDS if name == 'validation' else TEST_SEEDS
    return seeds, tuple(given) if given else seeds


def worlds(name, embedded_seeds):
    """``(world, seed, source, target, cross-validation kwargs)`` of every world of the set ``name``."""
    from nrp_plugin.brainscore.assemblies import feature_response_assemblies
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    from nrp_plugin.validity import CHEAP_WORLDS, generate
    seeds, embedded_seeds = world_seeds(name, embedded_seeds)
    for seed in seeds:
        for spec in CHEAP_WORLDS:
            spec = spec if seed is None else spec.with_seed(seed)
            world = generate(spec)
            source, target = feature_response_assemblies(world.features, world.groups, world.responses)
            yield spec.name, spec.seed, source, target, dict(stratification_coord=None)
    for seed in embedded_seeds:
        embedded = load_world(WorldConfig.preset('default', seed=seed))
        for region in ('V4', 'IT'):
            yield (f'teacher {region}' + ('' if seed == 0 else f'@seed{seed}'), seed,
                   embedded.teacher_activations(region),
                   embedded.region_assembly(region, 'private', average_repetitions=True), {})


def score_settings(source, target, crossvalidation_kwargs, settings, n_splits):
    """Prepare once, fit ridge once, train the NRP with every setting: one dict per setting."""
    from nrp_plugin import mappings
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric, measures
    from nrp_plugin.core.network import NRPConfig
    from nrp_plugin.mappings import fit_mappings
    metric = NRPErrorMetric(references=['ridge'], device='cpu',
                            crossvalidation_kwargs=dict(crossvalidation_kwargs, splits=n_splits))
    ridge = mappings.get('ridge')()
    data, split_fits = metric.prepare(source, target, split_mappings=[ridge])
    ridge_mae = measures(fit_mappings([ridge], data, split_fits)['ridge'].prediction, data)['mae']
    results = []
    for setting in settings:
        nrp = mappings.get('nrp')(config=NRPConfig(**parse_setting(setting)), random_state=metric.random_state,
                                  device='cpu')
        started = time.perf_counter()
        fit = fit_mappings([nrp], data)['nrp']
        seconds = time.perf_counter() - started
        figures = nrp.figures(fit)
        error = measures(fit.prediction, data)['mae']
        results.append(dict(setting=setting, nrp=error, ridge=ridge_mae, nrp_vs_ridge=error / ridge_mae,
                            best_epoch_median=float(np.median(figures['best_epoch'])),
                            best_epoch_max=int(np.max(figures['best_epoch'])),
                            paper_best_epoch_max=int(np.max(figures.get('paper_best_epoch', [-1]))),
                            linear_path_weight=float(np.mean(figures.get('linear_path_weight', [np.nan]))),
                            seconds=seconds))
    return results


def summary(rows, settings):
    """Per setting: geometric mean and worst of NRP-error / the first setting's, geometric mean of NRP / ridge."""
    lines = []
    for setting in settings:
        mine = [row for row in rows if row['setting'] == setting]
        change = np.array([row['vs_first'] for row in mine])
        vs_ridge = np.array([row['nrp_vs_ridge'] for row in mine])
        worst = mine[int(np.argmax(change))]
        best = mine[int(np.argmin(change))]
        lines.append(dict(setting=setting, geomean_vs_first=float(np.exp(np.log(change).mean())),
                          worst_vs_first=float(change.max()), worst_world=worst['world'],
                          best_vs_first=float(change.min()), best_world=best['world'],
                          geomean_nrp_vs_ridge=float(np.exp(np.log(vs_ridge).mean())),
                          worst_nrp_vs_ridge=float(vs_ridge.max()),
                          seconds=float(sum(row['seconds'] for row in mine))))
    return lines


def markdown(rows, lines, title):
    columns = ['world', 'setting', 'nrp', 'ridge', 'nrp_vs_ridge', 'vs_first', 'best_epoch_median', 'best_epoch_max',
               'paper_best_epoch_max', 'linear_path_weight', 'seconds']
    text = [f'# {title}', '', '| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for row in rows:
        text.append('| ' + ' | '.join(f'{row[c]:.4f}' if isinstance(row[c], float) else str(row[c])
                                      for c in columns) + ' |')
    columns = ['setting', 'geomean_vs_first', 'best_vs_first', 'best_world', 'worst_vs_first', 'worst_world',
               'geomean_nrp_vs_ridge', 'worst_nrp_vs_ridge', 'seconds']
    text += ['', '| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for line in lines:
        text.append('| ' + ' | '.join(f'{line[c]:.4f}' if isinstance(line[c], float) else str(line[c])
                                      for c in columns) + ' |')
    return '\n'.join(text) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--set', choices=SETS, default='development', dest='world_set')
    parser.add_argument('--settings', nargs='+', default=['default'],
                        help="'default' or name=value,... overrides of NRPConfig; ratios are to the first")
    parser.add_argument('--world-seeds', type=int, nargs='+', default=None, metavar='SEED',
                        help='seeds of the embedded world (default: 0 for development, else the set\'s seeds)')
    parser.add_argument('--worlds', nargs='+', default=None,
                        help='only these worlds (names as printed, e.g. dense_lin@seed101 or "teacher IT@seed101")')
    parser.add_argument('--splits', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', default='training_settings.md')
    args = parser.parse_args(argv)
    try:
        for setting in args.settings:
            parse_setting(setting)
    except ValueError as error:
        parser.error(str(error))
    from nrp_plugin.storage.cache import atomic_write_text
    torch.set_num_threads(args.threads)
    rows = []
    started = time.time()
    for world, seed, source, target, kwargs in worlds(args.world_set, args.world_seeds):
        if args.worlds and world not in args.worlds:
            continue
        results = score_settings(source, target, kwargs, args.settings, args.splits)
        for result in results:
            row = dict(world=world, seed=seed, **result, vs_first=result['nrp'] / results[0]['nrp'])
            rows.append(row)
            print(' '.join(f'{key}={value:.4f}' if isinstance(value, float) else f'{key}={value}'
                           for key, value in row.items()), flush=True)
    lines = summary(rows, args.settings)
    out = Path(args.out)
    title = f'NRP training settings on the {args.world_set} worlds ({args.splits} splits)'
    atomic_write_text(out.with_suffix('.json'), json.dumps(dict(rows=rows, summary=lines), indent=1))
    atomic_write_text(out, markdown(rows, lines, title))
    print(markdown([], lines, title))
    print(f'{len(rows)} rows in {time.time() - started:.0f} s; wrote {out} and {out.with_suffix(".json")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
