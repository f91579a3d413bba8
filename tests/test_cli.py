"""The `nrp-plugin compare/score/list` commands (scoring replaced by stand-ins from test_compare)."""
import datetime
import json

from nrp_plugin.app import checks, cli, compare
from helpers import FAMILY, MODELS


def _compare(out, *extra, models=MODELS[:3]):
    return cli.main(['compare', '--models', *models, '--benchmarks', FAMILY, '--out', str(out), '--quiet',
                     '--cache-in-out', *extra])


def test_compare_writes_tables_and_prints_them(fakes, tmp_path, capsys):
    assert _compare(tmp_path / 'out') == 0
    printed = capsys.readouterr().out
    for name in ('table.csv', 'table.md', 'table.json', 'stats.md', 'report.html'):
        assert (tmp_path / 'out' / name).is_file()
    table = json.loads((tmp_path / 'out' / 'table.json').read_text())
    assert {r['model'] for r in table['rows']} == set(MODELS[:3])
    # the run keeps the command it was started with and when (UTC)
    assert table['run']['command'] == ' '.join(['nrp-plugin', 'compare', '--models', *MODELS[:3], '--benchmarks',
                                                FAMILY, '--out', str(tmp_path / 'out'), '--quiet', '--cache-in-out'])
    started = datetime.datetime.fromisoformat(table['run']['started'])
    assert started.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()) < 3600
    assert (tmp_path / 'out' / 'table.md').read_text().strip() in printed
    assert '12 scores (12 computed' in printed
    assert len(list((tmp_path / 'out' / 'cache').glob('*.json'))) == 12
    assert _compare(tmp_path / 'out') == 0
    assert '12 scores (0 computed' in capsys.readouterr().out


def test_unknown_identifiers_fail_before_scoring(fakes, tmp_path, capsys):
    code = cli.main(['compare', '--models', 'model_x', '--benchmarks', 'FakeFamilly', '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert code == 2 and fakes['score'] == [] and fakes['model'] == []
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err
    assert "'model_x'" in err and 'model_a' in err and 'closest families: FakeFamily' in err
    assert not (tmp_path / 'o').exists()


def test_unwritable_out_fails_before_scoring(fakes, tmp_path, capsys, monkeypatch):
    def must_not_score(*args):
        raise AssertionError('scored although --out is unwritable')

    monkeypatch.setattr(compare, 'score_model', must_not_score)
    monkeypatch.setattr(compare, 'load_model', must_not_score)
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    assert _compare(blocker / 'out') == 2
    err = capsys.readouterr().err
    assert 'cannot write into --out' in err and len(err.strip().splitlines()) == 1


def test_interrupt_leaves_no_table_and_resumes(fakes, tmp_path, capsys, monkeypatch):
    calls = []

    def interrupting(model, benchmark):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return benchmark(model)

    monkeypatch.setattr(compare, 'score_model', interrupting)
    assert _compare(tmp_path / 'out') == 130
    err = capsys.readouterr().err
    assert 'interrupted' in err and 'Traceback' not in err
    assert not list((tmp_path / 'out').glob('table.*')) and not (tmp_path / 'out' / 'stats.md').exists()
    assert not (tmp_path / 'out' / 'report.html').exists()
    assert len(list((tmp_path / 'out' / 'cache').glob('*.json'))) == 2
    monkeypatch.setattr(compare, 'score_model', lambda m, b: b(m))
    assert _compare(tmp_path / 'out') == 0
    assert '12 scores (10 computed, 2 from the cache' in capsys.readouterr().out


def test_a_model_that_fails_gets_a_row_saying_why_and_the_others_go_on(fakes, tmp_path, capsys, monkeypatch):
    real = compare.score_model

    def broken_for_one(model, benchmark):
        if model.identifier == MODELS[1]:
            raise RuntimeError('boom')
        return real(model, benchmark)

    monkeypatch.setattr(compare, 'score_model', broken_for_one)
    assert _compare(tmp_path / 'out') == 3
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith(('nrp-plugin', '  '))]
    assert err == ['nrp-plugin compare: 1 of 3 models could not be scored (their rows say why):',
                   f'  {MODELS[1]}: RuntimeError: boom']
    table = (tmp_path / 'out' / 'table.md').read_text()
    assert f'| {MODELS[1]} | RuntimeError: boom |' in table
    document = json.loads((tmp_path / 'out' / 'table.json').read_text())
    assert document['failed'] == [{'model': MODELS[1], 'reason': 'RuntimeError: boom'}]
    assert {row['model'] for row in document['rows']} == set(MODELS[:3]) - {MODELS[1]}


def test_when_no_model_can_be_scored_the_run_says_why_and_writes_no_table(fakes, tmp_path, capsys, monkeypatch):
    def broken(model, benchmark):
        raise RuntimeError(f'boom in {model.identifier}')

    monkeypatch.setattr(compare, 'score_model', broken)
    assert _compare(tmp_path / 'out') == 1
    err = capsys.readouterr().err
    assert err.startswith('nrp-plugin compare: no model could be scored: ') and 'Traceback' not in err
    assert all(f'{model}: RuntimeError: boom in {model}' in err for model in MODELS[:3])
    assert not list((tmp_path / 'out').glob('table.*')) and not (tmp_path / 'out' / 'stats.md').exists()


def test_grid_file_must_exist(fakes, tmp_path, capsys):
    assert _compare(tmp_path / 'out', '--grid', str(tmp_path / 'missing.json')) == 2
    err = capsys.readouterr().err
    assert 'missing.json: no such file' in err


def test_score_command(fakes, capsys):
    assert cli.main(['score', 'model_a', f'{FAMILY}.IT-nrp']) == 0
    out = capsys.readouterr().out
    assert out.startswith(f'model_a on {FAMILY}.IT-nrp: score ')
    assert 'nrp_error' in out and 'least_squares_mae' in out
    assert cli.main(['score', 'model_q', f'{FAMILY}.IT-nrp']) == 2
    assert 'model_a' in capsys.readouterr().err


def test_list_command(capsys, monkeypatch):
    assert cli.main(['list']) == 0
    out = capsys.readouterr().out
    assert 'SyntheticMajajHong2015-teacher' in out and 'SyntheticMajajHong2015.IT-nrp' in out
    assert 'resnet50_untrained_pruned80' in out and '    MajajHong2015.IT-pls' not in out
    monkeypatch.setattr(checks, 'registered_identifiers',
                        lambda root=None: {'model_registry': {'alexnet', 'cornet_s'},
                                           'benchmark_registry': {'MajajHong2015.IT-pls'}})
    assert cli.main(['list', '--all']) == 0
    out = capsys.readouterr().out
    in_tree = out.split('in-tree')[1]
    assert 'alexnet' in in_tree and 'MajajHong2015.IT-pls' in in_tree and 'cornet_s\n' not in in_tree
