"""Tests of the ``nrp_banded_ridge`` metric plugin (one ridge penalty per layer), offline.

Checked against scikit-learn's ``RidgeCV`` (one layer: banded ridge is ridge with its penalty chosen by the same
3-fold cross-validation), and against a known truth (a layer of pure noise gets no weight).
"""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import BandedRidgeErrorMetric
from nrp_plugin.brainscore.splits import build_splits, split_indices
from nrp_plugin.core.kernel_references import BANDED_FOLDS, RELATIVE_ALPHAS

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


def test_one_layer_is_ridge_with_its_penalty_by_the_same_cross_validation():
    source, target = world()
    signal = source[{'neuroid': source['layer'].values == 'signal'}]
    score = load_metric('nrp_banded_ridge', **KWARGS)(signal, target)
    X, Y = signal.values, target.values
    errors = []
    for train, test in split_indices(target['stimulus_id'].values, build_splits(target, score_spec())):
        centred = X[train] - X[train].mean(axis=0)
        scale = (centred ** 2).sum() / min(len(train) - 1, X.shape[1])  # the kernel's mean non-zero eigenvalue
        y = (Y[train] - Y[train].mean(axis=0)) / Y[train].std(axis=0)
        # centred once on the training stimuli, as the kernels are; each site's penalty by the same folds
        # (scikit-learn takes one target at a time with a cross-validation splitter)
        standardised = np.stack([
            RidgeCV(alphas=RELATIVE_ALPHAS * scale, cv=KFold(BANDED_FOLDS), scoring='neg_mean_squared_error',
                    fit_intercept=False).fit(centred, y[:, site]).predict(X[test] - X[train].mean(axis=0))
            for site in range(Y.shape[1])], axis=1)
        prediction = standardised * Y[train].std(axis=0) + Y[train].mean(axis=0)
        errors.append(np.abs(prediction - Y[test]).mean(axis=0))
    assert float(score) == pytest.approx(float(np.mean(errors)), rel=1e-8)


def test_a_noise_layer_gets_no_weight_and_banded_beats_one_penalty():
    source, target = world()
    banded = load_metric('nrp_banded_ridge', **KWARGS)(source, target)
    ridge = load_metric('nrp_ridge', **KWARGS)(source, target)
    weights = np.asarray(banded.attrs['layer_weights'])  # per split: signal, noise
    assert (weights[:, 0] > 0.9).all()
    assert float(banded) < float(ridge)


def test_one_layer_fits_one_weighting_with_the_answer_of_the_full_search(monkeypatch):
    """With one layer every weighting is the same: one candidate is fitted, and it predicts what himalaya's
    search over all the candidates predicts."""
    import himalaya.kernel_ridge
    import torch
    from himalaya.backend import get_backend, set_backend

    from nrp_plugin.core.kernel_references import BANDED_CANDIDATES, banded_ridge

    rng = np.random.default_rng(3)
    train, test = rng.normal(size=(120, 12)), rng.normal(size=(30, 12))
    targets = train[:, :4] @ rng.normal(size=(4, 5)) + 0.5 * rng.normal(size=(120, 5))
    components = [(torch.as_tensor(train), torch.as_tensor(test), torch.as_tensor(train.var(axis=0)))]

    fitted = []
    original = himalaya.kernel_ridge.MultipleKernelRidgeCV

    class Recording(original):
        def fit(self, *args, **kwargs):
            fitted.append(self.solver_params['n_iter'])
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(himalaya.kernel_ridge, 'MultipleKernelRidgeCV', Recording)
    prediction, _ = banded_ridge(components, torch.as_tensor(targets))
    assert fitted == [1]

    # the reference: himalaya's random search over every candidate, on the same scaled kernel and targets
    scale = (train ** 2).sum() / train.shape[1]
    mean, std = targets.mean(axis=0), targets.std(axis=0)
    previous = get_backend().name
    set_backend('numpy')
    try:
        reference = original(kernels='precomputed', solver='random_search', cv=BANDED_FOLDS, random_state=0,
                             solver_params=dict(n_iter=BANDED_CANDIDATES, alphas=RELATIVE_ALPHAS,
                                                progress_bar=False))
        reference.fit((train @ train.T / scale)[None], (targets - mean) / std)
        expected = np.asarray(reference.predict((test @ train.T / scale)[None])) * std + mean
    finally:
        set_backend(previous)
    # float64 rounding between the one-candidate fit and the search's refit: up to about 1e-9 (rel 5e-8) on some
    # BLAS thread counts, whichever back-end the reference runs on
    np.testing.assert_allclose(prediction.numpy(), expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())


def score_spec():
    from nrp_plugin.brainscore.splits import CrossValidationSpec
    return CrossValidationSpec.from_kwargs(KWARGS['crossvalidation_kwargs'])
