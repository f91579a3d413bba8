"""What each of this package's departures from the paper's NRP does, one at a time, on worlds with a known truth.

For every world (the validity sweep's cheap worlds, or those named, and the embedded world's teacher features in
V4 and IT), the NRP-error of the package's default NRP, of the paper's configuration (``config='paper'``), and of
the default with one departure reverted at a time:

- ``inputs``: every principal component of each layer, unscaled (the layer's centred activations in an orthonormal
  basis), instead of the kept components under one scale per layer;
- ``targets``: trained on the recorded rates, not standardised per site;
- ``weight_decay``: no weight decay;
- ``linear_path``: no linear path (and so no combination): the paper's network on the package's inputs;
- ``combination``: the linear-path network alone, without the validated combination with the paper's network.

Each variant's NRP-error is printed as a ratio to the default's (above 1: the departure helps there). Usage::

    python scripts/paper_departures.py [--worlds NAME ...] [--splits 10] [--out paper_departures.md]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

VARIANTS = ('default', 'paper', 'inputs', 'targets', 'weight_decay', 'linear_path', 'combination')


def metric(variant, crossvalidation_kwargs):
    """The NRP metric of one variant (see the module notes), without its linear references."""
    from nrp_plugin.brainscore.nrp_metric import ALL_COMPONENTS, NRPErrorMetric
    kwargs = dict(device='cpu', crossvalidation_kwargs=crossvalidation_kwargs, references='none')
    if variant == 'paper':
        return NRPErrorMetric(config='paper', **kwargs)
    config = {'targets': dict(standardize_targets=False), 'weight_decay': dict(weight_decay=0.0),
              'linear_path': dict(linear_path=False), 'combination': dict(paper_candidate=False)}.get(variant, {})
    chosen = NRPErrorMetric(config=config, **kwargs)
    if variant == 'inputs':
        chosen.max_components, chosen.n_components, chosen.scaling = ALL_COMPONENTS, 'fixed', 'none'
    return chosen


def worlds(names):
    """``(name, source, target, cross-validation kwargs)`` of every world to run."""
    from nrp_plugin.brainscore.assemblies import feature_response_assemblies
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    from nrp_plugin.validity import CHEAP_WORLDS, generate, world_by_name
    for spec in ([world_by_name(name) for name in names] if names else CHEAP_WORLDS):
        world = generate(spec)
        source, target = feature_response_assemblies(world.features, world.groups, world.responses)
        yield spec.name, source, target, dict(stratification_coord=None)
    teacher = load_world(WorldConfig.preset('default'))
    for region in ('V4', 'IT'):
        yield (f'teacher {region}', teacher.teacher_activations(region),
               teacher.region_assembly(region, 'private', average_repetitions=True), {})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--worlds', nargs='*', help="validity sweep worlds (default: the cheap subset)")
    parser.add_argument('--splits', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--out', default='paper_departures.md')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    started = time.time()
    for name, source, target, kwargs in worlds(args.worlds):
        kwargs = dict(kwargs, splits=args.splits)
        errors = {variant: float(metric(variant, kwargs)(source, target)) for variant in VARIANTS}
        rows.append((name, errors))
        print(name, ' '.join(f'{variant}={errors[variant]:.4f}' for variant in VARIANTS), flush=True)
    header = '| world | default NRP-error | ' + ' | '.join(f'{v} / default' for v in VARIANTS[1:]) + ' |'
    lines = [header, '|' + '---|' * (len(VARIANTS) + 1)]
    for name, errors in rows:
        lines.append(f"| {name} | {errors['default']:.4f} | " + ' | '.join(
            f"{errors[variant] / errors['default']:.3f}" for variant in VARIANTS[1:]) + ' |')
    ratios = np.array([[errors[variant] / errors['default'] for variant in VARIANTS[1:]] for _, errors in rows])
    lines.append('| geometric mean | | ' + ' | '.join(f'{value:.3f}' for value in np.exp(np.log(ratios).mean(axis=0)))
                 + ' |')
    text = '\n'.join(lines) + '\n'
    Path(args.out).write_text(text, encoding='utf-8')
    print(text)
    print(f'{len(rows)} worlds in {time.time() - started:.0f} s; wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
