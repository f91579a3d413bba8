"""CORnet-S: shapes, recurrence, hooks on recurrent areas, checkpoint loading, the Brain-Score plugin."""
import dataclasses
import hashlib
from collections import defaultdict

import numpy as np
import pytest
import torch

from nrp_plugin import registry
from nrp_plugin.storage import weights
from nrp_plugin.architectures import cornet_s as cs

pytestmark = pytest.mark.usefixtures('weight_env')


@torch.no_grad()
def area_outputs(model, x, all_steps=False):
    """Each area's output (its final time step); with ``all_steps``, a recurrent area's per-step states."""
    outputs = {}
    for area in cs.AREAS:
        module = getattr(model, area)
        if all_steps and isinstance(module, cs.RecurrentArea):
            x, outputs[area] = module(x, return_steps=True)
        else:
            x = outputs[area] = module(x)
    return outputs

IDENTIFIERS = ('cornet_s', 'cornet_s_untrained')


@pytest.fixture(scope='module')
def model():
    return cs.cornet_s_untrained()


def _images(n=2, size=64, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_shapes_at_224(model):
    x = _images(n=1, size=224)
    with torch.no_grad():
        outputs = area_outputs(model, x)
        logits = model(x)
    assert {area: tuple(out.shape) for area, out in outputs.items()} == {
        'V1': (1, 64, 56, 56), 'V2': (1, 128, 28, 28), 'V4': (1, 256, 14, 14), 'IT': (1, 512, 7, 7)}
    assert tuple(logits.shape) == (1, 1000)


def test_logits_batch_shape(model):
    with torch.no_grad():
        assert tuple(model(_images(n=3)).shape) == (3, 1000)


def test_parameters_match_the_published_model(model):
    # 53,416,616 is the parameter count Brain-Score's metadata gives for CORnet-S
    assert sum(p.numel() for p in model.parameters()) == 53_416_616
    keys = set(model.state_dict())
    for name in ('V1.conv1.weight', 'V1.norm1.running_var', 'V1.conv2.weight', 'V1.norm2.weight',
                 'V2.conv_input.weight', 'V2.skip.weight', 'V2.norm_skip.bias', 'V2.conv1.weight', 'V2.conv2.weight',
                 'V2.conv3.weight', 'V2.norm1_1.weight', 'V4.norm3_3.running_mean', 'IT.norm2_1.bias',
                 'decoder.linear.weight', 'decoder.linear.bias'):
        assert name in keys, name
    assert 'V4.norm1_4.weight' not in keys and 'IT.norm1_2.weight' not in keys and 'V1.conv1.bias' not in keys
    assert tuple(model.state_dict()['V4.conv2.weight'].shape) == (1024, 1024, 3, 3)


def test_recurrence_steps_and_stride(model):
    assert dict(model.time_steps()) == {'V1': 1, 'V2': 2, 'V4': 4, 'IT': 2}
    calls = defaultdict(list)
    hooks = []
    for name in ('V1.conv1', 'V2.conv1', 'V4.conv1', 'IT.conv1', 'V2.output', 'V4.output', 'IT.output',
                 'V4.conv2', 'V4.norm1_2', 'decoder.output'):
        module = model.get_submodule(name)
        hooks.append(module.register_forward_hook(
            lambda _m, inputs, output, name=name: calls[name].append((tuple(inputs[0].shape), tuple(output.shape)))))
    try:
        with torch.no_grad():
            model(_images(n=1, size=64))
    finally:
        for hook in hooks:
            hook.remove()
    counts = {name: len(value) for name, value in calls.items()}
    assert counts == {'V1.conv1': 1, 'V2.conv1': 2, 'V4.conv1': 4, 'IT.conv1': 2, 'V2.output': 1, 'V4.output': 1,
                      'IT.output': 1, 'V4.conv2': 4, 'V4.norm1_2': 1, 'decoder.output': 1}
    # the 3x3 convolution halves the map on the first time step only
    assert [(i[2], o[2]) for i, o in calls['V4.conv2']] == [(8, 4), (4, 4), (4, 4), (4, 4)]


def test_hooks_on_recurrent_areas_report_the_final_step():
    """Brain-Score's PytorchWrapper sees each area's final time step, which is also what the next area gets."""
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper
    model = cs.cornet_s_untrained()  # its own copy: the wrapper moves it to the GPU when there is one
    x = _images(n=2, size=64, seed=3)
    wrapper = PytorchWrapper(identifier='cornet_s_hook_test', model=model, preprocessing=None)
    recorded = wrapper.get_activations(list(x), ['V4.output', 'V4.conv1'])
    x = x.to(next(model.parameters()).device)
    steps = [step.cpu() for step in area_outputs(model, x, all_steps=True)['V4']]
    assert len(steps) == 4
    tolerance = dict(rtol=1e-4, atol=1e-4) if x.is_cuda else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(recorded['V4.output'], steps[-1].numpy(), **tolerance)
    assert not np.allclose(recorded['V4.output'], steps[0].numpy(), atol=1e-3)
    it_input = []
    hook = model.IT.register_forward_pre_hook(lambda _m, inputs: it_input.append(inputs[0].cpu()))
    conv1_calls = []
    hook2 = model.V4.conv1.register_forward_hook(lambda _m, _i, output: conv1_calls.append(output.cpu()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        hook.remove()
        hook2.remove()
    np.testing.assert_allclose(recorded['V4.output'], it_input[0].numpy(), **tolerance)
    np.testing.assert_allclose(recorded['V4.conv1'], conv1_calls[-1].numpy(), **tolerance)
    assert len(conv1_calls) == 4 and tuple(conv1_calls[0].shape[2:]) == (8, 8)  # step 0 runs before the stride
    assert not np.allclose(recorded['V4.conv1'], conv1_calls[-2].numpy(), atol=1e-3)


def test_seeded_initialisation():
    first, second, other = cs.cornet_s_untrained(seed=0), cs.cornet_s_untrained(seed=0), cs.cornet_s_untrained(seed=1)
    state, again = first.state_dict(), second.state_dict()
    assert all(torch.equal(state[key], again[key]) for key in state)
    assert not torch.equal(state['V4.conv2.weight'], other.state_dict()['V4.conv2.weight'])
    before = torch.random.get_rng_state()
    cs.cornet_s_untrained(seed=5)
    assert torch.equal(before, torch.random.get_rng_state())  # global RNG untouched


def _save_checkpoint(model, path, drop_batch_counters=False):
    state = {f'module.{key}': value for key, value in model.state_dict().items()
             if not (drop_batch_counters and key.endswith('num_batches_tracked'))}
    torch.save({'epoch': 43, 'arch': 'CORnet_S', 'state_dict': state}, path)
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_checkpoint_loads_through_the_weight_path(tmp_path, monkeypatch):
    """A checkpoint in the published layout (dict with 'state_dict', `module.` prefix, and, like a
    2018 checkpoint, no num_batches_tracked entries) loads into the pretrained model via
    nrp_plugin.storage.weights, hash check included, and computes exactly what the source model computes."""
    source = cs.cornet_s_untrained(seed=7)
    path = tmp_path / 'cornet_s_epoch43.pth.tar'
    sha1 = _save_checkpoint(source, path, drop_batch_counters=True)
    monkeypatch.setattr(registry, 'CORNET_S_WEIGHTS', dataclasses.replace(registry.CORNET_S_WEIGHTS, digest=sha1))
    monkeypatch.setenv('NRP_CORNET_S_WEIGHTS', str(path))
    loaded = cs.cornet_s_pretrained()
    assert loaded.weights_path == str(path)
    x = _images(n=2, size=64, seed=1)
    with torch.no_grad():
        assert torch.equal(loaded(x), source.eval()(x))
    # the published hash is enforced: the same file against the real sha1 is refused
    monkeypatch.setattr(registry, 'CORNET_S_WEIGHTS', registry.MODELS['cornet_s'].weights)
    with pytest.raises(weights.WeightsChecksumError, match='a4bfd8eda33b45fd945da1b972ab0b7cad38d60f'):
        cs.cornet_s_pretrained()


def test_checkpoint_prefix_handling():
    tensor = torch.zeros(1)
    assert list(cs.state_dict_from_checkpoint({'state_dict': {'module.V1.conv1.weight': tensor}})) == [
        'V1.conv1.weight']
    assert list(cs.state_dict_from_checkpoint({'V1.conv1.weight': tensor})) == ['V1.conv1.weight']
    # only the leading `module.` is stripped
    assert list(cs.state_dict_from_checkpoint({'module.V2.module.x': tensor})) == ['V2.module.x']


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'module.fc.weight': torch.zeros(2, 2)}}, path)
    with pytest.raises(weights.WeightsError, match='does not fit this CORnet-S architecture'):
        cs.load_cornet_s_weights(cs.CORnetS(), path)


def test_offline_pretrained_model_raises_clear_error():
    with pytest.raises(weights.WeightsUnavailableError) as info:
        cs.cornet_s_pretrained()
    message = str(info.value)
    assert 'cornet_s_epoch43.pth.tar' in message and 'NRP_CORNET_S_WEIGHTS' in message
    assert 'cornet_s_untrained' in message


def test_plugin_registered_and_loads(installed_plugins, tmp_path, monkeypatch):
    import brainscore_vision
    from brainscore_core.plugin_management.import_plugin import ImportPlugin
    for identifier in IDENTIFIERS:  # exactly one registration line, in our folder
        assert ImportPlugin('brainscore_vision', 'models', identifier).plugin_dirname == 'nrp_cornet_s'
    untrained = brainscore_vision.load_model('cornet_s_untrained')
    assert untrained.identifier == 'cornet_s_untrained'
    assert untrained.layer_model.region_layer_map['IT'] == 'IT.output'
    assert untrained.metadata['pretrained'] is False
    for region in ('V4', 'IT'):
        assert 2 <= len(untrained.nrp_layers[region]) <= 4
        for layer in untrained.nrp_layers[region]:
            untrained.activations_model.get_layer(layer)  # every candidate names a real module
    # the pretrained identifier loads through the same weight path (a stand-in file, its hash registered)
    with pytest.raises(weights.WeightsUnavailableError, match='cornet_s_untrained'):
        brainscore_vision.load_model('cornet_s')
    path = tmp_path / 'cornet_s_epoch43.pth.tar'
    monkeypatch.setattr(registry, 'CORNET_S_WEIGHTS', dataclasses.replace(
        registry.CORNET_S_WEIGHTS, digest=_save_checkpoint(cs.cornet_s_untrained(seed=11), path)))
    monkeypatch.setenv('NRP_CORNET_S_WEIGHTS', str(path))
    pretrained = brainscore_vision.load_model('cornet_s')
    assert pretrained.identifier == 'cornet_s' and pretrained.metadata['pretrained'] is True
    assert pretrained.metadata['weights'] == str(path)
    assert pretrained.nrp_layers == untrained.nrp_layers


def test_identifiers_do_not_collide_with_in_tree_models(installed_plugins):
    from nrp_plugin.app.installer import brainscore_root, registrations
    root = brainscore_root()
    ours = {'nrp_cornet_s', 'nrp_resnet50_pruned'}
    taken = {identifier for init in (root / 'models').glob('*/__init__.py') if init.parent.name not in ours
             for _, identifier in registrations(init)}
    assert 'CORnet-S' in taken  # the scan sees in-tree registrations
    assert not {identifier.lower() for identifier in IDENTIFIERS} & {identifier.lower() for identifier in taken}
