"""nrp_plugin.app.compare and nrp_plugin.app.report: the runner, its result cache, the tables and statistics."""
import json
import os

import numpy as np
import pytest
from brainscore_core.metrics import Score

from nrp_plugin.app import checks, compare, report, result_cache
from nrp_plugin.brainscore.nrp_metric import _split_neuroid
from nrp_plugin.synthetic import world

MODELS = ['model_a', 'model_b', 'resnet50_untrained_pruned50', 'resnet50_untrained_pruned80']
FAMILY = 'FakeFamily'
REGISTERED = {'model_registry': set(MODELS) | {'cornet_s_untrained'},
              'benchmark_registry': set(checks.benchmark_identifiers([FAMILY])),
              'metric_registry': set(), 'data_registry': set()}


def _number(model, benchmark):
    """A deterministic, distinct number for every (model, benchmark)."""
    return (sum(map(ord, model)) * 7 + sum(map(ord, benchmark)) * 3) % 97 / 100 + 0.01


def fake_score(model, benchmark):
    """A Score shaped as the real benchmarks return them."""
    value = _number(model, benchmark)
    if benchmark.endswith('-pls'):
        raw = Score(value ** 0.5)
        raw.attrs['error'] = Score(0.01)
        score = Score(value)
        score.attrs.update(raw=raw, error=Score(0.02), ceiling=Score(0.8))
        return score
    splits_nrp = np.array([value, value + 0.02, value - 0.01])
    per_neuroid = np.tile(splits_nrp[:, None], (1, 4)) + np.array([-0.1, 0.1, -0.05, 0.05])
    linear = per_neuroid + 0.1 + np.array([0.0, 0.03, -0.02])[:, None]
    raw = Score(float(per_neuroid.mean()))
    raw.attrs.update(error=0.005, pearson=0.4 + value / 10, linear_mae=float(linear.mean()), linear_mae_error=0.004,
                     linear_r2=0.2, linear_r2_error=0.01, mean_predictor_mae=1.5, config={'hidden': 8},
                     split_nrp_error=[float(v) for v in per_neuroid.mean(axis=1)],
                     linear_raw=_split_neuroid(linear, [f'n{i}' for i in range(4)]),
                     raw=_split_neuroid(per_neuroid, [f'n{i}' for i in range(4)]))
    score = Score(1 - value)
    score.attrs.update(raw=raw, error=0.03, ceiling=Score(0.3), nrp_error=float(raw), nrp_error_sem=0.005)
    return score


class FakeModel:
    def __init__(self, identifier):
        self.identifier = identifier
        self.metadata = {'measured_sparsity': 0.5001} if identifier.endswith('pruned50') else {}


class FakeBenchmark:
    def __init__(self, identifier):
        self.identifier = identifier
        self.metric = None

    def __call__(self, model):
        return fake_score(model.identifier, self.identifier)


@pytest.fixture
def fakes(monkeypatch):
    calls = {'model': [], 'benchmark': [], 'score': []}

    def load_model(identifier):
        calls['model'].append(identifier)
        return FakeModel(identifier)

    def load_benchmark(identifier):
        calls['benchmark'].append(identifier)
        return FakeBenchmark(identifier)

    def score_model(model, benchmark):
        calls['score'].append((model.identifier, benchmark.identifier))
        return benchmark(model)

    monkeypatch.setattr(compare, 'load_model', load_model)
    monkeypatch.setattr(compare, 'load_benchmark', load_benchmark)
    monkeypatch.setattr(compare, 'score_model', score_model)
    monkeypatch.setattr(checks, 'registered_identifiers', lambda root=None: REGISTERED)
    return calls


def _run(cache, models=MODELS, **kwargs):
    return compare.run_compare(models=models, families=[FAMILY], cache_directory=cache, progress=False, **kwargs)


def test_table_numbers_equal_the_benchmark_scores(fakes, tmp_path):
    records = _run(tmp_path / 'cache')
    rows, stats, table_md, plots = report.write_report(records, tmp_path / 'out')
    assert len(rows) == len(MODELS) * 2
    for row in rows:
        for kind in ('pls', 'nrp'):
            benchmark = f"{FAMILY}.{row['region']}-{kind}"
            expected = fake_score(row['model'], benchmark)
            if kind == 'pls':
                assert row['pls_score'] == pytest.approx(float(expected))
                assert row['pls_raw_r'] == pytest.approx(float(expected.attrs['raw']))
            else:
                assert row['nrp_score'] == pytest.approx(float(expected))
                assert row['nrp_error'] == pytest.approx(expected.attrs['nrp_error'])
                assert row['linear_mae'] == pytest.approx(expected.attrs['raw'].attrs['linear_mae'])
                # paired difference: per split NRP minus linear = -(0.1 + [0, .03, -.02]) -> mean -0.10333
                assert row['nrp_minus_linear_mae'] == pytest.approx(-0.10333333, abs=1e-6)
                assert row['nrp_minus_linear_sem'] == pytest.approx(np.std([0, .03, -.02], ddof=1) / np.sqrt(3))
    table = json.loads((tmp_path / 'out' / 'table.json').read_text())
    for model in MODELS:
        errors = [r['nrp_error'] for r in rows if r['model'] == model]
        entry = next(m for m in table['models'] if m['model'] == model)
        assert entry['mean_nrp_error'] == pytest.approx(np.mean(errors))
    csv_lines = (tmp_path / 'out' / 'table.csv').read_text().splitlines()
    assert len(csv_lines) == 1 + len(rows) and csv_lines[0].startswith('family,model,region,pls_raw_r')
    assert 'resnet50_untrained_pruned80' in (tmp_path / 'out' / 'table.md').read_text()
    names = {p.name for p in plots}
    assert f'{FAMILY}_nrp_error_vs_sparsity.png' in names and f'{FAMILY}_v4_vs_it_nrp_error.png' in names
    assert all(p.stat().st_size > 1000 for p in plots)
    # sparsity: the model's metadata when loaded, else parsed from the identifier
    sparsity = {r['model']: r['sparsity'] for r in rows}
    assert sparsity['resnet50_untrained_pruned50'] == pytest.approx(0.5001)
    assert sparsity['resnet50_untrained_pruned80'] == pytest.approx(0.8)
    assert sparsity['model_a'] is None
    # each model loaded once, each benchmark once
    assert sorted(fakes['model']) == sorted(MODELS)
    assert len(fakes['benchmark']) == 4


def test_spearman_matches_scipy(fakes, tmp_path):
    from scipy.stats import spearmanr
    rows = report.build_rows(_run(tmp_path / 'cache'))
    stats = report.statistics(rows)
    for region in ('V4', 'IT'):
        sub = [r for r in rows if r['region'] == region]
        rho = spearmanr([r['nrp_score'] for r in sub], [r['pls_score'] for r in sub])[0]
        assert stats['spearman_nrp_vs_pls_score'][FAMILY][region]['rho'] == pytest.approx(rho)
        assert stats['spearman_nrp_vs_pls_score'][FAMILY][region]['n_models'] == len(MODELS)
    two = report.spearman([r for r in rows if r['model'] in MODELS[:2]])
    assert two[FAMILY]['V4']['rho'] is None


def test_second_run_reuses_the_cache(fakes, tmp_path):
    first = _run(tmp_path / 'cache')
    n_scores = len(fakes['score'])
    assert n_scores == len(MODELS) * 4
    second = _run(tmp_path / 'cache')
    assert len(fakes['score']) == n_scores and fakes['model'] == MODELS  # nothing loaded again
    assert all(r['cached'] for r in second)
    strip = lambda records: [{k: v for k, v in r.items() if k != 'cached'} for r in records]
    assert strip(first) == strip(second)
    _run(tmp_path / 'cache', use_cache=False)
    assert len(fakes['score']) == 2 * n_scores


def test_interrupted_run_resumes_without_recomputing(fakes, tmp_path, monkeypatch):
    reference = report.build_rows(_run(tmp_path / 'reference'))
    done = []

    def interrupting(model, benchmark):
        if done:
            raise KeyboardInterrupt
        done.append((model.identifier, benchmark.identifier))
        return benchmark(model)

    monkeypatch.setattr(compare, 'score_model', interrupting)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / 'cache')
    assert len(list((tmp_path / 'cache').glob('*.json'))) == 1
    assert not list((tmp_path / 'cache').glob('.*.tmp'))

    resumed = []

    def counting(model, benchmark):
        resumed.append((model.identifier, benchmark.identifier))
        return benchmark(model)

    monkeypatch.setattr(compare, 'score_model', counting)
    rows = report.build_rows(_run(tmp_path / 'cache'))
    assert done[0] not in resumed and len(resumed) == len(MODELS) * 4 - 1
    assert rows == reference


@pytest.mark.parametrize('change', ['version', 'preset', 'generator', 'configuration'])
def test_cache_is_invalidated_by_a_changed_setting(fakes, tmp_path, monkeypatch, change):
    _run(tmp_path / 'cache', models=['model_a'])
    assert len(fakes['score']) == 4
    if change == 'version':
        monkeypatch.setattr(result_cache, '__version__', '99.0')
    elif change == 'preset':
        monkeypatch.setenv(world.PRESET_ENV, 'linear')
    elif change == 'generator':  # same preset name, regenerated world
        monkeypatch.setattr(world, 'GENERATOR_VERSION', world.GENERATOR_VERSION + 1)
    else:
        original = result_cache.metric_configuration
        monkeypatch.setattr(compare, 'metric_configuration',
                            lambda kind, grid=None, reference=False: dict(original(kind, grid, reference),
                                                                          max_components=1)
                            if kind == 'nrp' else original(kind, grid, reference))
    records = _run(tmp_path / 'cache', models=['model_a'])
    cached = {r['benchmark'] for r in records if r['cached']}
    if change == 'configuration':  # only the NRP metric changed: PLS scores are reused
        assert cached == {f'{FAMILY}.V4-pls', f'{FAMILY}.IT-pls'} and len(fakes['score']) == 6
    else:
        assert cached == set() and len(fakes['score']) == 8


def test_cache_key_depends_on_search_grid():
    base = result_cache.metric_configuration('nrp')
    with_grid = result_cache.metric_configuration('nrp', {'lr': [0.1, 0.01]})
    assert result_cache.result_key('m', 'b', base)[0] != result_cache.result_key('m', 'b', with_grid)[0]
    assert result_cache.metric_configuration('pls', {'lr': [1]}) == result_cache.metric_configuration('pls')
    # the PLS implementation is part of the key: Brain-Score's own pls and pls_torch never share results
    assert result_cache.metric_configuration('pls', None, True) != result_cache.metric_configuration('pls')


def test_search_grid_replaces_nrp_metrics(fakes, tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(compare, 'nrp_metric', lambda grid: made.append(grid) or f'metric-{grid}')
    seen = {}

    def recording(model, benchmark):
        seen[benchmark.identifier] = benchmark.metric
        return benchmark(model)

    monkeypatch.setattr(compare, 'score_model', recording)
    _run(tmp_path / 'cache', models=['model_a'], search_grid='G')
    assert seen[f'{FAMILY}.IT-nrp'] == 'metric-G' and seen[f'{FAMILY}.IT-pls'] is None


def test_unknown_identifiers_list_close_matches(fakes):
    with pytest.raises(checks.CompareError) as info:
        checks.check_identifiers(models=['model_c', 'cornet_s_untrainde'], registered=REGISTERED)
    message = str(info.value)
    assert "'model_c'" in message and 'model_a' in message and 'cornet_s_untrained' in message
    with pytest.raises(checks.CompareError, match='closest families: FakeFamily'):
        checks.check_families(['FakeFamly'], registered=REGISTERED)
    checks.check_families([FAMILY], registered=REGISTERED)  # no error


def test_registered_identifiers_scans_a_tree(tmp_path):
    (tmp_path / 'models' / 'x').mkdir(parents=True)
    (tmp_path / 'models' / 'x' / '__init__.py').write_text(
        "model_registry['alpha'] = f\n# model_registry['commented'] = f\n")
    (tmp_path / 'benchmarks' / 'y').mkdir(parents=True)
    (tmp_path / 'benchmarks' / 'y' / '__init__.py').write_text("benchmark_registry['Fam.IT-pls'] = g\n")
    found = checks.registered_identifiers(tmp_path)
    assert found['model_registry'] == {'alpha'} and found['benchmark_registry'] == {'Fam.IT-pls'}


def _cheap_nrp(benchmark):
    """The real benchmark with a short NRP training (3 epochs, 2 splits) so the test stays quick."""
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    if benchmark.identifier.endswith('-nrp'):
        benchmark.metric = NRPErrorMetric(config={'max_epochs': 3, 'patience': 2},
                                          crossvalidation_kwargs={'splits': 2})
    return benchmark


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get('NRP_PLUGIN_SKIP_SLOW') == '1', reason='slow end-to-end test skipped')
def test_end_to_end_matches_brainscore_scores(installed_plugins, tmp_path, monkeypatch):
    """The real runner on the teacher and SyntheticMajajHong2015 IT equals load_benchmark(b)(load_model(m))."""
    from brainscore_vision import load_benchmark, load_model
    monkeypatch.setattr(compare, 'load_benchmark', lambda identifier: _cheap_nrp(load_benchmark(identifier)))
    records = compare.run_compare(models=['SyntheticMajajHong2015-teacher'], families=['SyntheticMajajHong2015'],
                                  regions=['IT'], cache_directory=tmp_path / 'cache', progress=False)
    rows = report.build_rows(records)
    assert len(rows) == 1 and not any(r['cached'] for r in records)
    model = load_model('SyntheticMajajHong2015-teacher')
    pls = load_benchmark('SyntheticMajajHong2015.IT-pls')(model)
    nrp = _cheap_nrp(load_benchmark('SyntheticMajajHong2015.IT-nrp'))(model)
    row = rows[0]
    assert row['pls_score'] == pytest.approx(float(pls), rel=1e-6)
    assert row['pls_raw_r'] == pytest.approx(float(pls.attrs['raw']), rel=1e-6)
    assert row['nrp_error'] == pytest.approx(nrp.attrs['nrp_error'], rel=1e-4)
    assert row['nrp_score'] == pytest.approx(float(nrp), rel=1e-4, abs=1e-6)
    assert row['linear_mae'] == pytest.approx(nrp.attrs['raw'].attrs['linear_mae'], rel=1e-4)
    assert len(records[-1]['split_nrp_error']) == len(records[-1]['split_linear_mae']) == 2
