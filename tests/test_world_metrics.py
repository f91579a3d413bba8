"""The metrics on the synthetic world, with the teacher's own features as the source."""
import numpy as np
import pytest
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

from nrp_plugin.ceiling import noise_floor
from nrp_plugin.metrics import NRPErrorMetric
from nrp_plugin.synthetic import WorldConfig, load_world


def teacher_source(world, region, access='private'):
    features = world.features(region, access)
    stimuli = world.get_stimulus_set(access)
    n = features.shape[1]
    return NeuroidAssembly(features, dims=['presentation', 'neuroid'], coords={
        'stimulus_id': ('presentation', stimuli['stimulus_id'].values),
        'object_name': ('presentation', stimuli['object_name'].values),
        'neuroid_id': ('neuroid', [f'teacher{i}' for i in range(n)]),
        'layer': ('neuroid', [region.lower()] * n)})


@pytest.fixture(scope='module')
def default_world():
    return load_world(WorldConfig.preset('default'))


@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_teacher_features_reach_near_the_noise_floor(default_world, region):
    world = default_world
    target = world.region_assembly(region, 'private', average_repetitions=True)
    floor = float(noise_floor(world.region_assembly(region, 'private')))
    score = NRPErrorMetric(device='cpu')(teacher_source(world, region), target)
    nrp, linear, mean = float(score), score.attrs['linear_mae'], score.attrs['mean_predictor_mae']
    # the truth is a nonlinear function of these features plus noise: with the right features the
    # NRP closes nearly all of the gap between predicting the mean and the noise floor (about 0.91
    # measured in both regions), while the linear map closes little more than half of it
    assert floor < nrp < linear < mean
    gap_closed = (mean - nrp) / (mean - floor)
    assert gap_closed > 0.85
    assert gap_closed - (mean - linear) / (mean - floor) > 0.2
    assert score.attrs['pearson'] > score.attrs['linear_pearson']


def test_linear_world_nrp_agrees_with_linear_baseline():
    world = load_world(WorldConfig.preset('linear'))
    target = world.region_assembly('V4', 'private', average_repetitions=True)
    score = NRPErrorMetric(device='cpu')(teacher_source(world, 'V4'), target)
    assert abs(float(score) - score.attrs['linear_mae']) / score.attrs['linear_mae'] < 0.10
