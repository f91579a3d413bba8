"""Tests of the ``nrp_ridge`` metric plugin (the strong linear reference): offline, seconds.

Checked against scikit-learn's ``RidgeCV`` fitted on the raw features on Brain-Score's own splits, and
against an analytic answer (an exact linear map is recovered).
"""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric
from sklearn.linear_model import RidgeCV

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import RidgeErrorMetric
from nrp_plugin.brainscore.splits import build_splits, split_indices
from nrp_plugin.core.ridge import RELATIVE_ALPHAS

make_assembly = functools.partial(neuroid_assembly, n_objects=32)


def linear_world(noise, n=320, n_features=200, n_sites=6, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features)) @ np.diag(np.geomspace(3, 0.1, n_features))
    responses = features @ rng.normal(size=(n_features, n_sites)) / 5 + noise * rng.normal(size=(n, n_sites))
    return make_assembly(features, 'feature'), make_assembly(responses, 'site')


def test_registration_loads_the_metric():
    assert isinstance(load_metric('nrp_ridge'), RidgeErrorMetric)


def test_equals_scikit_learn_ridge_on_the_raw_features():
    """One layer: ridge on all its principal components is ridge on the raw centred features (a rotation
    and one common scale, which the relative penalty grid absorbs)."""
    source, target = linear_world(noise=1.0)
    score = load_metric('nrp_ridge', device='cpu')(source, target)
    X, Y = source.values, target.values
    errors = []
    for train, test in split_indices(target['stimulus_id'].values, build_splits(target)):
        centred = X[train] - X[train].mean(axis=0)
        scale = (centred ** 2).sum() / min(len(train) - 1, X.shape[1])
        model = RidgeCV(alphas=RELATIVE_ALPHAS * scale, alpha_per_target=True).fit(X[train], Y[train])
        errors.append(np.abs(model.predict(X[test]) - Y[test]).mean(axis=0))
    assert float(score) == pytest.approx(float(np.mean(errors)), rel=1e-6)
    assert 0 <= score.attrs['alpha_at_edge'] <= 1 and score.attrs['higher_is_better'] is False


def test_nearly_exact_linear_map_is_nearly_recovered():
    source, target = linear_world(noise=0.0)
    score = load_metric('nrp_ridge', device='cpu')(source, target)
    assert float(score) < 0.02 * score.attrs['mean_predictor_mae']
    assert score.attrs['r2'] > 0.999
