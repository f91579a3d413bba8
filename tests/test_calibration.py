"""nrp-plugin calibrate's bookkeeping: coverage counted against leave-one-out population values on hand-made
replicates, a calibration that goes on from the worlds it kept, and what a report may print from a measured table."""
import json

import numpy as np
import pytest

from nrp_plugin.app import calibrate as calibrate_app
from nrp_plugin.inference import Item, Quantity, coverage
from nrp_plugin.validity import calibration

ITEM = Item('m', 'ridge', 'mae')
KEY = 'm|ridge|mae'


def _results(scores, intervals):
    return [{'replicate': r, 'scores': {KEY: score}, 'intervals': {'m: ridge MAE': {'factor': list(found)}},
             'seconds': 1.0} for r, (score, found) in enumerate(zip(scores, intervals))]


def test_coverage_counts_the_leave_one_out_population_value(monkeypatch):
    """Four worlds with scores 1, 2, 3, 4: each one's population value is the mean of the other three (3, 8/3, 7/3,
    2); intervals built to hold it in three worlds of four give 75%."""
    monkeypatch.setattr(calibration, 'quantities', lambda models=None: [
        ('score: ridge MAE', Quantity('score', (ITEM,), name='m: ridge MAE'))])
    truths = [3.0, 8 / 3, 7 / 3, 2.0]
    intervals = [(1, 2.9, 3.1), (2, 2.6, 2.7), (3, 2.3, 2.4), (4, 2.1, 2.2)]  # the last misses 2.0
    table = calibration.coverage_table(_results([1, 2, 3, 4], intervals))
    group = next(e for e in table if e['kind'] == 'group')
    assert group['coverage'] == pytest.approx(0.75) and group['replicates'] == 4
    assert all(low <= truth <= high for truth, (_, low, high) in zip(truths[:3], intervals[:3]))
    assert group['median_width'] == pytest.approx(np.median([0.2, 0.1, 0.1, 0.1]))


def test_a_calibration_goes_on_from_the_worlds_it_kept(monkeypatch, tmp_path):
    calls = []

    def fake_replicate(config, index, population=None):
        calls.append(index)
        return {'replicate': index, 'scores': {KEY: float(index)},
                'intervals': {'m: ridge MAE': {'factor': [float(index), -1e9, 1e9]}}, 'seconds': 0.5}

    monkeypatch.setattr(calibration, 'pool', lambda config, cache=None: {})
    monkeypatch.setattr(calibration, 'replicate', fake_replicate)
    monkeypatch.setattr(calibration, 'quantities', lambda models=None: [
        ('score: ridge MAE', Quantity('score', (ITEM,), name='m: ridge MAE'))])
    config = calibration.CalibrationConfig(seed=3)
    calibrate_app.calibrate(config, 4, tmp_path, log=lambda line: None)
    assert calls == [0, 1, 2, 3]
    table = calibrate_app.calibrate(config, 6, tmp_path, log=lambda line: None, command='nrp-plugin calibrate')
    assert calls == [0, 1, 2, 3, 4, 5]  # the four kept worlds are not scored again
    written = json.loads((tmp_path / 'coverage.json').read_text())
    assert written == json.loads(json.dumps(table)) and written[0]['replicates'] == 6
    assert 'nrp-plugin calibrate' in (tmp_path / 'coverage.md').read_text()
    with pytest.raises(ValueError, match='another calibration'):
        calibrate_app.calibrate(calibration.CalibrationConfig(seed=4), 6, tmp_path, log=lambda line: None)
    with pytest.raises(ValueError, match='at least 3'):
        calibrate_app.calibrate(config, 2, tmp_path / 'other', log=lambda line: None)


def _table(path, coverages):
    rows = [{'quantity': group, 'method': 'factor', 'kind': 'group', 'coverage': value, 'replicates': 150,
             'nominal': 0.95} for group, value in coverages.items()]
    path.write_text(json.dumps({'command': 'nrp-plugin calibrate --seed 1', 'coverage': rows}))
    coverage._table.cache_clear()
    return path


def test_a_method_is_printed_only_where_every_group_of_its_kind_covers_at_least_the_threshold(tmp_path):
    groups = coverage.KINDS['mapping difference (MAE)']
    inside = _table(tmp_path / 'inside.json', {group: 0.95 for group in groups})
    printed, words = coverage.assessment('mapping difference (MAE)', 'factor', inside)
    assert printed and '95.0%' in words and '150 worlds' in words
    low = _table(tmp_path / 'low.json', dict({group: 0.95 for group in groups}, **{groups[0]: 0.90}))
    printed, words = coverage.assessment('mapping difference (MAE)', 'factor', low)
    assert not printed and '90.0-95.0%' in words and 'below 93%' in words
    wide = _table(tmp_path / 'wide.json', {group: 0.99 for group in groups})
    printed, words = coverage.assessment('mapping difference (MAE)', 'factor', wide)
    assert printed and 'conservative' in words
    printed, words = coverage.assessment('mapping difference (MAE)', 'split_t', inside)
    assert not printed and 'not measured' in words
    partial = _table(tmp_path / 'partial.json', {groups[0]: 0.95})  # one group of the kind missing
    assert coverage.assessment('mapping difference (MAE)', 'factor', partial)[0] is False
