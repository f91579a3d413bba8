"""The teacher world's headline figures on the development draw and on held-out draws of the same design.

For each world seed (0: the development draw every default was chosen on; the test seeds of
``nrp_plugin.validity.TEST_SEEDS``: draws never used to choose anything), the embedded world's default preset is
drawn at that seed (new objects, images, poses, sites and trial noise; the same teacher) and the teacher's own
features are scored by the NRP metric with every reference on Brain-Score's splits. Printed per seed and region: each
mapping's share of the gap closed between predicting each site's training mean (0) and the noise floor (1).

    python scripts/heldout_worlds.py                      # seeds 0 and the test seeds
    python scripts/heldout_worlds.py --seeds 0 201 --json out.json
"""
import argparse
import json
import time

MAPPINGS = ('nrp', 'kernel_ridge', 'banded_ridge', 'ridge', 'least_squares')


def gap_closed(seed, region):
    """``{mapping: share of the gap closed}`` and the seconds it took, for one world seed and region."""
    from nrp_plugin.brainscore.ceiling import ceiled_nrp_score, noise_floor
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    started = time.perf_counter()
    world = load_world(WorldConfig.preset('default', seed=seed))
    target = world.region_assembly(region, 'private', average_repetitions=True)
    floor = float(noise_floor(world.region_assembly(region, 'private')))
    score = NRPErrorMetric(device='cpu')(world.teacher_activations(region), target)
    mean = score.attrs['mean_predictor_mae']
    errors = {name: float(score) if name == 'nrp' else score.attrs[f'{name}_mae'] for name in MAPPINGS}
    closed = {name: ceiled_nrp_score(error, mean, floor)[1] for name, error in errors.items()}
    return closed, time.perf_counter() - started


def main(argv=None):
    from nrp_plugin.validity import TEST_SEEDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, *TEST_SEEDS])
    parser.add_argument('--regions', nargs='+', default=['V4', 'IT'], choices=['V4', 'IT'])
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    rows = []
    print('| seed | set | region | ' + ' | '.join(MAPPINGS) + ' | seconds |')
    print('|---|---|---|' + '---|' * (len(MAPPINGS) + 1))
    for seed in args.seeds:
        for region in args.regions:
            closed, seconds = gap_closed(seed, region)
            kind = 'development' if seed == 0 else ('test' if seed in TEST_SEEDS else 'other')
            rows.append({'seed': seed, 'set': kind, 'region': region, 'closed': closed, 'seconds': seconds})
            print(f'| {seed} | {kind} | {region} | ' + ' | '.join(f'{closed[m]:.3f}' for m in MAPPINGS)
                  + f' | {seconds:.0f} |', flush=True)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(rows, handle, indent=1)


if __name__ == '__main__':
    main()
