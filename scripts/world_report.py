"""How well the metrics recover the synthetic world's known truth from the teacher's own features.

For each region of a preset world, prints Brain-Score's ``internal_consistency`` ceiling, the noise
floor, the NRP-error, the linear baseline's MAE, the mean predictor's MAE, and the benchmark score
``(MAE_mean - error) / (MAE_mean - floor)`` of the NRP and of the linear map, all on the private
images with the ``nrp`` metric's splits.

Usage::

    python scripts/world_report.py                       # default preset
    python scripts/world_report.py --preset linear
    python scripts/world_report.py --preset majajhong    # 2,560 private images (generated on first use)
"""
import argparse
import os
import sys
import time
import warnings

os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
os.environ.setdefault('RESULTCACHING_DISABLE', '1')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', default='default', help="'default', 'linear' or 'majajhong'")
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'auto'")
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore')
    from brainscore_vision import load_ceiling

    from nrp_plugin.brainscore.ceiling import ceiled_nrp_score, noise_floor
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig

    world = load_world(WorldConfig.preset(args.preset))
    print(f'world {args.preset} ({world.config.config_hash()}), generated in '
          f"{world.manifest['generation_seconds']} s")
    print('| region | ceiling | noise floor | NRP-error | linear MAE | mean MAE | NRP score | linear score | seconds |')
    print('|---|---|---|---|---|---|---|---|---|')
    for region in ('V4', 'IT'):
        trials = world.region_assembly(region, 'private')
        ceiling = float(load_ceiling('internal_consistency')(trials))
        floor = float(noise_floor(trials))
        start = time.time()
        score = NRPErrorMetric(device=args.device)(
            world.teacher_activations(region), world.region_assembly(region, 'private', average_repetitions=True))
        seconds = time.time() - start
        nrp, linear, mean = float(score), score.attrs['least_squares_mae'], score.attrs['mean_predictor_mae']
        nrp_score, linear_score = (ceiled_nrp_score(error, mean, floor)[1] for error in (nrp, linear))  # unclipped
        print(f'| {region} | {ceiling:.3f} | {floor:.4f} | {nrp:.4f} | {linear:.4f} | {mean:.4f} | '
              f'{nrp_score:.3f} | {linear_score:.3f} | {seconds:.0f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
