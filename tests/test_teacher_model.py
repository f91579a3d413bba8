"""The teacher network as the Brain-Score model 'SyntheticMajajHong2015-teacher'."""

import numpy as np
import pytest
import torch

from helpers import recorded_features, stimulus_subset
from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import WorldConfig
from nrp_plugin.synthetic.teacher import TeacherNet, preprocess_images

IDENTIFIER = 'SyntheticMajajHong2015-teacher'


@pytest.fixture(scope='module')
def default_world():
    return load_world(WorldConfig.preset('default'))


@pytest.fixture(scope='module')
def teacher(installed_plugins):
    import brainscore_vision
    return brainscore_vision.load_model(IDENTIFIER)


@pytest.mark.parametrize('kind, identifier, folder', [
    ('models', IDENTIFIER, 'nrp_synthetic_teacher'),
    ('data', 'SyntheticMajajHong2015', 'nrp_synthetic_majajhong2015'),
    ('data', 'SyntheticMajajHong2015.public', 'nrp_synthetic_majajhong2015'),
    ('data', 'SyntheticMajajHong2015.private', 'nrp_synthetic_majajhong2015')])
def test_brainscore_resolves_each_identifier_to_its_folder(installed_plugins, kind, identifier, folder):
    """Brain-Score's own lookup, which refuses an identifier registered on no line or on several."""
    from brainscore_core.plugin_management.import_plugin import ImportPlugin
    assert ImportPlugin('brainscore_vision', kind, identifier).plugin_dirname == folder


def test_teacher_weights_are_fixed_by_the_seed():
    first, again, other = TeacherNet(0), TeacherNet(0), TeacherNet(1)
    for (name, a), (_, b), (_, c) in zip(first.state_dict().items(), again.state_dict().items(),
                                         other.state_dict().items()):
        assert torch.equal(a, b), name
    assert not torch.equal(first.v4[1].weight, other.v4[1].weight)
    assert torch.equal(first.v1[0].weight, other.v1[0].weight)  # the Gabor stage is seed-free


def test_load_model_gives_the_committed_teacher(teacher):
    from brainscore_vision.model_helpers.brain_transformation import ModelCommitment
    assert isinstance(teacher, ModelCommitment)
    assert teacher.identifier == IDENTIFIER
    assert teacher.visual_degrees() == 8
    assert teacher.nrp_layers == {'V4': ['v4'], 'IT': ['it']}
    assert teacher.layers == ['v1', 'v2', 'v4', 'it']


@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_activations_are_the_world_features(teacher, default_world, region):
    """Through Brain-Score's own recording path, the teacher's region layer reproduces the features that
    generated the world (70 images: a batch of 64 plus a padded one)."""
    values = recorded_features(teacher, stimulus_subset(default_world, 'private', 70), region)
    features = default_world.features(region, 'private')[:70]
    assert values.shape == features.shape == (70, {'V4': 64, 'IT': 32}[region])
    assert features.std() > 0.1
    if torch.cuda.is_available():  # the wrapper runs on the GPU there (TF32 convolutions)
        np.testing.assert_allclose(values, features, rtol=2e-2, atol=2e-2 * features.std())
    else:
        np.testing.assert_array_equal(values, features)


def test_generation_preprocesses_images_as_brainscore_does(default_world, tmp_path):
    """The world's features come from the same pixels the registered model sees: the generator's own
    preprocessing equals Brain-Score's ``load_preprocess_images``, value for value (RGB, alpha and grey images)."""
    from brainscore_vision.model_helpers.activations.pytorch import load_preprocess_images
    from PIL import Image
    paths = [str(path) for path in list(default_world.get_stimulus_set('private').stimulus_paths.values())[:5]]
    for mode in ('RGBA', 'L'):
        converted = tmp_path / f'{mode}.png'
        Image.open(paths[0]).convert(mode).save(converted)
        paths.append(str(converted))
    ours, theirs = preprocess_images(paths), load_preprocess_images(paths, image_size=96)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == (7, 3, 96, 96)
    np.testing.assert_array_equal(ours, theirs)
