"""``scripts/diff_tables.py``: two ``table.json`` documents compared field by field, earlier key names mapped."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def diff_tables():
    spec = importlib.util.spec_from_file_location('diff_tables', ROOT / 'scripts' / 'diff_tables.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document(rows):
    return {'rows': [dict(family='F', model=model, region=region, **fields) for (model, region), fields in rows]}


def _write(path, document):
    path.write_text(json.dumps(document))
    return str(path)


def test_renamed_keys_compare_equal_and_a_changed_value_is_found(tmp_path, diff_tables, capsys):
    before = _document([(('m', 'V4'), {'linear_mae': 0.2, 'nrp_minus_linear_mae': -0.05, 'split_linear_mae': [0.1, 0.3],
                                       'nrp_error': 0.15, 'layers': ['a', 'b']})])
    after = _document([(('m', 'V4'), {'least_squares_mae': 0.2, 'nrp_minus_least_squares_mae': -0.05,
                                      'split_least_squares_mae': [0.1, 0.3], 'nrp_error': 0.15, 'layers': ['a', 'b']})])
    first, second = _write(tmp_path / 'a.json', before), _write(tmp_path / 'b.json', after)
    assert diff_tables.main([first, second]) == 0
    assert 'equal fields: 8' in capsys.readouterr().out  # five fields and the three keys

    after['rows'][0]['split_least_squares_mae'] = [0.1, 0.3 + 1e-3]
    after['rows'][0]['layers'] = ['a', 'c']
    second = _write(tmp_path / 'b.json', after)
    assert diff_tables.main([first, second, '--tolerance', '1e-2']) == 1  # the layers differ: not numeric
    equal, _, _, differences, unmatched = diff_tables.compare(before, after)
    assert equal == 6 and not unmatched
    assert differences['split_least_squares_mae'] == pytest.approx(1e-3)
    assert differences['layers'] == float('inf')


def test_tolerance_and_missing_rows(tmp_path, diff_tables):
    before = _document([(('m', 'V4'), {'nrp_error': 0.15}), (('m', 'IT'), {'nrp_error': 0.14})])
    close = _document([(('m', 'V4'), {'nrp_error': 0.15 + 1e-9}), (('m', 'IT'), {'nrp_error': 0.14})])
    first = _write(tmp_path / 'a.json', before)
    assert diff_tables.main([first, _write(tmp_path / 'b.json', close), '--tolerance', '1e-6']) == 0
    assert diff_tables.main([first, _write(tmp_path / 'b.json', close)]) == 1
    missing = _document([(('m', 'V4'), {'nrp_error': 0.15})])
    assert diff_tables.main([first, _write(tmp_path / 'c.json', missing), '--tolerance', '1']) == 1
