"""Scoring a network without a plugin: `torchvision:<arch>` and `path/to/file.py:function` specs."""
import json

import numpy as np
import pytest
import torch

from nrp_plugin.app import cli, compare, model_specs
from helpers import FAMILY, TINY_NET



@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / 'tiny_net.py'
    path.write_text(TINY_NET)
    return path


def _one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith('warning:')]
    assert len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]


@pytest.mark.parametrize('function, expected', [
    ('not_a_module', 'not_a_module() returned int, not a torch.nn.Module'),
    ('bad_layer', "layer 'conv9' is not a module of the network (available: 0)"),
    ('raises', 'raises() raised RuntimeError: no GPU here'),
    ('missing', "defines no function 'missing'"),
    ('with_unused_layer', "layer 'aux' never runs in the forward pass (eval mode), so Brain-Score cannot record it; "
                          "drop it from 'layers'"),
    ('tuple_layer', "layer 'pair' outputs a tuple, not a tensor, so Brain-Score cannot record it"),
    ('nothing_runs', "none of its candidate layers (head) runs in the forward pass (eval mode) with a tensor "
                     "output; return 'layers'"),
    ('fails_on_probe', 'the network fails on a 1x3x224x224 probe image in eval mode (RuntimeError: mat1 and mat2 '
                       "shapes cannot be multiplied (1x197136 and 10x2)); return 'image_size'"),
])
def test_bad_file_spec_fails_before_scoring(fakes, net_file, tmp_path, capsys, function, expected):
    code = cli.main(['compare', '--models', f'{net_file}:{function}', '--benchmarks', FAMILY,
                     '--out', str(tmp_path / 'out'), '--quiet'])
    line = _one_line_error(capsys)
    assert code == 2 and fakes['model'] == [] and fakes['score'] == []
    assert expected in line and f'{net_file}:{function}' in line
    assert not (tmp_path / 'out').exists()


def test_missing_file_and_unknown_architecture_are_named_together(fakes, tmp_path, capsys):
    code = cli.main(['compare', '--models', 'torchvision:resnet181', str(tmp_path / 'nope.py') + ':build',
                     '--benchmarks', FAMILY, '--out', str(tmp_path / 'out'), '--quiet'])
    line = _one_line_error(capsys)
    assert code == 2 and fakes['score'] == []
    assert "unknown torchvision architecture 'resnet181' (closest: resnet18" in line
    assert f"no file {tmp_path / 'nope.py'}" in line and 'examples/my_net.py:build' in line


def test_score_command_checks_specs_first(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(compare, 'score_model', lambda *a: pytest.fail('scored a bad spec'))
    assert cli.main(['score', 'torchvision:not_a_net', 'SyntheticMajajHong2015.IT-nrp']) == 2
    assert "unknown torchvision architecture 'not_a_net'" in _one_line_error(capsys)


def test_spec_forms(net_file):
    assert model_specs.is_spec('torchvision:resnet18') and model_specs.is_spec(f'{net_file}:build')
    assert not model_specs.is_spec('cornet_s_untrained') and not model_specs.is_spec('MajajHong2015.IT-nrp')
    model = model_specs.load_spec_model(f'{net_file}:build')
    assert model.layers == ['conv1', 'conv2', 'pool']
    assert dict(model.layer_model.region_layer_map) == {}  # uncommitted: benchmarks commit on public images
    assert model.activations_model.image_size == 64
    assert model.identifier.startswith('tiny_net.build-')
    assert model_specs.load_spec_model(f'{net_file}:as_tuple').layers == ['0']


def test_a_bare_module_gets_default_layers(net_file):
    import torchvision
    network = torchvision.models.resnet18()
    assert model_specs.default_layers(network) == ['conv1', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4',
                                                   'avgpool', 'fc']
    with pytest.raises(model_specs.ModelSpecError, match="'layers' must be a non-empty list"):
        model_specs.check_specs([f'{net_file}:bare'])  # a single Conv2d has no child layers to record


def _tensor_outputs(network, layers, image_size=224):
    """The layers whose forward hooks see a tensor when ``network`` runs in eval mode on one all-zero image."""
    seen = {}

    def hook(name):
        def record(_module, _input, output):
            seen.setdefault(name, isinstance(output, torch.Tensor))
        return record

    handles = [network.get_submodule(layer).register_forward_hook(hook(layer)) for layer in layers]
    with torch.no_grad():
        network.eval()(torch.zeros(1, 3, image_size, image_size))
    for handle in handles:
        handle.remove()
    return [layer for layer in layers if seen.get(layer)]


@pytest.mark.filterwarnings('ignore:The default weight initialization:FutureWarning')
def test_googlenet_candidates_leave_out_the_auxiliary_heads():
    model = model_specs.load_spec_model('torchvision:googlenet')
    network = model.activations_model._model
    structural = model_specs.default_layers(network)
    assert {'aux1', 'aux2'} <= set(structural)  # eval mode never runs them: Brain-Score's hooks would not fire
    assert model.layers == [layer for layer in structural if layer not in ('aux1', 'aux2')]
    assert _tensor_outputs(network, model.layers) == model.layers
    assert model.metadata['layers'] == model.layers


def test_default_layers_keep_only_what_runs_with_a_tensor_output(net_file):
    assert model_specs.load_spec_model(f'{net_file}:unused_layer_left_out').layers == ['conv', 'pool']
    assert model_specs.load_spec_model(f'{net_file}:tuple_left_out').layers == ['head']
    # a container the network iterates instead of calling stands for its children, in place
    assert model_specs.load_spec_model(f'{net_file}:iterated_blocks').layers == ['stem', 'blocks.0', 'blocks.1', 'head']


def test_the_probe_leaves_the_network_as_it_was():
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5),
                                  torch.nn.AdaptiveAvgPool2d(1))
    network.train()
    network[3].eval()
    state = {key: value.clone() for key, value in network.state_dict().items()}
    verdicts = model_specs.probe_layers('net', network, ['0', '1', '3'], image_size=8)
    assert verdicts == {'0': None, '1': None, '3': None}
    assert [module.training for module in network.modules()] == [True, True, True, True, False]
    assert all(torch.equal(value, state[key]) for key, value in network.state_dict().items())  # eval-mode batch norm
    assert not any(module._forward_hooks for module in network.modules())


def test_a_torchvision_network_that_fails_on_the_probe_is_one_line(monkeypatch):
    monkeypatch.setattr(model_specs, 'IMAGE_SIZE', 8)  # too small for squeezenet's pooling
    with pytest.raises(model_specs.ModelSpecError) as error:
        model_specs.check_specs(['torchvision:squeezenet1_1'])
    message = str(error.value)
    assert message.startswith("model 'torchvision:squeezenet1_1': the network fails on a 1x3x8x8 probe image in "
                              "eval mode (RuntimeError: ")
    assert message.endswith("wrap it in a path/to/file.py:function that returns {'model': network, 'image_size': N} "
                            "with the input size it needs") and '\n' not in message


def test_identifier_follows_the_file_content(net_file):
    spec = f'{net_file}:build'
    before, cached_before = model_specs.spec_identifier(spec), model_specs.cache_identifier(spec)
    net_file.write_text(TINY_NET.replace('nn.Conv2d(8, 16, 3', 'nn.Conv2d(8, 12, 3'))
    assert model_specs.spec_identifier(spec) != before and model_specs.cache_identifier(spec) != cached_before
    assert model_specs.cache_identifier('cornet_s_untrained') == 'cornet_s_untrained'


def test_torchvision_is_seeded_and_takes_a_weights_file(tmp_path):
    first = model_specs.load_spec_model('torchvision:resnet18').activations_model._model.state_dict()
    again = model_specs.load_spec_model('torchvision:resnet18').activations_model._model.state_dict()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert model_specs.spec_identifier('torchvision:resnet18') == 'torchvision-resnet18-seed0'
    changed = {key: value.clone() for key, value in first.items()}
    changed['fc.bias'] += 1.0
    path = tmp_path / 'mine.pth'
    torch.save(changed, path)
    loaded = model_specs.load_spec_model(f'torchvision:resnet18:{path}')
    assert torch.equal(loaded.activations_model._model.state_dict()['fc.bias'], first['fc.bias'] + 1.0)
    assert loaded.identifier.startswith('torchvision-resnet18-weights-') and loaded.metadata['pretrained'] is True
    torch.save({'fc.weight': torch.zeros(2, 2)}, path)
    with pytest.raises(model_specs.ModelSpecError, match="does not fit torchvision's resnet18"):
        model_specs.load_spec_model(f'torchvision:resnet18:{path}')


def test_pretrained_offline_is_one_line(tmp_path, monkeypatch):
    for variable, folder in (('TORCH_HOME', 'torch'), ('NRP_PLUGIN_HOME', 'nrp'), ('BRAINSCORE_HOME', 'bs')):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.delenv('NRP_PLUGIN_WEIGHTS_DIR', raising=False)
    monkeypatch.setenv('NRP_PLUGIN_OFFLINE', '1')
    with pytest.raises(model_specs.ModelSpecError) as error:
        model_specs.check_specs(['torchvision:resnet18:pretrained'])
    assert 'resnet18-f37072fd.pth' in str(error.value) and '\n' not in str(error.value)


@pytest.mark.slow
def test_compare_scores_a_file_spec_with_layers_chosen_on_public_images(installed_plugins, net_file, tmp_path,
                                                                         monkeypatch):
    """End to end on the embedded world's IT benchmarks (short NRP training): the layer is committed on
    the public images, never on the scored (private) ones, and recorded with the NRP's inputs."""
    from nrp_plugin.brainscore import layer_choice
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    seen = []
    real_select, real_load = layer_choice.select_on, compare.load_benchmark

    def recording_select(candidate, region, stimuli, assembly, visual_degrees, name):
        if (name, region) not in (getattr(candidate, 'layer_selections', None) or {}):
            seen.append(set(stimuli['stimulus_id']))
        return real_select(candidate, region, stimuli, assembly, visual_degrees, name)

    def short_benchmark(identifier):
        benchmark = real_load(identifier)
        if identifier.endswith('-nrp'):
            benchmark.metric = NRPErrorMetric(config=dict(max_epochs=40, patience=8), device='cpu')
        return benchmark

    monkeypatch.setattr(layer_choice, 'select_on', recording_select)
    monkeypatch.setattr(compare, 'load_benchmark', short_benchmark)
    spec = f'{net_file}:build'
    records = compare.run_compare(models=[spec], families=['SyntheticMajajHong2015'], regions=['IT'],
                                  cache_directory=tmp_path / 'cache', progress=False)
    assert {r['benchmark'] for r in records} == {'SyntheticMajajHong2015.IT-pls', 'SyntheticMajajHong2015.IT-nrp'}
    by_kind = {r['kind']: r for r in records}
    layer = by_kind['pls']['layer']
    assert layer in ('conv1', 'conv2', 'pool') and by_kind['nrp']['layer'] == layer
    layers = ['conv1', 'conv2', 'pool']
    index = layers.index(layer)
    assert by_kind['nrp']['nrp_layers'] == layers[max(0, index - 1):index + 2]
    from nrp_plugin.brainscore.synthetic_data import synthetic_region
    scored = set(synthetic_region('IT', 'private')[0]['stimulus_id'].values)
    assert len(seen) == 1 and seen[0] and not seen[0] & scored  # chosen once, on other images
    assert all(r['model'] == spec for r in records)
    assert 0 <= by_kind['nrp']['score'] <= 1 and np.isfinite(by_kind['pls']['raw_r'])
    assert f'| SyntheticMajajHong2015 | {spec} | IT | {layer} |' in compare.layers_markdown(records)
    again = compare.run_compare(models=[spec], families=['SyntheticMajajHong2015'], regions=['IT'],
                                cache_directory=tmp_path / 'cache', progress=False)
    assert all(r['cached'] for r in again) and [r['layer'] for r in again] == [r['layer'] for r in records]
    json.dumps(records)  # JSON-able, as the cache and table.json need
