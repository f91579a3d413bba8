"""Rehearse the real MajajHong2015 path end to end on a stand-in in the real files' format.

MajajHong2015 cannot be downloaded here. This script writes the synthetic world's ``majajhong`` preset (3,200
public and 2,560 private 256-px images, 88 V4 and 168 IT sites, 25 to 50 trials per image) in the real files'
format where Brain-Score's loader reads them (:mod:`nrp_plugin.brainscore.standin`), then runs, in a separate
process with only the S3 fetch replaced::

    nrp-plugin compare --benchmarks MajajHong2015 --models resnet50_untrained_pruned00 torchvision:alexnet \\
        examples/my_net.py:build

on the real benchmark identifiers (``MajajHong2015.{V4,IT}-{pls,nrp}``). It prints the table's rows, how every
layer was chosen (no model without a region-layer map may choose on the scored, private images), the wall time
and the run's peak resident memory, and exits non-zero when the run fails or a check does not hold.

Usage::

    python scripts/rehearse_majajhong.py [--home DIR] [--out DIR] [--families MajajHong2015 ...] [--models ...]
    python scripts/rehearse_majajhong.py --reduced   # a small world, both families, cornet_s_untrained

The run starts from empty caches (its own ``NRP_PLUGIN_HOME`` and ``RESULTCACHING_HOME`` under ``--home``)
unless ``--keep-caches``; the stand-in's world is generated there too.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

FULL_MODELS = ('resnet50_untrained_pruned00', 'torchvision:alexnet', 'examples/my_net.py:build')
REDUCED_MODELS = ('cornet_s_untrained', 'examples/my_net.py:build')


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--home', default='rehearsal', help='folder for the stand-in, caches and results')
    parser.add_argument('--out', default=None, help='result folder (default: HOME/results)')
    parser.add_argument('--families', nargs='+', default=None, help='default: MajajHong2015 (reduced: both)')
    parser.add_argument('--models', nargs='+', default=None)
    parser.add_argument('--reduced', action='store_true',
                        help='a small world (a few images per object, 64 px) for a quick rehearsal of both families')
    parser.add_argument('--keep-caches', action='store_true', help='reuse HOME\'s caches from an earlier run')
    parser.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    parser.add_argument('--nrp-config', default=None, help="passed to compare's --nrp-config")
    parser.add_argument('--references', default=None, help="passed to compare's --references (default: all)")
    return parser.parse_args(argv)


def reduced_world_config():
    """A small world with the real design's structure: both families, unequal repetitions."""
    from nrp_plugin.synthetic import WorldConfig
    return WorldConfig(images_per_object=((0, 2), (3, 8), (6, 10)), image_size=64, n_repetitions=12,
                       min_repetitions=4, seed=11)


def write(home, reduced):
    """The stand-in under ``home/brainio`` (the world generated under ``home/nrp_home``)."""
    from nrp_plugin.brainscore.standin import write_standin
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    config = reduced_world_config() if reduced else WorldConfig.preset('majajhong')
    world = load_world(config)
    return write_standin(home / 'brainio', world)


def check_layers(records):
    from nrp_plugin.brainscore.majajhong import PUBLIC_SELECTION
    """How each score's layers were chosen; the problems found (a choice on scored images, or none recorded)."""
    problems, lines = [], []
    for record in records:
        choice = record.get('layer_choice') or {}
        method = choice.get('method')
        lines.append(f"{record['benchmark']:<28} {record['model']:<34} {method or '-':<18} "
                     f"{record.get('layer') or ''} {'; NRP: ' + ', '.join(record['nrp_layers']) if record.get('nrp_layers') else ''}")
        if record['model'].startswith(('torchvision:', 'examples/')):  # no region-layer map
            if record['family'] == 'MajajHong2015' and not (method == 'selection set'
                                                            and choice.get('images') == PUBLIC_SELECTION):
                problems.append(f"{record['benchmark']} {record['model']}: layer not chosen on the public images "
                                f"({choice})")
            if record['family'] == 'MajajHong2015public' and method != 'inside each split':
                problems.append(f"{record['benchmark']} {record['model']}: layer not chosen inside each split ({choice})")
        elif method not in ('region-layer map', None):
            problems.append(f"{record['benchmark']} {record['model']}: a model with a map chose by {method}")
    return lines, problems


def main(argv=None):
    args = parse(argv)
    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    out = Path(args.out).resolve() if args.out else home / 'results'
    families = args.families or (['MajajHong2015', 'MajajHong2015public'] if args.reduced else ['MajajHong2015'])
    models = args.models or list(REDUCED_MODELS if args.reduced else FULL_MODELS)
    env = dict(os.environ, NRP_PLUGIN_HOME=str(home / 'nrp_home'), RESULTCACHING_HOME=str(home / 'result_caching'),
               BRAINIO_HOME=str(home / 'brainio'), BS_INSTALL_DEPENDENCIES='no')
    if not args.keep_caches:
        import shutil
        for name in ('result_caching', 'nrp_home/results', 'nrp_home/activations'):
            shutil.rmtree(home / name, ignore_errors=True)
    os.environ.update({key: env[key] for key in ('NRP_PLUGIN_HOME', 'RESULTCACHING_HOME')})
    started = time.time()
    manifest = write(home, args.reduced)
    print(f"stand-in: {manifest['counts']} in {home / 'brainio'} ({time.time() - started:.0f} s)", flush=True)

    command = [sys.executable, __file__, '--serve', str(home / 'brainio'), 'compare',
               '--benchmarks', *families, '--models', *models, '--out', str(out), '--quiet', '--device', args.device]
    if args.nrp_config:
        command += ['--nrp-config', args.nrp_config]
    if args.references:
        command += ['--references', args.references]
    print('$ nrp-plugin ' + ' '.join(command[4:]), flush=True)
    started = time.time()
    result = subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[1])
    wall = time.time() - started
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 2 ** 30
    print(f'\nwall time {wall / 60:.1f} min, peak resident memory of the run {peak_gb:.2f} GB, exit {result.returncode}')
    if result.returncode != 0:
        return result.returncode
    records = json.loads((out / 'table.json').read_text())['scores']
    lines, problems = check_layers(records)
    print('\nhow the layers were chosen (benchmark, model, method, layer; NRP layers):')
    print('\n'.join(lines))
    for problem in problems:
        print(f'PROBLEM: {problem}')
    return 1 if problems else 0


def serve(home, argv):
    """Run the ``nrp-plugin`` command line with the stand-in served (only the S3 fetch replaced)."""
    from nrp_plugin.app.cli import main as nrp_plugin
    from nrp_plugin.brainscore.standin import serve_standin
    with serve_standin(home):
        return nrp_plugin(list(argv))


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--serve':  # the run itself, in its own process
        sys.exit(serve(sys.argv[2], sys.argv[3:]))
    sys.exit(main())
