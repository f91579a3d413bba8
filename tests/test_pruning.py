"""Global magnitude pruning, pruned ResNet50 models, the masked fine-tune and the ResNet50 plugin."""
import dataclasses
import copy
import hashlib

import pytest
import torch
from torch import nn

from nrp_plugin import registry
from nrp_plugin.storage import weights
from nrp_plugin.architectures import pruning

pytestmark = pytest.mark.usefixtures('weight_env')

LEVELS = tuple(range(0, 90, 10))
PRETRAINED = tuple(f'resnet50_pruned{level:02d}' for level in LEVELS)
UNTRAINED = tuple(f'resnet50_untrained_pruned{level:02d}' for level in LEVELS)
TOLERANCE = 0.005  # measured sparsity within 0.5 percentage points of the target


class Toy(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.norm(self.conv(x)))).flatten(1))


def _toy(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Toy()


@pytest.fixture(scope='module')
def base_resnet():
    return pruning.resnet50(pretrained=False, seed=0)


def _zero_sets(model):
    return {name: weight == 0 for name, weight in pruning.prunable_weights(model).items()}


def test_sparsity_counts_only_conv_and_linear_weights():
    model = _toy()
    assert list(pruning.prunable_weights(model)) == ['conv.weight', 'fc.weight']
    with torch.no_grad():
        model.conv.bias.zero_()
        model.fc.weight[0].zero_()
    assert pruning.measure_sparsity(model) == pytest.approx(8 / (8 * 3 * 9 + 16))


def test_exact_count_with_ties():
    """All-equal magnitudes: exactly round(s * n) weights go, earliest first, and the sets are nested."""
    previous = None
    for sparsity in (0.1, 0.25, 0.5, 0.9):
        model = _toy()
        with torch.no_grad():
            for weight in pruning.prunable_weights(model).values():
                weight.fill_(0.5)
        pruning.global_magnitude_prune(model, sparsity)
        report = pruning.sparsity_report(model)
        assert report['zeros'] == round(sparsity * report['total'])
        zeros = torch.cat([z.flatten() for z in _zero_sets(model).values()])
        if previous is not None:
            assert bool((zeros | ~previous).all())  # previous zero set contained in this one
        previous = zeros


def test_biases_and_batch_norm_untouched():
    model = _toy()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    pruning.global_magnitude_prune(model, 0.6)
    after = model.state_dict()
    for key in ('conv.bias', 'fc.bias', 'norm.weight', 'norm.bias', 'norm.running_mean'):
        assert torch.equal(before[key], after[key]), key
    kept = pruning.prunable_weights(model)['conv.weight'] != 0
    assert torch.equal(after['conv.weight'][kept], before['conv.weight'][kept])  # survivors keep their values


@pytest.mark.parametrize('sparsity', [-0.1, 1.0, 1.5])
def test_invalid_sparsity(sparsity):
    with pytest.raises(ValueError, match='sparsity'):
        pruning.global_magnitude_masks(_toy(), sparsity)


def test_resnet50_levels_exact_monotone_and_global(base_resnet):
    low, high = copy.deepcopy(base_resnet), copy.deepcopy(base_resnet)
    pruning.global_magnitude_prune(low, 0.2)
    pruning.global_magnitude_prune(high, 0.5)
    assert abs(pruning.measure_sparsity(low) - 0.2) <= TOLERANCE
    assert abs(pruning.measure_sparsity(high) - 0.5) <= TOLERANCE
    low_zeros, high_zeros = _zero_sets(low), _zero_sets(high)
    for name in low_zeros:
        assert bool((high_zeros[name] | ~low_zeros[name]).all()), name  # zeros at 20% stay zero at 50%
    assert sum(int(z.sum()) for z in high_zeros.values()) > sum(int(z.sum()) for z in low_zeros.values())
    # global, not per layer: the layers end up with very different sparsities
    per_layer = pruning.sparsity_report(high)['per_layer'].values()
    assert max(per_layer) - min(per_layer) > 0.2
    # the kept weights are the large ones: every kept magnitude >= every pruned magnitude
    original = pruning.prunable_weights(base_resnet)
    kept = torch.cat([original[n].detach().abs()[~z].flatten() for n, z in high_zeros.items()])
    pruned = torch.cat([original[n].detach().abs()[z].flatten() for n, z in high_zeros.items()])
    assert kept.min() >= pruned.max()


def test_seeded_resnet50_is_reproducible(base_resnet):
    again = pruning.resnet50(pretrained=False, seed=0)
    other = pruning.resnet50(pretrained=False, seed=1)
    state = base_resnet.state_dict()
    assert all(torch.equal(state[key], again.state_dict()[key]) for key in state)
    assert not torch.equal(state['layer1.0.conv1.weight'], other.state_dict()['layer1.0.conv1.weight'])


def test_finetune_needs_imagenet():
    model = _toy()
    masks = pruning.global_magnitude_prune(model, 0.5)
    with pytest.raises(pruning.FineTuneError, match='ImageNet') as info:
        pruning.finetune_pruned(model, masks)
    assert 'NRP_IMAGENET_DIR' in str(info.value) and 'resnet50_prunedNN' in str(info.value)


def test_finetune_keeps_the_mask(tmp_path):
    from PIL import Image
    generator = torch.Generator().manual_seed(0)
    for label in ('n01', 'n02'):
        folder = tmp_path / 'imagenet' / 'train' / label
        folder.mkdir(parents=True)
        for index in range(3):
            pixels = (torch.rand(20, 20, 3, generator=generator) * 255).to(torch.uint8).numpy()
            Image.fromarray(pixels).save(folder / f'{index}.png')
    model = _toy()
    masks = pruning.global_magnitude_prune(model, 0.5)
    before = {name: weight.detach().clone() for name, weight in pruning.prunable_weights(model).items()}
    summary = pruning.finetune_pruned(model, masks, imagenet_dir=tmp_path / 'imagenet', max_steps=3, batch_size=2,
                                      lr=0.5, image_size=16, num_workers=0, device='cpu')
    assert summary['steps'] == 3
    assert summary['measured_sparsity'] == pytest.approx(0.5, abs=1 / 232)
    for name, weight in pruning.prunable_weights(model).items():
        assert bool((weight[~masks[name]] == 0).all()), name  # pruned weights stay zero
    assert not torch.equal(before['conv.weight'], pruning.prunable_weights(model)['conv.weight'])  # it trained


def test_offline_pretrained_resnet_raises_clear_error():
    with pytest.raises(weights.WeightsUnavailableError) as info:
        pruning.pruned_resnet50(0.3)
    message = str(info.value)
    assert 'resnet50-0676ba61.pth' in message and 'NRP_RESNET50_WEIGHTS' in message
    assert 'resnet50_untrained_pruned' in message


def test_plugin_identifiers_register_and_load(installed_plugins, monkeypatch):
    """All 18 identifiers: one registration line each, in our folder, no in-tree clash, and each loads
    with load_model into a commitment built from the right (pretrained, sparsity) pair. The network
    itself is a small stand-in here (real builds: the next test)."""
    import brainscore_vision
    import torchvision
    from brainscore_core.plugin_management.import_plugin import ImportPlugin
    from brainscore_vision.models.nrp_resnet50_pruned import model as plugin
    from nrp_plugin.app.installer import brainscore_root, registrations
    ours = PRETRAINED + UNTRAINED
    for identifier in ours:
        assert ImportPlugin('brainscore_vision', 'models', identifier).plugin_dirname == 'nrp_resnet50_pruned'
    taken = {identifier.lower() for init in (brainscore_root() / 'models').glob('*/__init__.py')
             if init.parent.name not in ('nrp_resnet50_pruned', 'nrp_cornet_s')
             for _, identifier in registrations(init)}
    assert 'resnet50_tutorial' in taken and not {identifier.lower() for identifier in ours} & taken

    calls = []

    def small_pruned_resnet(sparsity, pretrained=True, weights_path=None, **kwargs):
        calls.append((round(sparsity, 6), pretrained))
        network = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1])
        pruning.global_magnitude_prune(network, sparsity)
        return network.eval(), {'pruning': 'one-shot', 'target_sparsity': sparsity, 'pretrained': pretrained,
                                'measured_sparsity': pruning.measure_sparsity(network)}
    monkeypatch.setattr(plugin.pruning, 'pruned_resnet50', small_pruned_resnet)
    for identifier in ours:
        model = brainscore_vision.load_model(identifier)
        assert model.identifier == identifier and model.activations_model.identifier == identifier
        assert model.metadata['pretrained'] is identifier.startswith('resnet50_pruned')
        assert abs(model.metadata['measured_sparsity'] - int(identifier[-2:]) / 100) <= TOLERANCE
        assert model.layer_model.region_layer_map == {'V1': 'layer1.0', 'V2': 'layer3.0', 'V4': 'layer3.0',
                                                      'IT': 'layer4.0'}
        assert set(model.nrp_layers) == {'V4', 'IT'}
        for layers in model.nrp_layers.values():
            assert 2 <= len(layers) <= 4
            for layer in layers:
                model.activations_model.get_layer(layer)  # names a real module
    assert calls == [(level / 100, True) for level in LEVELS] + [(level / 100, False) for level in LEVELS]


@pytest.mark.parametrize('identifier', ['resnet50_pruned00', 'resnet50_pruned80', 'resnet50_untrained_pruned50'])
def test_plugin_builds_real_pruned_resnet50(identifier, installed_plugins, tmp_path, monkeypatch):
    import brainscore_vision
    # a stand-in for the torchvision file (seeded weights), registered under its own hash
    stand_in = pruning.resnet50(pretrained=False, seed=3)
    path = tmp_path / 'resnet50-0676ba61.pth'
    torch.save(stand_in.state_dict(), path)
    monkeypatch.setattr(registry, 'RESNET50_WEIGHTS', dataclasses.replace(
        registry.RESNET50_WEIGHTS, digest=hashlib.sha256(path.read_bytes()).hexdigest()))
    monkeypatch.setenv('NRP_RESNET50_WEIGHTS', str(path))

    model = brainscore_vision.load_model(identifier)
    target = int(identifier[-2:]) / 100
    metadata = model.metadata
    pretrained = identifier.startswith('resnet50_pruned')
    assert metadata['pretrained'] is pretrained
    assert metadata['pruning'] == 'one-shot' and metadata['finetuned'] is False
    assert metadata['target_sparsity'] == target
    network = model.activations_model._model
    measured = pruning.measure_sparsity(network)
    assert abs(measured - target) <= TOLERANCE
    assert metadata['measured_sparsity'] == pytest.approx(measured, abs=1e-9)
    reference = pruning.prunable_weights(stand_in if pretrained else pruning.resnet50(pretrained=False, seed=0))
    if target == 0:  # nothing pruned: exactly the file's weights
        assert metadata['weights'] == str(path)
        assert all(torch.equal(weight.cpu(), reference[name])
                   for name, weight in pruning.prunable_weights(network).items())
    else:  # survivors are the file's (or the seed's) weights, unchanged
        for name, weight in pruning.prunable_weights(network).items():
            kept = weight != 0
            assert torch.equal(weight[kept].cpu(), reference[name][kept.cpu()]), name
    with torch.no_grad():
        assert tuple(network(torch.zeros(1, 3, 64, 64, device=next(network.parameters()).device)).shape) == (1, 1000)


def test_finetuned_variant_needs_imagenet(installed_plugins):
    from brainscore_vision.models.nrp_resnet50_pruned import model as plugin
    with pytest.raises(pruning.FineTuneError, match='NRP_IMAGENET_DIR'):
        plugin.get_finetuned_model('resnet50_untrained_pruned50')
    with pytest.raises(ValueError, match='Unknown identifier'):
        plugin.facts('resnet50_pruned90')
