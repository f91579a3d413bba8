"""The in-run activations memo: each layer computed once, results equal to asking the extractor."""
import numpy as np
import pandas as pd
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

from nrp_plugin.app.activation_memo import ActivationMemo


class Stimuli(pd.DataFrame):
    _metadata = ['identifier']


class CountingExtractor:
    """Deterministic activations: layer k, stimulus i, unit j -> k * 1000 + i * 10 + j."""

    def __init__(self):
        self.calls = []

    def __call__(self, stimuli, layers, **kwargs):
        self.calls.append(list(layers))
        n = len(stimuli)
        blocks, layer_coord, unit = [], [], []
        for layer in layers:
            k = int(layer[1:])
            blocks.append(k * 1000 + np.arange(n)[:, None] * 10 + np.arange(3)[None])
            layer_coord += [layer] * 3
            unit += list(range(3))
        return NeuroidAssembly(np.concatenate(blocks, axis=1),
                               coords={'stimulus_id': ('presentation', list(stimuli['stimulus_id'])),
                                       'layer': ('neuroid', layer_coord), 'unit': ('neuroid', unit)},
                               dims=['presentation', 'neuroid'])


def stimuli(name):
    frame = Stimuli({'stimulus_id': [f's{i}' for i in range(4)]})
    frame.identifier = name
    return frame


def test_each_layer_is_computed_once_and_answers_match():
    extractor = CountingExtractor()
    memo = ActivationMemo(extractor, prefetch=['L1', 'L2', 'L3'])
    first = memo(stimuli('a'), layers=['L2'])
    second = memo(stimuli('a'), layers=['L1', 'L3'])
    assert extractor.calls == [['L1', 'L2', 'L3']]
    reference = CountingExtractor()
    np.testing.assert_array_equal(first.values, reference(stimuli('a'), ['L2']).values)
    np.testing.assert_array_equal(second.values, reference(stimuli('a'), ['L1', 'L3']).values)
    assert list(np.unique(second['layer'].values)) == ['L1', 'L3']


def test_new_layers_and_new_stimuli_are_computed():
    extractor = CountingExtractor()
    memo = ActivationMemo(extractor)
    memo(stimuli('a'), layers=['L1'])
    memo(stimuli('a'), layers=['L4'])
    memo(stimuli('b'), layers=['L1'])
    assert extractor.calls == [['L1'], ['L1', 'L4'], ['L1']]


def test_trials_share_activations_unless_variance_is_required():
    extractor = CountingExtractor()
    memo = ActivationMemo(extractor)
    memo(stimuli('a'), layers=['L1'], number_of_trials=50)
    memo(stimuli('a'), layers=['L1'])
    assert len(extractor.calls) == 1
    memo(stimuli('a'), layers=['L1'], number_of_trials=5, require_variance=True)
    memo(stimuli('a'), layers=['L1'], number_of_trials=5, require_variance=True)
    assert len(extractor.calls) == 3


def test_memo_over_a_real_pytorch_wrapper_returns_what_the_wrapper_returns():
    """With Brain-Score's PytorchWrapper (the teacher's) underneath: one forward pass, identical answers."""
    from helpers import stimulus_subset
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.brainscore.teacher_model import teacher_brain_model
    from nrp_plugin.synthetic import WorldConfig
    stimuli = stimulus_subset(load_world(WorldConfig.preset('default')), 'public', 96)
    stimuli.identifier = 'nrp-test-public-96'  # the memo keys on the identifier (result caching is off in tests)
    wrapper = teacher_brain_model().activations_model
    calls = []

    def counting(stimuli, layers, **kwargs):
        calls.append(list(layers))
        return wrapper(stimuli, layers=layers, **kwargs)

    memo = ActivationMemo(counting, prefetch=['v4', 'it'])
    v4, it = memo(stimuli, layers=['v4']), memo(stimuli, layers=['it'])
    assert calls == [['v4', 'it']]
    for layer, answered in (('v4', v4), ('it', it)):
        direct = wrapper(stimuli, layers=[layer])
        np.testing.assert_array_equal(answered.values, direct.values)
        np.testing.assert_array_equal(answered['neuroid_id'].values, direct['neuroid_id'].values)
        np.testing.assert_array_equal(answered['stimulus_id'].values, direct['stimulus_id'].values)
