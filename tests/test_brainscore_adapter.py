"""The private members of Brain-Score's activations extractor that this package reads, checked by name.

:mod:`nrp_plugin.brainscore.extractor` is the only module that reaches into them. A Brain-Score release that
renames or changes one fails here, naming it, instead of deep inside an out-of-core recording.
"""
import inspect

import numpy as np
import pytest
import torch
from brainscore_vision.model_helpers.activations.core import ActivationsExtractorHelper
from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images

from nrp_plugin.brainscore.extractor import Extractor, network_of


def test_the_batch_function_takes_what_the_adapter_passes():
    parameters = inspect.signature(ActivationsExtractorHelper._get_batch_activations).parameters
    assert {'inputs', 'layer_names', 'batch_size'} <= set(parameters), list(parameters)


@pytest.fixture(scope='module')
def wrapper():
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(2))
    return PytorchWrapper(identifier='adapter-check', model=network,
                          preprocessing=lambda paths: load_preprocess_images(paths, image_size=16))


def test_the_wrapper_still_has_every_member_the_adapter_reads(wrapper):
    helper = wrapper._extractor
    for name in ('_batch_size', '_stimulus_set_hooks', '_batch_activations_hooks', '_microsaccade_helper',
                 '_resolution'):
        assert hasattr(helper, name), f"Brain-Score's ActivationsExtractorHelper has no {name} any more"
    assert isinstance(wrapper._model, torch.nn.Module)
    assert Extractor.supports(wrapper)
    adapter = Extractor(wrapper)
    assert adapter.network is wrapper._model and network_of(wrapper) is wrapper._model
    assert adapter.batch_size == int(helper._batch_size) and not adapter.has_hooks and adapter.has_microsaccades


def test_one_batch_is_what_brainscore_records(wrapper, tmp_path):
    from PIL import Image
    paths = []
    for index in range(3):
        path = tmp_path / f'image{index}.png'
        Image.fromarray((np.random.default_rng(index).random((16, 16, 3)) * 255).astype(np.uint8)).save(path)
        paths.append(str(path))
    batch = Extractor(wrapper).batch(paths, ['1'])
    assert set(batch) == {'1'} and np.asarray(batch['1']).shape[0] == 3
    with torch.no_grad():
        expected = wrapper._model(torch.as_tensor(load_preprocess_images(paths, image_size=16)))
    np.testing.assert_allclose(np.asarray(batch['1']).reshape(3, -1), expected.reshape(3, -1).numpy(), rtol=1e-6)
