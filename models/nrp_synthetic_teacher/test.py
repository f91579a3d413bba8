"""Tests of the ``SyntheticMajajHong2015-teacher`` model plugin: offline, about 30 s (the embedded
world is generated on first use). Through Brain-Score's own recording path, the teacher's region
layers reproduce, value for value, the features that generated the world's responses."""
import numpy as np
import pytest
import torch
from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
from brainscore_vision import load_model, load_model_bibtex

from nrp_plugin import references
from nrp_plugin.synthetic import WorldConfig, load_world

IDENTIFIER = 'SyntheticMajajHong2015-teacher'
N_IMAGES = 24


@pytest.fixture(scope='module')
def teacher():
    return load_model(IDENTIFIER)


def test_commitments(teacher):
    assert teacher.identifier == IDENTIFIER
    assert teacher.layers == ['v1', 'v2', 'v4', 'it']
    assert teacher.nrp_layers == {'V4': ['v4'], 'IT': ['it']}


@pytest.mark.parametrize('region, n_features', [('V4', 64), ('IT', 32)])
def test_activations_are_the_world_features(teacher, region, n_features):
    world = load_world(WorldConfig.preset('default'))
    private = world.get_stimulus_set('private')
    subset = StimulusSet(private.iloc[:N_IMAGES].reset_index(drop=True))
    subset.stimulus_paths = {s: private.stimulus_paths[s] for s in subset['stimulus_id']}
    subset.identifier = None  # no activation caching
    teacher.start_recording(region, time_bins=[(70, 170)])
    activations = teacher.look_at(subset)
    if 'time_bin' in activations.dims:
        activations = activations.squeeze('time_bin')
    activations = activations.transpose('presentation', 'neuroid')
    position = {s: i for i, s in enumerate(subset['stimulus_id'])}
    order = [position[s] for s in activations['stimulus_id'].values]
    features = world.features(region, 'private')[:N_IMAGES][order]
    assert activations.shape == features.shape == (N_IMAGES, n_features)
    tolerance = 1e-2 if torch.cuda.is_available() else 1e-4  # TF32 convolutions on a GPU
    assert np.allclose(activations.values, features, atol=tolerance * float(np.abs(features).max()))


def test_bibtex():
    assert load_model_bibtex(IDENTIFIER) == references.SYNTHETIC_TEACHER
