"""Tests of the NRP benchmark plugin: offline, about a minute on 2 CPU cores.

Real MajajHong2015 cannot be fetched offline, so for it only the registration and the offline error
are checked. On the embedded world the teacher (whose features generated the responses) is scored
with a short NRP training (``SHORT_NRP``).
"""
import numpy as np
import pytest
from brainscore_core.plugin_management.import_plugin import ImportPlugin
from brainscore_vision import load_benchmark, load_model

from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
from nrp_plugin.brainscore.majajhong import DataUnavailableError

# ---- pinned values: re-pin here when the NRP's defaults or input preparation change -----------------
SHORT_NRP = dict(max_epochs=80, patience=15)  # the NRP configuration the pinned score is measured with
PINNED_TEACHER_IT_SCORE = 0.854    # teacher on SyntheticMajajHong2015.IT-nrp with SHORT_NRP, CPU (nrp_plugin 0.1.0)
PINNED_TOLERANCE = 0.05            # absolute; a longer or better NRP training scores higher, never lower
TEACHER_IT_SCORE_FLOOR = 0.6       # any working NRP on the teacher's own features closes most of the gap
# --------------------------------------------------------------------------------------------------

IDENTIFIERS = ['MajajHong2015.V4-nrp', 'MajajHong2015.IT-nrp', 'MajajHong2015public.V4-nrp',
               'MajajHong2015public.IT-nrp', 'SyntheticMajajHong2015.V4-nrp', 'SyntheticMajajHong2015.IT-nrp',
               'SyntheticMajajHong2015.V4-pls', 'SyntheticMajajHong2015.IT-pls']


@pytest.mark.parametrize('identifier', IDENTIFIERS)
def test_registered_in_this_folder(identifier):
    assert ImportPlugin('brainscore_vision', 'benchmarks', identifier).plugin_dirname == 'nrp_majajhong2015'


@pytest.mark.parametrize('identifier', IDENTIFIERS[4:])
def test_synthetic_benchmarks_have_no_leaderboard_parent(identifier):
    """Comparison-only benchmarks: never averaged into Brain-Score's V4/IT leaderboard columns."""
    benchmark = load_benchmark(identifier)
    assert benchmark.identifier == identifier
    assert benchmark.parent is None


def test_real_data_offline_is_one_clear_error(monkeypatch, tmp_path):
    """Without access to Brain-Score's S3 bucket, the error names every file to place and where."""
    import brainscore_vision.benchmarks.majajhong2015.benchmark as majajhong

    def unreachable(*args, **kwargs):
        raise ConnectionError('Could not connect to the endpoint URL: "https://brainscore-storage.s3.amazonaws.com"')

    monkeypatch.setenv('BRAINIO_HOME', str(tmp_path))
    monkeypatch.setattr(majajhong, 'load_assembly', unreachable)
    with pytest.raises(DataUnavailableError) as error:
        load_benchmark('MajajHong2015.IT-nrp')
    message = str(error.value)
    assert str(tmp_path / '7a40d16148d6f82939155f0bd976d310857fb156' / 'assy_dicarlo_MajajHong2015_private.nc') in message
    assert 'stimulus_hvm-private.zip' in message and 'SyntheticMajajHong2015.IT-nrp' in message


@pytest.fixture(scope='module')
def teacher_it_score():
    benchmark = load_benchmark('SyntheticMajajHong2015.IT-nrp')
    benchmark.metric = NRPErrorMetric(config=SHORT_NRP, device='cpu')
    return benchmark(load_model('SyntheticMajajHong2015-teacher'))


def test_teacher_score_orderings(teacher_it_score):
    """noise floor < NRP-error < linear MAE < mean-predictor MAE, and the ceiled score in [0, 1]."""
    score, raw = teacher_it_score, teacher_it_score.raw
    assert float(score.attrs['ceiling']) < float(raw) < raw.attrs['linear_mae'] < raw.attrs['mean_predictor_mae']
    expected = (raw.attrs['mean_predictor_mae'] - float(raw)) / (raw.attrs['mean_predictor_mae'] - float(score.attrs['ceiling']))
    assert float(score) == pytest.approx(float(np.clip(expected, 0, 1)))
    assert score.attrs['nrp_layers'] == ['it']
    assert score.attrs['benchmark_identifier'] == 'SyntheticMajajHong2015.IT-nrp'


def test_teacher_score_pinned(teacher_it_score):
    """At least the pinned score (one-sided: a better-trained NRP may only raise it), at most 1."""
    assert TEACHER_IT_SCORE_FLOOR < PINNED_TEACHER_IT_SCORE - PINNED_TOLERANCE <= float(teacher_it_score) <= 1
