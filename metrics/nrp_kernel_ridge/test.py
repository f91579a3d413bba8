"""Tests of the ``nrp_kernel_ridge`` metric plugin (RBF kernel ridge on the NRP inputs), offline.

Checked against scikit-learn's ``KernelRidge`` with the bandwidth and penalties the metric chose, and against a
known truth (a nonlinear map that kernel ridge captures and ridge does not).
"""
import functools

import numpy as np
import pytest
import torch
from brainscore_vision import load_metric
from sklearn.kernel_ridge import KernelRidge

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import KernelRidgeErrorMetric
from nrp_plugin.core.kernel_references import rbf_kernel_ridge

make_assembly = functools.partial(neuroid_assembly, n_objects=32)
KWARGS = dict(device='cpu', crossvalidation_kwargs=dict(splits=3))


def world(n=320, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 4))
    responses = np.sin(2 * features[:, :2]) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(n, 5))
    return make_assembly(features, 'feature'), make_assembly(responses, 'site')


def test_registration_loads_the_metric():
    assert isinstance(load_metric('nrp_kernel_ridge'), KernelRidgeErrorMetric)


def test_a_nonlinear_map_is_captured_where_ridge_cannot():
    source, target = world()
    kernel = load_metric('nrp_kernel_ridge', **KWARGS)(source, target)
    ridge = load_metric('nrp_ridge', **KWARGS)(source, target)
    assert float(kernel) < 0.6 * float(ridge)
    assert len(kernel.attrs['bandwidth']) == 3


def test_predictions_are_scikit_learns_kernel_ridge_at_the_chosen_settings():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3))
    y = np.tanh(x @ rng.normal(size=(3, 4))) + 0.1 * rng.normal(size=(120, 4))
    prediction, info = rbf_kernel_ridge(torch.as_tensor(x[:100]), torch.as_tensor(y[:100]), torch.as_tensor(x[100:]))
    mean, std = y[:100].mean(axis=0), y[:100].std(axis=0)
    for target in range(4):
        # an intercept by centring: predict the standardised target's deviation, as kernel ridge on a centred kernel
        model = KernelRidge(alpha=info['relative_alpha'][target] * info['kernel_scale'], kernel='rbf',
                            gamma=info['gamma'])
        centred = (y[:100, target] - mean[target]) / std[target]
        expected = _centred_kernel_ridge(model, x[:100], centred, x[100:]) * std[target] + mean[target]
        np.testing.assert_allclose(prediction[:, target].numpy(), expected, rtol=1e-6, atol=1e-8)


def _centred_kernel_ridge(model, x_train, y_train, x_test):
    """scikit-learn's KernelRidge on the kernel centred in feature space (ridge with an intercept)."""
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.preprocessing import KernelCenterer
    centerer = KernelCenterer().fit(rbf_kernel(x_train, gamma=model.gamma))
    train = centerer.transform(rbf_kernel(x_train, gamma=model.gamma))
    test = centerer.transform(rbf_kernel(x_test, x_train, gamma=model.gamma))
    fitted = KernelRidge(alpha=model.alpha, kernel='precomputed').fit(train, y_train)
    return fitted.predict(test)
