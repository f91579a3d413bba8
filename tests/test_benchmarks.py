"""NRP and PLS benchmarks, through Brain-Score's own entry points."""
import pickle

import pytest

from helpers import TINY_NET


def test_real_benchmark_offline_names_the_files(installed_plugins, tmp_path, monkeypatch):
    import brainscore_vision
    from nrp_plugin.brainscore.majajhong import DataUnavailableError
    from brainscore_core.supported_data_standards.brainio import fetch
    monkeypatch.setenv('BRAINIO_HOME', str(tmp_path))
    monkeypatch.setattr(fetch, '_local_data_path', None, raising=False)
    with pytest.raises(DataUnavailableError) as error:
        brainscore_vision.load_benchmark('MajajHong2015.IT-nrp')
    message = str(error.value)
    assert str(tmp_path / '7a40d16148d6f82939155f0bd976d310857fb156' / 'assy_dicarlo_MajajHong2015_private.nc') in message
    assert 'stimulus_hvm-private.zip' in message and 'SyntheticMajajHong2015.IT-nrp' in message
    assert not any(tmp_path.rglob('*.nc'))  # nothing half-written


@pytest.fixture(scope='module')
def scores(installed_plugins, tmp_path_factory):
    """The teacher through ``brainscore_vision.score``, and a small random network with no region-layer map
    (it commits its layers on the public images) through the benchmarks Brain-Score loads."""
    import brainscore_vision
    from nrp_plugin.app.model_specs import load_spec_model
    results = {('SyntheticMajajHong2015-teacher', region, metric): brainscore_vision.score(
        model_identifier='SyntheticMajajHong2015-teacher', benchmark_identifier=f'SyntheticMajajHong2015.{region}-{metric}')
        for region, metric in (('IT', 'nrp'), ('IT', 'pls'))}  # V4's teacher: tests/test_world_metrics.py
    net_file = tmp_path_factory.mktemp('net') / 'uncommitted_net.py'
    net_file.write_text(TINY_NET)  # a small random network without a region-layer map
    model = load_spec_model(f'{net_file}:build')
    for metric in ('pls', 'nrp'):  # the first commits IT on the public images; the second reads the commitment
        benchmark = brainscore_vision.load_benchmark(f'SyntheticMajajHong2015.IT-{metric}')
        results['uncommitted', 'IT', metric] = benchmark(model)
    results['uncommitted-model'] = model
    return results


@pytest.mark.slow
def test_nrp_score_attrs_and_pickle(scores):
    score = scores['SyntheticMajajHong2015-teacher', 'IT', 'nrp']
    for key in ('nrp_error', 'ceiling', 'raw', 'error', 'model_identifier', 'benchmark_identifier'):
        assert key in score.attrs, key
    assert score.attrs['benchmark_identifier'] == 'SyntheticMajajHong2015.IT-nrp'
    assert score.attrs['model_identifier'] == 'SyntheticMajajHong2015-teacher'
    assert score.attrs['nrp_error'] == pytest.approx(float(score.raw))
    raw = score.raw
    expected = (raw.attrs['mean_predictor_mae'] - float(raw)) / (raw.attrs['mean_predictor_mae'] - float(score.attrs['ceiling']))
    assert float(score) == pytest.approx(min(1, max(0, expected)))
    assert 0 <= float(score) <= 1
    assert float(pickle.loads(pickle.dumps(score))) == float(score)


@pytest.mark.slow
@pytest.mark.parametrize('region', ['IT'])
def test_teacher_scores_near_one(scores, region):
    # the teacher's features generated the responses: its NRP closes most of the gap between predicting
    # each site's mean (score 0) and the noise floor (score 1), and beats the best linear map (ridge).
    # Measured 0.901 / 0.903 with the validated combination of the two networks (0.917 / 0.914 with the first
    # design; the 0.9 target is asserted in tests/test_world_metrics.py)
    teacher = scores['SyntheticMajajHong2015-teacher', region, 'nrp']
    raw = teacher.raw
    assert float(teacher) > 0.85
    assert float(teacher.attrs['ceiling']) < float(raw) < raw.attrs['ridge_mae'] < raw.attrs['mean_predictor_mae']
    assert float(raw) < raw.attrs['least_squares_mae']


@pytest.mark.slow
def test_teacher_scores_above_untrained_model(scores):
    teacher, other = scores['SyntheticMajajHong2015-teacher', 'IT', 'nrp'], scores['uncommitted', 'IT', 'nrp']
    assert float(teacher) > float(other)
    assert teacher.attrs['nrp_error'] < other.attrs['nrp_error']
    assert float(scores['SyntheticMajajHong2015-teacher', 'IT', 'pls']) > float(scores['uncommitted', 'IT', 'pls'])


@pytest.mark.slow
def test_uncommitted_model_commits_on_public_images(scores, installed_plugins):
    """The network has no region-layer map: its IT layer is the candidate that scores best on the public images
    (recomputed here from Brain-Score's own in-memory activations of those images), and the NRP reads it with its
    neighbours; the score records how."""
    import numpy as np
    from nrp_plugin.brainscore.layer_choice import layer_scores
    from nrp_plugin.brainscore.synthetic_data import synthetic_selection
    pls, nrp = scores['uncommitted', 'IT', 'pls'], scores['uncommitted', 'IT', 'nrp']
    model = scores['uncommitted-model']
    stimuli, assembly = synthetic_selection()
    from brainscore_vision.benchmark_helpers.screen import place_on_screen
    placed = place_on_screen(stimuli, target_visual_degrees=model.visual_degrees(), source_visual_degrees=8)
    activations = model.activations_model(placed, layers=list(model.layers))  # Brain-Score's own, in memory
    names, values = layer_scores(activations, assembly.sel(region='IT'), [np.arange(len(stimuli))], model.layers)
    best = names[int(np.argmax(values[0]))]
    assert pls.attrs['layer'] == best
    assert nrp.attrs['nrp_layers'] == {'conv1': ['conv1', 'conv2'], 'conv2': ['conv1', 'conv2', 'pool'],
                                       'pool': ['conv2', 'pool']}[best]
    for score in (pls, nrp):
        choice = score.attrs['layer_choice']
        assert choice['method'] == 'selection set' and choice['images'] == 'SyntheticMajajHong2015 public images'
        assert choice['layer'] == best and choice['scores'] == pytest.approx(dict(zip(names, values[0])), abs=1e-9)
    assert not layer_choice_committed(model)  # the model's own map is left as it was: no other family inherits it


@pytest.mark.slow
def test_layers_chosen_inside_each_split_without_a_selection_set(installed_plugins, tmp_path):
    """With no disjoint image set, each split of the -pls and -nrp benchmarks chooses its layer on its own
    training stimuli; the PLS figures of each split are those of a run on that split's layer alone."""
    import brainscore_vision
    import numpy as np
    from nrp_plugin.app.model_specs import load_spec_model
    from nrp_plugin.brainscore.benchmark import CommittingNeuralBenchmark, InEachSplit
    from nrp_plugin.brainscore.layer_choice import nested_choice
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    net_file = tmp_path / 'uncommitted_net.py'
    net_file.write_text(TINY_NET)
    model = load_spec_model(f'{net_file}:build')
    pls = CommittingNeuralBenchmark.wrapping(brainscore_vision.load_benchmark('SyntheticMajajHong2015.IT-pls'),
                                             InEachSplit())
    score = pls(model)
    source = model.activations_model(pls._assembly.stimulus_set, layers=list(model.layers))
    choices = nested_choice(source, pls._assembly, {layer: (layer,) for layer in model.layers})
    assert score.attrs['layer_choice']['method'] == 'inside each split'
    assert score.attrs['layer_choice']['split_layer'] == [choice['layer'] for choice in choices]
    metric = pls._similarity_metric
    rows = [metric(source[{'neuroid': source['layer'].values == choice['layer']}], pls._assembly).attrs['raw']
            .isel(split=split).values for split, choice in enumerate(choices)]
    np.testing.assert_allclose(score.attrs['raw'].attrs['raw'].values, np.stack(rows), rtol=0, atol=1e-6)
    assert not layer_choice_committed(model)
    nrp = brainscore_vision.load_benchmark('SyntheticMajajHong2015.IT-nrp')
    nrp._layer_choice = InEachSplit()
    nrp.metric = NRPErrorMetric(config=dict(max_epochs=20, patience=5), device='cpu', references='none')
    score = nrp(model)
    windows = {'conv1': ['conv1', 'conv2'], 'conv2': ['conv1', 'conv2', 'pool'], 'pool': ['conv2', 'pool']}
    assert score.raw.attrs['split_layers'] == [windows[choice['layer']] for choice in choices]
    assert score.attrs['layer_choice']['split_layer'] == [choice['layer'] for choice in choices]


def layer_choice_committed(model):
    """Whether any region of the model got a committed layer."""
    from nrp_plugin.brainscore.layer_choice import layer_map
    return bool(dict(layer_map(model)))
