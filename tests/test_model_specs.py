"""Scoring a network without a plugin: `torchvision:<arch>` and `path/to/file.py:function` specs."""
import json

import numpy as np
import pytest
import torch

from nrp_plugin.app import cli, compare, model_specs
from test_compare import FAMILY, fakes  # noqa: F401 - the fixture

TINY_NET = '''
from torch import nn


def build():
    net = nn.Sequential()
    net.add_module('conv1', nn.Conv2d(3, 8, 5, stride=4))
    net.add_module('relu1', nn.ReLU())
    net.add_module('conv2', nn.Conv2d(8, 16, 3, stride=2))
    net.add_module('pool', nn.AdaptiveAvgPool2d(4))
    return {'model': net, 'layers': LAYERS, 'image_size': 64}


LAYERS = ['conv1', 'conv2', 'pool']


def not_a_module():
    return 3


def bare():
    return nn.Conv2d(3, 4, 3)


def as_tuple():
    return nn.Sequential(nn.Conv2d(3, 4, 3)), ['0']


def bad_layer():
    return {'model': nn.Sequential(nn.Conv2d(3, 4, 3)), 'layers': ['conv9']}


def raises():
    raise RuntimeError('no GPU here')
'''


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
])
def test_bad_file_spec_fails_before_scoring(fakes, net_file, tmp_path, capsys, function, expected):  # noqa: F811
    code = cli.main(['compare', '--models', f'{net_file}:{function}', '--benchmarks', FAMILY,
                     '--out', str(tmp_path / 'out'), '--quiet'])
    line = _one_line_error(capsys)
    assert code == 2 and fakes['model'] == [] and fakes['score'] == []
    assert expected in line and f'{net_file}:{function}' in line
    assert not (tmp_path / 'out').exists()


def test_missing_file_and_unknown_architecture_are_named_together(fakes, tmp_path, capsys):  # noqa: F811
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
    real_commit, real_load = layer_choice.commit_region, compare.load_benchmark

    def recording_commit(candidate, region, stimuli, assembly, visual_degrees):
        seen.append(set(stimuli['stimulus_id']))
        return real_commit(candidate, region, stimuli, assembly, visual_degrees)

    def short_benchmark(identifier):
        benchmark = real_load(identifier)
        if identifier.endswith('-nrp'):
            benchmark.metric = NRPErrorMetric(config=dict(max_epochs=40, patience=8), device='cpu')
        return benchmark

    monkeypatch.setattr(layer_choice, 'commit_region', recording_commit)
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
    assert len(seen) == 1 and seen[0] and not seen[0] & scored  # committed once, on other images
    assert all(r['model'] == spec for r in records)
    assert 0 <= by_kind['nrp']['score'] <= 1 and np.isfinite(by_kind['pls']['raw_r'])
    assert f'| SyntheticMajajHong2015 | {spec} | IT | {layer} |' in compare.layers_markdown(records)
    again = compare.run_compare(models=[spec], families=['SyntheticMajajHong2015'], regions=['IT'],
                                cache_directory=tmp_path / 'cache', progress=False)
    assert all(r['cached'] for r in again) and [r['layer'] for r in again] == [r['layer'] for r in records]
    json.dumps(records)  # JSON-able, as the cache and table.json need
