"""Tests of the ``SyntheticMajajHong2015-teacher`` model plugin: offline, about 30 s (the embedded
world is generated on first use). Through Brain-Score's own recording path, the teacher's region
layers reproduce, value for value, the features that generated the world's responses."""
import numpy as np
import pytest
import torch
from brainscore_vision import load_model, load_model_bibtex

from nrp_plugin import references
from nrp_plugin.brainscore.synthetic_world import load_world, stimulus_rows
from nrp_plugin.synthetic import WorldConfig

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
    stimuli = stimulus_rows(private, np.arange(len(private)) < N_IMAGES, None)  # no identifier: nothing cached
    teacher.start_recording(region, time_bins=[(70, 170)])
    recorded = teacher.look_at(stimuli)
    recorded = recorded.squeeze('time_bin') if 'time_bin' in recorded.dims else recorded
    recorded = recorded.transpose('presentation', 'neuroid')
    row = {stimulus_id: index for index, stimulus_id in enumerate(recorded['stimulus_id'].values)}
    values = recorded.values[[row[stimulus_id] for stimulus_id in stimuli['stimulus_id']]]
    features = world.features(region, 'private')[:N_IMAGES]
    assert values.shape == features.shape == (N_IMAGES, n_features)
    tolerance = 1e-2 if torch.cuda.is_available() else 1e-4  # TF32 convolutions on a GPU
    assert np.allclose(values, features, atol=tolerance * float(np.abs(features).max()))


def test_bibtex():
    assert load_model_bibtex(IDENTIFIER) == references.SYNTHETIC_TEACHER
