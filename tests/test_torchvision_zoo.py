"""Every torchvision classification architecture under 100 M parameters as a ``torchvision:<arch>`` spec: its
candidate layers run on the probe image, and Brain-Score's own ``PytorchWrapper`` records all of them."""
import numpy as np
import pytest
import torchvision
from PIL import Image

from nrp_plugin.app import model_specs
from nrp_plugin.brainscore.out_of_core import record_layers

MAX_PARAMETERS = 100_000_000
ARCHITECTURES = sorted(torchvision.models.list_models(module=torchvision.models))

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings('ignore:The default weight initialization:FutureWarning')]


def _published_parameters(architecture):
    """The parameter count torchvision publishes with the architecture's weights, without building it; None
    when it publishes none. A seeded build has at least these (googlenet and inception_v3 add the auxiliary
    heads their published weights leave out), so an architecture at or over the limit here is over it built."""
    try:
        return int(torchvision.models.get_model_weights(architecture).DEFAULT.meta['num_params'])
    except Exception:  # noqa: BLE001 - no published weights or no count: build and count instead
        return None


@pytest.fixture(scope='module')
def two_images(tmp_path_factory):
    """Two 64x64 PNG files of random pixels as a Brain-Score StimulusSet (no identifier: nothing cached)."""
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    directory = tmp_path_factory.mktemp('zoo_images')
    rng = np.random.default_rng(0)
    paths = {}
    for index in range(2):
        stimulus_id = f'image{index}'
        paths[stimulus_id] = directory / f'{stimulus_id}.png'
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[stimulus_id])
    stimuli = StimulusSet({'stimulus_id': list(paths)})
    stimuli.stimulus_paths = paths
    stimuli.identifier = None
    return stimuli


def test_the_zoo_is_the_classification_list():
    assert len(ARCHITECTURES) > 50 and {'googlenet', 'inception_v3', 'resnet18', 'vit_b_16'} <= set(ARCHITECTURES)
    assert not {'fasterrcnn_resnet50_fpn', 'fcn_resnet50', 'r3d_18', 'raft_large'} & set(ARCHITECTURES)


@pytest.mark.parametrize('architecture', ARCHITECTURES)
def test_every_candidate_layer_of_a_torchvision_architecture_is_recorded(architecture, two_images, tmp_path):
    spec = f'{model_specs.TORCHVISION_PREFIX}{architecture}'
    published = _published_parameters(architecture)
    if published is not None and published >= MAX_PARAMETERS:
        pytest.skip(f'{architecture}: {published / 1e6:.0f} M parameters published, over the 100 M limit')
    try:
        model = model_specs.load_spec_model(spec)
    except model_specs.ModelSpecError:
        built, _, _ = model_specs._build(spec)
        parameters = sum(parameter.numel() for parameter in built['model'].parameters())
        del built
        if parameters >= MAX_PARAMETERS:
            pytest.skip(f'{architecture}: {parameters / 1e6:.0f} M parameters built, over the 100 M limit')
        with pytest.raises(model_specs.ModelSpecError) as error:  # what `compare` tells the user, before scoring
            model_specs.check_specs([spec])
        reason = str(error.value)
        assert reason.startswith(f"model '{spec}': ") and '\n' not in reason and 'Traceback' not in reason
        pytest.skip(f'{architecture} cannot be scored: {reason}')
    wrapper = model.activations_model
    parameters = sum(parameter.numel() for parameter in wrapper._model.parameters())
    if parameters >= MAX_PARAMETERS:
        pytest.skip(f'{architecture}: {parameters / 1e6:.0f} M parameters built, over the 100 M limit')
    layers = list(model.layers)
    # each candidate is a default layer, or a child of one that is never called itself (e.g. maxvit_t's blocks)
    defaults = set(model_specs.default_layers(wrapper._model))
    assert layers and all(layer in defaults or layer.rsplit('.', 1)[0] in defaults for layer in layers)
    assert not {layer.rsplit('.', 1)[0] for layer in layers if layer not in defaults} & set(layers)
    wrapper._extractor._batch_size = 2  # Brain-Score pads every batch to 64 images; 2 are enough here
    # scoring's recording (out of core): Brain-Score's helper and the wrapper's hooks, one file per layer;
    # Brain-Score's in-memory packaging cannot put layers of different ranks (e.g. ViT's) into one assembly
    recorded, files = record_layers(wrapper, two_images, layers, tmp_path)
    try:
        assert list(recorded['stimulus_id']) == ['image0', 'image1']  # the files' rows
        assert list(files) == layers  # a layer whose hook did not fire would be missing
        for layer, stored in files.items():
            values = stored.read_all()
            assert values.shape[0] == 2 and values.shape[1] > 0, (layer, values.shape)
            assert np.isfinite(values).all(), layer
    finally:
        for stored in files.values():
            stored.remove()
