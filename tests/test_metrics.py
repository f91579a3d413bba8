"""The cross-validated NRP-error and linear-baseline metrics, on worlds with a known map."""
import pickle

import numpy as np
import pytest

from helpers import assembly, world
from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric, NRPErrorMetric


@pytest.mark.slow  # the whole metric, 10 splits of 1,280 stimuli
def test_linear_map_nrp_matches_linear_baseline():
    # a known linear map observed in noise: both mappings should reach the noise floor
    source, target = world('linear', n=1280, noise=1.0)
    score = NRPErrorMetric(device='cpu', references='none')(source, target)  # the references: below
    linear = float(LeastSquaresErrorMetric(device='cpu')(source, target))
    assert abs(float(score) - linear) / linear < 0.10


def test_the_nrp_reports_the_least_squares_the_linear_metric_scores():
    source, target = world('linear', n=640, noise=1.0)
    score = NRPErrorMetric(device='cpu', config=dict(max_epochs=5, patience=2))(source, target)
    assert score.attrs['least_squares_mae'] == pytest.approx(float(LeastSquaresErrorMetric(device='cpu')(source, target)))


@pytest.mark.slow  # the whole metric, 10 splits, training to the late epochs a nonlinear map needs
def test_nonlinear_map_nrp_beats_linear_baseline():
    source, target = world('nonlinear')
    score = NRPErrorMetric(device='cpu')(source, target)
    assert float(score) < 0.8 * score.attrs['least_squares_mae']
    assert score.attrs['pearson'] > 0.7


def test_nrp_splits_are_brainscore_pls_splits(installed_plugins):
    import brainscore_vision
    from brainscore_core.metrics import Score
    from nrp_plugin.brainscore.nrp_metric import prepare
    from nrp_plugin.brainscore.splits import CrossValidationSpec

    source, target = world('linear')
    seen = []

    def record(source_train, target_train, source_test, target_test):
        seen.append((sorted(source_train['stimulus_id'].values), sorted(source_test['stimulus_id'].values)))
        n = target_test.sizes['neuroid']
        return Score(np.zeros(n), coords={'neuroid': np.arange(n)}, dims=['neuroid'])

    pls = brainscore_vision.load_metric('pls', crossvalidation_kwargs=dict(stratification_coord='object_name'))
    pls.apply = record
    pls(source, target)
    data, _ = prepare(source, target, CrossValidationSpec())
    ours = [(sorted(train), sorted(test)) for train, test in zip(data.train_ids, data.test_ids)]
    assert len(seen) == 10
    assert ours == seen


def test_same_seed_same_score_and_other_seed_differs():
    source, target = world('nonlinear', n=640)
    kwargs = dict(device='cpu', config=dict(max_epochs=30), crossvalidation_kwargs=dict(splits=3))
    first = NRPErrorMetric(random_state=3, **kwargs)(source, target)
    second = NRPErrorMetric(random_state=3, **kwargs)(source, target)
    other = NRPErrorMetric(random_state=4, **kwargs)(source, target)
    np.testing.assert_array_equal(first.raw.values, second.raw.values)
    assert float(first) == float(second)
    assert not np.array_equal(first.raw.values, other.raw.values)


def test_score_attrs_and_pickling():
    source, target = world('nonlinear')
    score = NRPErrorMetric(device='cpu', config=dict(max_epochs=20), crossvalidation_kwargs=dict(splits=3))(source, target)
    raw = score.raw
    assert raw.dims == ('split', 'neuroid') and raw.shape == (3, 20)
    assert float(score) == pytest.approx(float(raw.mean('neuroid').mean('split')))
    per_split = raw.mean('neuroid').values
    assert score.attrs['error'] == pytest.approx(per_split.std() / np.sqrt(3))
    assert score.attrs['higher_is_better'] is False
    assert score.attrs['config']['max_epochs'] == 20
    assert 0 < score.attrs['least_squares_r2'] < 1
    restored = pickle.loads(pickle.dumps(score))
    assert float(restored) == float(score)


def test_layer_coordinate_makes_one_block_per_layer():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(640, 300))
    responses = np.maximum(features[:, :5] @ rng.normal(size=(5, 6)), 0) + 0.1 * rng.normal(size=(640, 6))
    layers = ['conv'] * 200 + ['fc'] * 100
    score = NRPErrorMetric(device='cpu', max_components=64, config=dict(max_epochs=10),
                           crossvalidation_kwargs=dict(splits=2))(assembly(features, 'f', layers=layers),
                                                                 assembly(responses, 's'))
    assert score.attrs['layers'] == ['conv', 'fc']
    kept = np.asarray(score.attrs['components_kept'])  # layer x split, chosen on each split's training rows
    assert kept.shape == (2, 2) and kept.min() >= 1 and kept.max() <= 64
    # each block padded to the most components a split could keep, fixed before any data is read
    assert score.attrs['n_inputs'] == [64, 64]


def test_source_order_does_not_matter():
    source, target = world('nonlinear')
    kwargs = dict(device='cpu', config=dict(max_epochs=15), crossvalidation_kwargs=dict(splits=2))
    shuffled = source.isel(presentation=np.random.default_rng(0).permutation(source.sizes['presentation']))
    a = NRPErrorMetric(**kwargs)(source, target)
    b = NRPErrorMetric(**kwargs)(shuffled, target)
    np.testing.assert_allclose(a.raw.values, b.raw.values, rtol=1e-5, atol=1e-6)
