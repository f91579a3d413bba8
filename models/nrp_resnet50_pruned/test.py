"""Tests of the pruned-ResNet50 model plugin, offline.

The untrained identifiers need no file; the pretrained ones need torchvision's published weights, so
offline (no file, downloads off) they must fail with one clear message.
"""
import pytest
from brainscore_vision import load_model, load_model_bibtex

from nrp_plugin import references, registry
from nrp_plugin.storage import weights
from nrp_plugin.storage.weights import WeightsUnavailableError


@pytest.fixture(autouse=True)
def no_weights_anywhere(tmp_path, monkeypatch):
    """Weight caches point into tmp_path and downloads are off: nothing touches the network."""
    for name, value in weights.offline_locations(tmp_path, [model.weights for model in registry.MODELS.values()
                                                            if model.weights is not None]).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_untrained_pruned_model_has_the_asked_sparsity():
    model = load_model('resnet50_untrained_pruned30')
    assert model.identifier == 'resnet50_untrained_pruned30'
    # global magnitude pruning of every Conv2d and Linear weight: 30% of them are exactly zero
    assert model.metadata['measured_sparsity'] == pytest.approx(0.30, abs=0.001)
    assert model.metadata['pretrained'] is False
    assert model.layer_model.region_layer_map['IT'] == 'layer4.0'
    assert model.nrp_layers == {'V4': ['layer2', 'layer3.0', 'layer3'], 'IT': ['layer3', 'layer4.0', 'layer4']}
    for layer in model.layers:
        model.activations_model.get_layer(layer)  # every layer names a real module


def test_unpruned_untrained_model_has_no_zero_weights():
    model = load_model('resnet50_untrained_pruned00')
    assert model.metadata['measured_sparsity'] == pytest.approx(0.0, abs=1e-6)


def test_pretrained_offline_is_one_clear_error():
    with pytest.raises(WeightsUnavailableError) as error:
        load_model('resnet50_pruned50')
    message = str(error.value)
    assert 'resnet50-0676ba61.pth' in message and 'NRP_RESNET50_WEIGHTS' in message
    assert 'resnet50_untrained_pruned' in message


@pytest.mark.parametrize('identifier', ['resnet50_pruned00', 'resnet50_untrained_pruned80'])
def test_bibtex(identifier):
    bibtex = load_model_bibtex(identifier)
    assert bibtex == references.ANAND2021 + '\n\n' + references.HE2016
    assert '@inproceedings{he2016deep' in bibtex and '@article{anand2021quantifying' in bibtex
