"""Tests of the embedded world's benchmark plugin, offline.

On the embedded world the teacher (whose features generated the responses, through a nonlinearity) is scored with
a short NRP training (``SHORT_NRP``).
"""
import numpy as np
import pytest
from brainscore_core.plugin_management.import_plugin import ImportPlugin
from brainscore_vision import load_benchmark, load_model

from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric

SHORT_NRP = dict(max_epochs=80, patience=15)
IDENTIFIERS = ['SyntheticMajajHong2015.V4-nrp', 'SyntheticMajajHong2015.IT-nrp', 'SyntheticMajajHong2015.V4-pls',
               'SyntheticMajajHong2015.IT-pls']


@pytest.mark.parametrize('identifier', IDENTIFIERS)
def test_registered_in_this_folder(identifier):
    assert ImportPlugin('brainscore_vision', 'benchmarks', identifier).plugin_dirname == 'nrp_synthetic_majajhong2015'


@pytest.mark.parametrize('identifier', IDENTIFIERS)
def test_no_leaderboard_parent(identifier):
    """The world is not brain data: its scores are averaged into no leaderboard column."""
    benchmark = load_benchmark(identifier)
    assert benchmark.identifier == identifier
    assert benchmark.parent is None


@pytest.fixture(scope='module')
def teacher_it_score():
    benchmark = load_benchmark('SyntheticMajajHong2015.IT-nrp')
    benchmark.metric = NRPErrorMetric(config=SHORT_NRP, device='cpu')
    return benchmark(load_model('SyntheticMajajHong2015-teacher'))


def test_teacher_score_orderings(teacher_it_score):
    """noise floor < NRP-error < least squares' MAE < mean-predictor MAE, and the ceiled score as defined."""
    score, raw = teacher_it_score, teacher_it_score.raw
    assert float(score.attrs['ceiling']) < float(raw) < raw.attrs['least_squares_mae'] < raw.attrs['mean_predictor_mae']
    expected = (raw.attrs['mean_predictor_mae'] - float(raw)) / (raw.attrs['mean_predictor_mae'] - float(score.attrs['ceiling']))
    assert float(score) == pytest.approx(float(np.clip(expected, 0, 1)))
    assert score.attrs['nrp_layers'] == ['it']
    assert score.attrs['benchmark_identifier'] == 'SyntheticMajajHong2015.IT-nrp'


def test_teacher_nrp_beats_the_best_linear_map_on_its_own_features(teacher_it_score):
    """The responses are a nonlinear function of the teacher's features: even a short NRP training predicts them
    better than ridge regression, the strong linear reference, on the same splits."""
    raw = teacher_it_score.raw
    assert float(raw) < raw.attrs['ridge_mae']
