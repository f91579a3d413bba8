"""The pre-flight memory check: layer widths from one blank image, and a clear refusal before any scoring."""
import numpy as np
import pytest
from brainscore_vision.model_helpers.activations.pytorch import load_preprocess_images
from PIL import Image

from nrp_plugin.app import cli, compare, memory_check
from nrp_plugin.app.model_specs import load_spec_model
from helpers import TINY_NET


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / 'tiny_net.py'
    path.write_text(TINY_NET)
    return load_spec_model(f'{path}:build'), path


def test_widths_are_the_recorded_features(tiny_model, tmp_path):
    model, _ = tiny_model
    layers = ['conv1', 'conv2', 'pool']
    widths = memory_check.layer_widths(model, layers)
    image = tmp_path / 'image.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(image)
    recorded = model.activations_model.get_activations(load_preprocess_images([str(image)], image_size=64), layers)
    assert widths == {layer: int(np.prod(values.shape[1:])) for layer, values in recorded.items()}


def test_refuses_with_the_size_and_the_option(tiny_model):
    model, _ = tiny_model
    regions = {'V4': ['conv1'], 'IT': ['conv1', 'pool']}
    widths = memory_check.layer_widths(model, ['conv1', 'pool'])
    per_copy = 4 * 1000
    needed = memory_check.COPIES * per_copy * (widths['conv1'] + widths['pool'])
    v4_alone = memory_check.COPIES * per_copy * widths['conv1']
    assert memory_check.check_activation_memory(model, 'tiny', regions, 1000, available=needed) == needed
    with pytest.raises(memory_check.ActivationMemoryError) as error:
        memory_check.check_activation_memory(model, 'tiny', regions, 1000, available=needed - 1)
    message = str(error.value)
    assert 'tiny' in message and "'conv1'" in message and '1,000 stimuli' in message
    assert f'{needed / 2 ** 30:.1f} GB' in message and f'V4 alone {v4_alone / 2 ** 30:.1f} GB' in message
    # V4's layers fit on their own, IT's (a superset here) do not: the advice names only V4
    assert '--regions V4' in message and '--regions IT' not in message
    with pytest.raises(memory_check.ActivationMemoryError, match='No single region fits'):
        memory_check.check_activation_memory(model, 'tiny', regions, 1000, available=v4_alone - 1)


def test_unknown_widths_skip_the_check():
    class NotTorch:
        activations_model = object()
    assert memory_check.check_activation_memory(NotTorch(), 'x', {'IT': ['a']}, 10, available=1) is None


def test_compare_stops_before_recording(tiny_model, tmp_path, monkeypatch, capsys):
    """In memory (--in-memory) a short memory stops the run; out of core (the default) a short scratch disk does."""
    _, path = tiny_model
    monkeypatch.setattr(memory_check, 'available_bytes', lambda: 1024)
    monkeypatch.setattr(compare, 'score_model', lambda *args: pytest.fail('scored although memory was short'))
    arguments = ['compare', '--models', f'{path}:build', '--benchmarks', 'SyntheticMajajHong2015',
                 '--regions', 'IT', '--out', str(tmp_path / 'out'), '--quiet', '--no-cache']
    code = cli.main(arguments + ['--in-memory'])
    err = capsys.readouterr().err
    assert code == 1 and 'GB' in err and 'No single region fits' in err and 'Traceback' not in err
    monkeypatch.setattr(memory_check, 'free_bytes', lambda folder: 1024)
    code = cli.main(arguments)
    err = capsys.readouterr().err
    assert code == 1 and 'NRP_PLUGIN_SCRATCH' in err and '--regions' in err and 'Traceback' not in err


def test_scratch_check_names_the_size_and_the_folder(tiny_model, tmp_path):
    model, _ = tiny_model
    regions = {'V4': ['conv1'], 'IT': ['conv1', 'pool']}
    widths = memory_check.layer_widths(model, ['conv1', 'pool'])
    needed = 4 * 1000 * (widths['conv1'] + widths['pool'])
    assert memory_check.check_scratch_space(model, 'tiny', regions, 1000, tmp_path, free=needed) == needed
    with pytest.raises(memory_check.ScratchSpaceError) as error:
        memory_check.check_scratch_space(model, 'tiny', regions, 1000, tmp_path, free=needed - 1)
    message = str(error.value)
    assert 'tiny' in message and str(tmp_path) in message and f'{needed / 2 ** 30:.1f} GB' in message
    assert f"V4 alone {4 * 1000 * widths['conv1'] / 2 ** 30:.1f} GB" in message
