"""Tests of the ``pls_torch`` metric plugin: Brain-Score's ``pls`` (same algorithm, same splits), in
kernel form and batched over splits. Offline, seconds: checked against Brain-Score's own ``pls``."""
import functools

import numpy as np
import pytest
from brainscore_vision import load_metric

from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.pls_metric import PLSTorchMetric

make_assembly = functools.partial(neuroid_assembly, n_objects=16)


@pytest.fixture(scope='module')
def assemblies():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(256, 60))
    responses = np.tanh(features[:, :10] @ rng.normal(size=(10, 12))) + 0.5 * rng.normal(size=(256, 12))
    return make_assembly(features, 'feature'), make_assembly(responses, 'site')


def test_registration_loads_the_metric():
    assert isinstance(load_metric('pls_torch'), PLSTorchMetric)


def test_equals_brainscore_pls(assemblies):
    source, target = assemblies
    kwargs = dict(crossvalidation_kwargs=dict(stratification_coord='object_name'))
    ours = load_metric('pls_torch', **kwargs)(source, target)
    reference = load_metric('pls', **kwargs)(source, target)
    assert 0.2 < float(reference) < 1  # a real signal, not a degenerate case
    assert float(ours) == pytest.approx(float(reference), abs=1e-6)
    assert float(ours.attrs['error']) == pytest.approx(float(reference.attrs['error']), abs=1e-6)
