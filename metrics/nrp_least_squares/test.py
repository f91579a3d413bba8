"""Tests of the ``nrp_least_squares`` metric plugin (least squares on the NRP inputs): offline, seconds.

Checked against analytic answers (an exact linear map is recovered exactly) and against
scikit-learn's ``LinearRegression`` fitted on Brain-Score's own splits.
"""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric
from sklearn.linear_model import LinearRegression

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric
from nrp_plugin.brainscore.splits import build_splits, split_indices

make_assembly = functools.partial(neuroid_assembly, n_objects=32)


def linear_world(noise, n=320, n_features=20, n_sites=8, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features))
    responses = features @ rng.normal(size=(n_features, n_sites)) + 0.5 + noise * rng.normal(size=(n, n_sites))
    return make_assembly(features, 'feature'), make_assembly(responses, 'site')


def test_registration_loads_the_metric():
    assert isinstance(load_metric('nrp_least_squares'), LeastSquaresErrorMetric)


def test_the_former_identifier_still_loads_with_a_deprecation_warning():
    with pytest.warns(FutureWarning, match='nrp_least_squares'):
        assert isinstance(load_metric('nrp_linear'), LeastSquaresErrorMetric)


def test_exact_linear_map_is_recovered():
    # 20 features (fewer than the 128 components kept), no noise: least squares is exact
    source, target = linear_world(noise=0.0)
    score = load_metric('nrp_least_squares', device='cpu')(source, target)
    assert float(score) < 1e-4
    assert score.attrs['r2'] > 0.999999
    assert score.attrs['higher_is_better'] is False


def test_equals_scikit_learn_on_brainscore_splits():
    """Per split: scikit-learn's least squares with an intercept, MAE per site; mean over sites and
    splits. PCA on all 20 components is a rotation, which leaves least squares' predictions unchanged."""
    source, target = linear_world(noise=1.0)
    score = load_metric('nrp_least_squares', device='cpu')(source, target)
    X, Y = source.values, target.values
    errors = []
    for train, test in split_indices(target['stimulus_id'].values, build_splits(target)):
        prediction = LinearRegression().fit(X[train], Y[train]).predict(X[test])
        errors.append(np.abs(prediction - Y[test]).mean(axis=0))
    assert len(errors) == 10
    assert float(score) == pytest.approx(float(np.mean(errors)), rel=1e-4)
