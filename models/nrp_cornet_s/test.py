"""Tests of the CORnet-S model plugin, offline.

``cornet_s_untrained`` needs no file; ``cornet_s`` needs the published checkpoint, so offline (no file,
downloads off) it must fail with one clear message naming the file and the untrained alternative.
"""
import pytest
import torch
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


@pytest.fixture(scope='module')
def untrained():
    return load_model('cornet_s_untrained')


def test_untrained_commitments(untrained):
    assert untrained.identifier == 'cornet_s_untrained'
    assert untrained.visual_degrees() == 8
    assert {region: untrained.layer_model.region_layer_map[region] for region in ('V1', 'V2', 'V4', 'IT')} == {
        'V1': 'V1.output', 'V2': 'V2.output', 'V4': 'V4.output', 'IT': 'IT.output'}
    assert untrained.nrp_layers == {'V4': ['V2.output', 'V4.output', 'IT.output'],
                                    'IT': ['V4.output', 'IT.output', 'decoder.avgpool']}
    assert untrained.metadata['time_steps'] == {'V1': 1, 'V2': 2, 'V4': 4, 'IT': 2}
    for layer in untrained.layers:
        untrained.activations_model.get_layer(layer)  # every layer names a real module


def test_untrained_weights_are_seeded(untrained):
    again = load_model('cornet_s_untrained')
    first = untrained.activations_model._model.state_dict()
    second = again.activations_model._model.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key].cpu(), second[key].cpu()) for key in first)
    # CORnet-S's published parameter count (conv and linear weights, batch norms): 53.4 million
    count = sum(p.numel() for p in untrained.activations_model._model.parameters())
    assert count == pytest.approx(53.4e6, rel=0.01)


def test_pretrained_offline_is_one_clear_error():
    with pytest.raises(WeightsUnavailableError) as error:
        load_model('cornet_s')
    message = str(error.value)
    assert 'cornet_s_epoch43.pth.tar' in message and 'NRP_CORNET_S_WEIGHTS' in message
    assert 'cornet_s_untrained' in message


@pytest.mark.parametrize('identifier', ['cornet_s', 'cornet_s_untrained'])
def test_bibtex(identifier):
    assert load_model_bibtex(identifier) == references.KUBILIUS2019
    assert '@inproceedings{kubilius2019brain' in load_model_bibtex(identifier)
