"""The metrics on the synthetic world, with the teacher's own features as the source."""
import functools

import numpy as np
import pytest

from nrp_plugin.brainscore.ceiling import ceiled_nrp_score, noise_floor
from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import WorldConfig


@functools.lru_cache(maxsize=None)
def _scores(preset, region):
    """The NRP's, least squares' and ridge's gap closed between the mean predictor (0) and the floor (1)."""
    world = load_world(WorldConfig.preset(preset))
    target = world.region_assembly(region, 'private', average_repetitions=True)
    floor = float(noise_floor(world.region_assembly(region, 'private')))
    score = NRPErrorMetric(device='cpu')(world.teacher_activations(region), target)
    mean = score.attrs['mean_predictor_mae']
    closed = {name: ceiled_nrp_score(error, mean, floor)[1] for name, error in
              (('nrp', float(score)), ('linear', score.attrs['linear_mae']), ('ridge', score.attrs['ridge_mae']))}
    return score, floor, closed


@pytest.mark.slow
@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_teacher_features_close_most_of_the_gap_and_beat_ridge(region):
    score, floor, closed = _scores('default', region)
    # the truth is a nonlinear function of these features plus noise: with the right features the NRP
    # closes most of the gap between predicting the mean and the noise floor; the best linear map (ridge)
    # and the paper's least squares close clearly less (measured: NRP 0.89, ridge 0.62 / 0.60)
    assert floor < float(score) < min(score.attrs['ridge_mae'], score.attrs['linear_mae'])
    assert closed['nrp'] >= 0.85
    assert closed['nrp'] - max(closed['ridge'], closed['linear']) > 0.15
    assert score.attrs['pearson'] > max(score.attrs['ridge_pearson'], score.attrs['linear_pearson'])


@pytest.mark.slow
@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_teacher_features_reach_the_target_closeness(region):
    # issue 13's target; measured 0.901 / 0.903 with the validated combination of the linear-path network and the
    # paper's (0.884 / 0.894 with the linear-path network alone, 0.898 / 0.899 with the paper's alone)
    score, _, closed = _scores('default', region)
    assert closed['nrp'] >= 0.9
    # the combination leans on the paper's network here, where the truth is a nonlinear function of the features
    assert np.mean(score.attrs['linear_path_weight']) < 0.6


@pytest.mark.slow
def test_in_the_linear_world_ridge_reaches_the_floor_as_closely_as_the_nrp():
    score, floor, closed = _scores('linear', 'V4')
    assert closed['ridge'] > 0.9 and closed['nrp'] > 0.9
    assert abs(closed['ridge'] - closed['nrp']) < 0.03
    assert abs(float(score) - score.attrs['ridge_mae']) / score.attrs['ridge_mae'] < 0.02
