"""Tests of the ``nrp_banded_ridge`` metric plugin (one weight per layer), offline.

Checked against scikit-learn's ``RidgeCV`` (one layer: banded ridge is ridge, each site's penalty by leave-one-out),
and against a known truth (a layer of pure noise gets the least weight, and banded ridge beats one penalty).
"""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric
from sklearn.linear_model import RidgeCV

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import BandedRidgeErrorMetric
from nrp_plugin.brainscore.splits import build_splits, split_indices
from nrp_plugin.core.ridge import RELATIVE_ALPHAS

make_assembly = functools.partial(neuroid_assembly, n_objects=32)
KWARGS = dict(device='cpu', crossvalidation_kwargs=dict(splits=3))


def world(n=320, seed=0):
    """A signal layer (the responses are a linear map of it) and a far larger layer of pure noise."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, 30))
    noise = 20 * rng.normal(size=(n, 100))
    responses = signal[:, :8] @ rng.normal(size=(8, 6)) + rng.normal(size=(n, 6))
    layers = ['signal'] * 30 + ['noise'] * 100
    return (make_assembly(np.concatenate([signal, noise], axis=1), 'feature', layers=layers),
            make_assembly(responses, 'site'))


def test_registration_loads_the_metric():
    assert isinstance(load_metric('nrp_banded_ridge'), BandedRidgeErrorMetric)


def test_one_layer_is_ridge_with_its_penalty_by_leave_one_out():
    source, target = world()
    signal = source[{'neuroid': source['layer'].values == 'signal'}]
    score = load_metric('nrp_banded_ridge', **KWARGS)(signal, target)
    X, Y = signal.values, target.values
    errors = []
    for train, test in split_indices(target['stimulus_id'].values, build_splits(target, score_spec())):
        centred = X[train] - X[train].mean(axis=0)
        scale = (centred ** 2).sum() / min(len(train) - 1, X.shape[1])  # the kernel's mean non-zero eigenvalue
        model = RidgeCV(alphas=RELATIVE_ALPHAS * scale, alpha_per_target=True).fit(X[train], Y[train])
        errors.append(np.abs(model.predict(X[test]) - Y[test]).mean(axis=0))
    assert float(score) == pytest.approx(float(np.mean(errors)), rel=1e-8)
    assert np.allclose(score.attrs['layer_weights'], 1.0)


def test_a_noise_layer_gets_no_weight_and_banded_beats_one_penalty():
    source, target = world()
    banded = load_metric('nrp_banded_ridge', **KWARGS)(source, target)
    ridge = load_metric('nrp_ridge', **KWARGS)(source, target)
    weights = np.asarray(banded.attrs['layer_weights'])  # per split: signal, noise (mean over sites)
    assert (weights[:, 0] > 0.9).all()  # the most any weighting gives one of two layers is 10/11
    assert float(banded) < float(ridge)


def score_spec():
    from nrp_plugin.brainscore.splits import CrossValidationSpec
    return CrossValidationSpec.from_kwargs(KWARGS['crossvalidation_kwargs'])
