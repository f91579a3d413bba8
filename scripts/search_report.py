"""Run the NRP's nested grid search and write its report (table, L1 x L2 heat-map, depth comparison).

Data (``--data``):

* ``synthetic`` (default): the default synthetic MajajHong2015 world (generated and cached on first use),
  one region's trial-averaged private-split responses (640 stimuli; IT 168 sites, V4 88) against the
  teacher's own features as a two-layer source (``v4``: 64 columns, ``it``: 32 columns).
* ``generated``: a world of the same size without images: 640 stimuli, 168 sites, ``--layers`` layers of
  128 columns, of which only the first drives the sites (through a rectified square).

Usage::

    python scripts/search_report.py --out search_report                     # default grid, synthetic IT
    python scripts/search_report.py --grid grid.json --region V4 --out r    # custom grid
    python scripts/search_report.py --data generated --layers 3 --out r

Prints the wall time of the search (preparation excluded) and writes the report into ``--out``
(see :func:`nrp_plugin.search.summary.write_search_summary`) plus ``timing.json``.
"""
import argparse
import json
import os
import platform
import sys
import time
import warnings

os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
os.environ.setdefault('RESULTCACHING_DISABLE', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402


def synthetic_pair(region):
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    world = load_world(WorldConfig())
    source = world.teacher_activations(('V4', 'IT'))
    target = world.region_assembly(region, access='private', average_repetitions=True)
    return source, target


def generated_pair(n=640, n_layers=3, width=128, n_targets=168, seed=0):
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_layers * width))
    weights = rng.normal(size=(width, n_targets)) / np.sqrt(width)
    drive = features[:, :width] @ weights
    responses = np.maximum(drive, 0) ** 2 + 0.5 * rng.normal(size=drive.shape)
    ids = [f'stim{i:04d}' for i in range(n)]
    objects = [f'object{i % 64:02d}' for i in range(n)]
    presentation = {'stimulus_id': ('presentation', ids), 'object_name': ('presentation', objects)}
    layers = [f'layer{i}' for i in range(n_layers) for _ in range(width)]
    source = NeuroidAssembly(features, dims=['presentation', 'neuroid'], coords={
        **presentation, 'neuroid_id': ('neuroid', [f'f{i}' for i in range(len(layers))]), 'layer': ('neuroid', layers)})
    target = NeuroidAssembly(responses, dims=['presentation', 'neuroid'], coords={
        **presentation, 'neuroid_id': ('neuroid', [f's{i}' for i in range(n_targets)])})
    return source, target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', choices=('synthetic', 'generated'), default='synthetic')
    parser.add_argument('--region', choices=('IT', 'V4'), default='IT')
    parser.add_argument('--layers', type=int, default=3, help='layers of the generated source')
    parser.add_argument('--grid', help='JSON grid (see docs/search.md); the default grid otherwise')
    parser.add_argument('--splits', type=int, default=10, help='outer cross-validation splits')
    parser.add_argument('--max-epochs', type=int, default=None, help='override NRPConfig.max_epochs')
    parser.add_argument('--patience', type=int, default=None, help='override NRPConfig.patience')
    parser.add_argument('--device', default='auto')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='search_report')
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore', category=FutureWarning)

    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.mappings import fit_mappings
    from nrp_plugin.search import SearchGrid, write_search_summary
    grid = SearchGrid.from_json(args.grid) if args.grid else SearchGrid.default()
    config = {key: value for key, value in (('max_epochs', args.max_epochs), ('patience', args.patience))
              if value is not None}
    source, target = synthetic_pair(args.region) if args.data == 'synthetic' else generated_pair(n_layers=args.layers)
    metric = NRPErrorMetric(config=config, device=args.device, random_state=args.seed, search=grid,
                            crossvalidation_kwargs=dict(splits=args.splits), references='least_squares')
    data, split_fits = metric.prepare(source, target)
    n_configs = len(grid.configurations(data.group_names))
    print(f'{args.data} {args.region if args.data == "synthetic" else ""}: {tuple(data.train_inputs.shape)} train '
          f'inputs, groups {data.group_names} of {data.group_sizes} columns, {data.train_targets.shape[-1]} '
          f'targets, {data.n_splits} splits; {n_configs} configurations', flush=True)
    start = time.perf_counter()
    score = metric.package(data, fit_mappings(metric.all_mappings(), data, split_fits))
    seconds = time.perf_counter() - start
    title = f'NRP grid search, {args.data}' + (f' {args.region}' if args.data == 'synthetic' else '')
    paths = write_search_summary(score, args.out, title)
    timing = dict(seconds=seconds, n_configurations=n_configs, n_splits=data.n_splits,
                  device=str(metric.device), torch_threads=torch.get_num_threads(), cpu=platform.processor(),
                  command=' '.join([sys.executable.rsplit('/', 1)[-1]] + sys.argv), grid=grid.to_dict(),
                  config=metric.config.to_dict())
    (paths['summary'].parent / 'timing.json').write_text(json.dumps(timing, indent=2), encoding='utf-8')
    print(f'search + final fit: {seconds:.1f} s for {n_configs} configurations x {data.n_splits} splits')
    print(f'test NRP-error {float(score):.4f}, least squares {score.attrs["least_squares_mae"]:.4f}; '
          f'chosen (most splits): layers {score.attrs["layers"]}, L1 {score.attrs["config"]["l1_size"]}, '
          f'L2 {score.attrs["config"]["l2_size"]}, lr {score.attrs["config"]["learning_rate"]:g}')
    for name, path in paths.items():
        print(f'{name}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
