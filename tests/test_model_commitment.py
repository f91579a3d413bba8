"""Wrapping a torch network for Brain-Score: the channels-last layout records the same activations."""
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from brainscore_vision.model_helpers.activations.pytorch import load_preprocess_images

from nrp_plugin.brainscore.model_commitment import commit_pytorch_model


@pytest.fixture
def image_paths(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for index in range(6):
        path = tmp_path / f'image{index}.png'
        Image.fromarray(rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def _activations(channels_last, paths, layers):
    torch.manual_seed(0)
    network = torchvision.models.resnet18().eval()
    model = commit_pytorch_model(f'resnet18-test-{channels_last}', network, layers, {'IT': layers[-1]},
                                 image_size=64, channels_last=channels_last)
    extractor = model.activations_model
    values = extractor.get_activations(load_preprocess_images(paths, image_size=64), layers)
    return values, network


def test_channels_last_records_the_same_activations(image_paths):
    layers = ['layer1', 'layer3', 'avgpool']
    plain, plain_net = _activations(False, image_paths, layers)
    fast, fast_net = _activations(True, image_paths, layers)
    assert fast_net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain_net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    for layer in layers:
        assert plain[layer].shape == fast[layer].shape
        np.testing.assert_allclose(fast[layer], plain[layer], rtol=1e-4, atol=1e-5 * np.abs(plain[layer]).max())
