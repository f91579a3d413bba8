"""Bad input to the metrics gives a ValueError that names the problem and the fix."""
import numpy as np
import pytest

from helpers import assembly, world
from nrp_plugin.brainscore.nrp_metric import (BandedRidgeErrorMetric, KernelRidgeErrorMetric, LeastSquaresErrorMetric,
                                               NRPErrorMetric, RidgeErrorMetric)

METRICS = [NRPErrorMetric, LeastSquaresErrorMetric, RidgeErrorMetric, BandedRidgeErrorMetric, KernelRidgeErrorMetric]


@pytest.fixture(scope='module')
def pair():
    return world('linear', n=640)


@pytest.mark.parametrize('metric', METRICS)
@pytest.mark.parametrize('side', ['source', 'target'])
@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_non_finite_values(pair, metric, side, bad):
    source, target = pair
    broken = (source if side == 'source' else target).copy()
    broken.values[5, 2] = bad
    args = (broken, target) if side == 'source' else (source, broken)
    with pytest.raises(ValueError, match=rf"{side} assembly contains 1 NaN/inf.*stim0005.*impute"):
        metric(device='cpu')(*args)


@pytest.mark.parametrize('metric', METRICS)
def test_different_stimulus_sets(pair, metric):
    source, target = pair
    ids = [f'other{i}' if i < 3 else f'stim{i:04d}' for i in range(640)]
    moved = assembly(source.values, 'feature', stimulus_ids=ids)
    with pytest.raises(ValueError, match=r"different stimulus sets: 3 target stimuli absent from the source"):
        metric(device='cpu')(moved, target)


@pytest.mark.parametrize('metric', METRICS)
def test_missing_object_name(pair, metric):
    source, target = pair
    target = target.reset_index('presentation').drop_vars('object_name')
    with pytest.raises(ValueError, match=r"no 'object_name' coordinate.*stratification"):
        metric(device='cpu')(source, target)


def test_missing_custom_stratification_coordinate(pair):
    source, target = pair
    with pytest.raises(ValueError, match=r"no 'category_name' coordinate"):
        NRPErrorMetric(device='cpu', crossvalidation_kwargs=dict(stratification_coord='category_name'))(source, target)


@pytest.mark.parametrize('metric', METRICS)
def test_too_few_stimuli_per_object(metric):
    source, target = world('linear', n=300)
    with pytest.raises(ValueError, match=r"300 stimuli are too few to split 64 'object_name'.*at least 631"):
        metric(device='cpu')(source, target)


def test_single_stimulus_object():
    source, target = world('linear', n=640)
    names = target['object_name'].values.copy()
    names[0] = 'lonely'
    target = assembly(target.values, 'site')
    target = target.reset_index('presentation')
    target['object_name'] = 'presentation', names
    with pytest.raises(ValueError, match=r"single stimulus.*'lonely'"):
        NRPErrorMetric(device='cpu')(source, target)


@pytest.mark.parametrize('metric', METRICS)
def test_single_neuroid(pair, metric):
    source, target = pair
    with pytest.raises(ValueError, match=r"target has 1 neuroid.*at least 2"):
        metric(device='cpu')(source, target.isel(neuroid=[0]))


@pytest.mark.parametrize('metric', METRICS)
def test_constant_neuroid(pair, metric):
    source, target = pair
    target = target.copy()
    target.values[:, 4] = 0.5
    with pytest.raises(ValueError, match=r"1 target neuroid\(s\) have constant responses.*site4"):
        metric(device='cpu')(source, target)


@pytest.mark.parametrize('metric', METRICS)
def test_source_without_feature_columns(pair, metric):
    source, target = pair
    with pytest.raises(ValueError, match=r"source assembly has no feature columns.*layer"):
        metric(device='cpu')(source.isel(neuroid=[]), target)


@pytest.mark.parametrize('metric', METRICS)
@pytest.mark.parametrize('n_stimuli', [3, 11])
def test_too_few_stimuli_for_the_mapping(metric, n_stimuli):
    source, target = world('linear', n=n_stimuli, n_features=4, n_targets=3)
    with pytest.raises(ValueError, match=rf"{n_stimuli} stimuli leave .* at least 10 training stimuli.*at least 12"):
        metric(device='cpu', crossvalidation_kwargs=dict(stratification_coord=None))(source, target)


def test_bad_parameters():
    with pytest.raises(ValueError, match='learning_rate'):
        NRPErrorMetric(config=dict(learning_rate=-1))
    with pytest.raises(ValueError, match='max_components'):
        NRPErrorMetric(max_components=0)
    with pytest.raises(ValueError, match=r"Unknown cross-validation argument"):
        NRPErrorMetric(crossvalidation_kwargs=dict(folds=3)).spec
    with pytest.raises(ValueError, match=r"Unknown device"):
        from nrp_plugin.core.device import resolve_device
        resolve_device('tpu')
