"""Tests of the ``nrp`` metric plugin, offline.

The assemblies are generated here with a known answer; the NRP trains briefly (``SHORT``), so the
checks are orderings and analytic bounds that a better-trained NRP also passes.
"""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric

SHORT = dict(max_epochs=60, patience=10)  # a short training keeps the test fast

make_assembly = functools.partial(neuroid_assembly, n_objects=32)


def world(map_kind, n=320, n_features=24, n_sites=12, noise=0.3, seed=0):
    """Features and responses: ``'nonlinear'`` (rectified square of a linear drive) or ``'none'``
    (responses independent of the features: pure N(0, 1) noise)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features))
    if map_kind == 'none':
        responses = rng.normal(size=(n, n_sites))
    else:
        drive = features @ rng.normal(size=(n_features, n_sites)) / np.sqrt(n_features)
        responses = np.maximum(drive, 0) ** 2 + noise * rng.normal(size=(n, n_sites))
    return make_assembly(features, 'feature'), make_assembly(responses, 'site')


def test_registration_loads_the_metric():
    metric = load_metric('nrp', config=SHORT, device='cpu')
    assert isinstance(metric, NRPErrorMetric)
    assert metric.config.max_epochs == SHORT['max_epochs']


def test_nonlinear_map_ordering():
    """A learnable nonlinear map: NRP < linear baseline < predicting the training mean."""
    source, target = world('nonlinear')
    score = load_metric('nrp', config=SHORT, device='cpu')(source, target)
    assert score.attrs['higher_is_better'] is False
    assert float(score) < score.attrs['least_squares_mae'] < score.attrs['mean_predictor_mae']
    assert float(score) < 0.8 * score.attrs['mean_predictor_mae']
    assert score.attrs['pearson'] > 0.5
    assert score.raw.shape == (10, 12)  # Brain-Score's 10 splits x 12 sites


def test_no_information_no_better_than_the_mean():
    """Responses independent of the features: the mean predictor's MAE is sigma * sqrt(2 / pi)
    (analytic, N(0, 1) noise; 10 splits x 32 test images x 12 sites), and no mapping beats it."""
    source, target = world('none')
    score = load_metric('nrp', config=SHORT, device='cpu')(source, target)
    assert score.attrs['mean_predictor_mae'] == pytest.approx(np.sqrt(2 / np.pi), rel=0.06)
    assert float(score) > 0.97 * score.attrs['mean_predictor_mae']


def test_bad_input_is_one_clear_error():
    source, target = world('nonlinear', n=128)
    values = source.values.copy()
    values[3, 2] = np.nan
    broken = source.copy(data=values)
    with pytest.raises(ValueError, match='NaN'):
        load_metric('nrp', config=SHORT, device='cpu')(broken, target)
