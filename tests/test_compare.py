"""nrp_plugin.app.compare and its report (nrp_plugin.app.report, .tables, .statistics, .plots): the runner, its
result cache, the tables, statistics and plots."""
import json
import os

import numpy as np
import pytest

from nrp_plugin import mappings
from nrp_plugin.app import checks, compare, contrasts, plots, report, result_cache, tables
from nrp_plugin.brainscore.nrp_metric import _split_neuroid
from nrp_plugin.synthetic import config as world
from helpers import (FAKE_BANDWIDTHS, FAKE_LAYER_WEIGHTS, FAMILY, METADATA, MODELS, REFERENCE_MODELS, REGISTERED,
                     FakeBenchmark, FakeModel, fake_score)

# the corrected resampled t's intervals these tests check are printed as a calibrated installation prints them
pytestmark = pytest.mark.usefixtures('measured_intervals')

def _run(cache, models=MODELS, **kwargs):
    return compare.run_compare(models=models, families=[FAMILY], cache_directory=cache, progress=False, **kwargs)


def test_table_numbers_equal_the_benchmark_scores(fakes, tmp_path):
    records = _run(tmp_path / 'cache')
    rows, stats, table_md, _, plots = report.write_report(records, tmp_path / 'out')
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
                assert row['least_squares_mae'] == pytest.approx(expected.attrs['raw'].attrs['least_squares_mae'])
                # paired difference: per split NRP minus linear = -(0.1 + [0, .03, -.02]) -> mean -0.10333
                assert row['nrp_minus_least_squares_mae'] == pytest.approx(-0.10333333, abs=1e-6)
                # corrected resampled t (Nadeau & Bengio): SE^2 = (1/k + n_test/n_train) s^2, 90/10 splits
                se = np.sqrt((1 / 3 + 1 / 9) * np.var([0, .03, -.02], ddof=1))
                half = 4.302652729911275 * se  # t quantile, 2 degrees of freedom, 0.975
                assert row['nrp_minus_least_squares_ci_low'] == pytest.approx(-0.10333333 - half, abs=1e-6)
                assert row['nrp_minus_least_squares_ci_high'] == pytest.approx(-0.10333333 + half, abs=1e-6)
                # a single mapping's interval: the same corrected t on its own per-split values (NRP-error
                # per split: value + [0, .02, -.01]; least squares: value + .1 + [0, .05, -.03])
                t975 = 4.302652729911275
                nrp_half = t975 * np.sqrt((1 / 3 + 1 / 9) * np.var([0, .02, -.01], ddof=1))
                centre = np.mean(row['split_nrp_mae'])
                assert (row['nrp_error_ci_low'], row['nrp_error_ci_high']) == (pytest.approx(centre - nrp_half),
                                                                               pytest.approx(centre + nrp_half))
                assert (row['nrp_mae_ci_low'], row['nrp_mae_ci_high']) == (row['nrp_error_ci_low'],
                                                                           row['nrp_error_ci_high'])
                lsq_half = t975 * np.sqrt((1 / 3 + 1 / 9) * np.var([0, .05, -.03], ddof=1))
                assert row['least_squares_mae_ci_high'] - row['least_squares_mae_ci_low'] == pytest.approx(2 * lsq_half)
                assert row['nrp_error_sem'] == 0.005  # the benchmark's naive SEM, kept under its key
                # the 2 x 2: MAE-ceiled with the NRP benchmark's floor (0.3) and mean-predictor MAE (1.5),
                # r-ceiled with the PLS benchmark's internal consistency (0.8)
                raw = expected.attrs['raw'].attrs
                assert row['nrp_score_mae'] == pytest.approx((1.5 - row['nrp_error']) / (1.5 - 0.3))
                assert row['least_squares_score_mae'] == pytest.approx((1.5 - raw['least_squares_mae']) / (1.5 - 0.3))
                assert row['nrp_score_r'] == pytest.approx(raw['pearson'] ** 2 / 0.8)
                pls_r = float(fake_score(row['model'], f"{FAMILY}.{row['region']}-pls").attrs['raw'])
                assert row['pls_score_r'] == pytest.approx(pls_r ** 2 / 0.8)
                # not reported by these fakes: missing, never 0
                assert row['ridge_mae'] is None and row['ridge_score_mae'] is None and row['pls_mae'] is None
                assert row['ridge_mae_ci_low'] is None and row['pls_raw_r_ci_low'] is None  # no per-split values
                # banded and kernel ridge: reported for some models only, None (never 0) for the others
                for mapping in ('banded_ridge', 'kernel_ridge'):
                    if row['model'] in REFERENCE_MODELS:
                        assert row[f'{mapping}_mae'] == pytest.approx(raw[f'{mapping}_mae'])
                    else:
                        assert row[f'{mapping}_mae'] is None and row[f'{mapping}_score_mae'] is None
    table = json.loads((tmp_path / 'out' / 'table.json').read_text())
    for model in MODELS:
        errors = [r['nrp_error'] for r in rows if r['model'] == model]
        entry = next(m for m in table['models'] if m['model'] == model)
        assert entry['mean_nrp_error'] == pytest.approx(np.mean(errors))
    csv_lines = (tmp_path / 'out' / 'table.csv').read_text().splitlines()
    assert len(csv_lines) == 1 + len(rows) and csv_lines[0].startswith('family,model,region,pls_raw_r')
    header = csv_lines[0].split(',')
    assert all(line.split(',')[header.index('ridge_mae')] == '' for line in csv_lines[1:])
    for line, row in zip(csv_lines[1:], rows):
        cell = line.split(',')[header.index('banded_ridge_mae')]
        assert (float(cell) == pytest.approx(row['banded_ridge_mae']) if row['model'] in REFERENCE_MODELS
                else cell == '')
    # every record and the table say what produced them
    assert all(r['key']['code'] == table['provenance']['code'][0] for r in table['scores'])
    assert {'torch', 'brainscore_vision', 'brainscore_core'} <= set(table['provenance']['versions'][0])
    assert f'{FAMILY}_mapping_x_measure.png' in {p.name for p in plots}
    assert 'resnet50_untrained_pruned80' in (tmp_path / 'out' / 'table.md').read_text()
    names = {p.name for p in plots}
    assert f'{FAMILY}_nrp_error_vs_sparsity.png' in names and f'{FAMILY}_v4_vs_it_nrp_error.png' in names
    assert all(p.stat().st_size > 1000 for p in plots)
    # sparsity and plot family: what the model's metadata say (measured sparsity, else the intended one)
    sparsity = {r['model']: r['sparsity'] for r in rows}
    assert sparsity['resnet50_untrained_pruned50'] == pytest.approx(0.5001)
    assert sparsity['resnet50_untrained_pruned80'] == pytest.approx(0.8)
    assert sparsity['model_a'] is None
    assert {r['model']: r['plot_family'] for r in rows} == {
        'model_a': None, 'model_b': None, 'resnet50_untrained_pruned50': 'ResNet50 (untrained)',
        'resnet50_untrained_pruned80': 'ResNet50 (untrained)'}
    # each model loaded once, each benchmark once
    assert sorted(fakes['model']) == sorted(MODELS)
    assert len(fakes['benchmark']) == 4


def test_sparsity_plot_groups_models_by_their_metadata_not_their_identifiers(fakes, tmp_path, monkeypatch):
    """Models are drawn against sparsity when their metadata name a plot family and a sparsity; an identifier
    that looks like a pruned model's says nothing."""
    for identifier in list(METADATA):
        monkeypatch.delitem(METADATA, identifier)
    monkeypatch.setitem(METADATA, 'model_a', {'measured_sparsity': 0.1, 'plot_family': 'X'})
    monkeypatch.setitem(METADATA, 'model_b', {'sparsity': 0.6, 'plot_family': 'X'})
    rows = tables.build_rows(_run(tmp_path / 'cache'))
    groups = plots.sparsity_groups(rows)
    assert set(groups) == {('X', 'V4'), ('X', 'IT')}
    for (_, region), points in groups.items():
        errors = {r['model']: r['nrp_error'] for r in rows if r['region'] == region}
        assert [(s, e) for s, e, _, _ in points] == [(0.1, errors['model_a']), (0.6, errors['model_b'])]
    assert compare.model_sparsity(FakeModel('resnet50_untrained_pruned80')) is None
    assert compare.model_plot_family(None) is None and compare.model_sparsity(None) is None


def test_records_without_a_plot_family_are_drawn_without_sparsity_plot(fakes, tmp_path):
    """Records cached before the plot family was recorded read as no plot family."""
    records = [{k: v for k, v in r.items() if k != 'plot_family'} for r in _run(tmp_path / 'cache')]
    rows, stats, table_md, _, paths = report.write_report(records, tmp_path / 'out')
    assert all(row['plot_family'] is None for row in rows) and plots.sparsity_groups(rows) == {}
    assert f'{FAMILY}_nrp_error_vs_sparsity.png' not in {p.name for p in paths}


def test_plot_family_is_a_cached_value_not_part_of_the_key(fakes, tmp_path, monkeypatch):
    first = _run(tmp_path / 'cache')
    monkeypatch.setitem(METADATA, 'resnet50_untrained_pruned50', {'plot_family': 'another'})
    second = _run(tmp_path / 'cache')
    assert all(r['cached'] for r in second) and len(fakes['score']) == len(MODELS) * 4
    assert [r['plot_family'] for r in second] == [r['plot_family'] for r in first]


def test_rank_correlations_match_scipy(fakes, tmp_path):
    from scipy.stats import kendalltau, spearmanr

    from nrp_plugin.app import ranking
    rows = tables.build_rows(_run(tmp_path / 'cache'))
    found = ranking.ranking(rows)
    for group in found['regions']:
        sub = [r for r in rows if r['region'] == group['region']]
        entry = next(e for e in group['correlations'] if e['comparison'] == 'nrp_vs_pls')
        pls, nrp = [r['pls_raw_r'] for r in sub], [-r['nrp_error'] for r in sub]
        assert entry['spearman']['estimate'] == pytest.approx(spearmanr(pls, nrp)[0])
        assert entry['kendall']['estimate'] == pytest.approx(kendalltau(pls, nrp)[0])
        assert entry['n_models'] == len(MODELS)
    two = ranking.ranking([r for r in rows if r['model'] in MODELS[:2]])
    assert two['regions'][0]['correlations'][0]['spearman']['estimate'] is None


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
    reference = tables.build_rows(_run(tmp_path / 'reference'))
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
    rows = tables.build_rows(_run(tmp_path / 'cache'))
    assert done[0] not in resumed and len(resumed) == len(MODELS) * 4 - 1
    assert rows == reference


class FakeMetric:
    def __init__(self, **config):
        self.config = config
        self.device = 'cpu'


@pytest.mark.parametrize('change', ['version', 'torch', 'preset', 'generator', 'configuration', 'weights'])
def test_cache_is_invalidated_by_a_changed_setting(fakes, tmp_path, monkeypatch, change):
    loader = compare.load_benchmark

    def with_metric(identifier, max_epochs=400):
        benchmark = loader(identifier)
        benchmark.metric = FakeMetric(max_epochs=max_epochs)
        return benchmark

    monkeypatch.setattr(compare, 'load_benchmark', with_metric)
    _run(tmp_path / 'cache', models=['model_a'])
    assert len(fakes['score']) == 4
    if change == 'version':
        monkeypatch.setattr(result_cache, '__version__', '99.0')
    elif change == 'torch':
        import torch
        monkeypatch.setattr(torch, '__version__', '0.0.1')
    elif change == 'preset':
        monkeypatch.setenv(world.PRESET_ENV, 'linear')
    elif change == 'generator':  # same preset name, regenerated world
        monkeypatch.setattr(world, 'GENERATOR_VERSION', world.GENERATOR_VERSION + 1)
    elif change == 'weights':  # the model's declared weights identity (e.g. another published hash)
        from nrp_plugin import registry
        original = registry.declared_weights
        monkeypatch.setattr(registry, 'declared_weights',
                            lambda identifier: {'sha1': 'another'} if identifier == 'model_a' else original(identifier))
    else:  # the metric the loaded NRP benchmark really scores with
        monkeypatch.setattr(compare, 'load_benchmark', lambda identifier: with_metric(identifier, max_epochs=3))
    records = _run(tmp_path / 'cache', models=['model_a'])
    cached = {r['benchmark'] for r in records if r['cached']}
    if change == 'configuration':  # only the NRP metric changed: PLS scores are reused
        assert cached == {f'{FAMILY}.V4-pls', f'{FAMILY}.IT-pls'} and len(fakes['score']) == 6
        assert all(r['key']['metric']['metric']['config'] == {'max_epochs': 3}
                   for r in records if r['kind'] == 'nrp')
    else:
        assert cached == set() and len(fakes['score']) == 8


def test_cache_key_holds_the_benchmarks_real_metric():
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.search import SearchGrid
    base = result_cache.metric_configuration('nrp', NRPErrorMetric())
    assert base['metric']['main']['config']['max_epochs'] == 400 and base['resolved_device'] in ('cpu', 'cuda')
    assert base == result_cache.metric_configuration('nrp', NRPErrorMetric())  # deterministic, no addresses
    other = result_cache.metric_configuration('nrp', NRPErrorMetric(config={'max_epochs': 3}))
    grid = result_cache.metric_configuration('nrp', NRPErrorMetric(search=SearchGrid.default()))
    keys = {result_cache.payload_hash(result_cache.key_payload('m', 'b', c)) for c in (base, other, grid)}
    assert len(keys) == 3


def test_code_edit_recomputes(fakes, tmp_path, monkeypatch):
    """Editing a copy of a scoring module changes the code fingerprint, and the next run recomputes."""
    import shutil
    package = tmp_path / 'code' / 'nrp_plugin'
    shutil.copytree(os.path.dirname(result_cache.__file__) + '/..', package,
                    ignore=shutil.ignore_patterns('__pycache__'))
    monkeypatch.setattr(result_cache, 'code_roots', lambda: [('nrp_plugin', package)])
    result_cache._fingerprint.cache_clear()
    _run(tmp_path / 'cache', models=['model_a'])
    assert len(fakes['score']) == 4
    # tables only: not part of the fingerprint, the next process reuses the scores
    (package / 'app' / 'report.py').write_text((package / 'app' / 'report.py').read_text() + '\n# edited\n')
    result_cache._fingerprint.cache_clear()  # a new process
    assert all(r['cached'] for r in _run(tmp_path / 'cache', models=['model_a']))
    scoring = package / 'core' / 'scoring.py'
    scoring.write_text(scoring.read_text().replace('def mae(', 'def mae(  ', 1))
    result_cache._fingerprint.cache_clear()
    records = _run(tmp_path / 'cache', models=['model_a'])
    assert not any(r['cached'] for r in records) and len(fakes['score']) == 8
    result_cache._fingerprint.cache_clear()


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'empty', 'not_a_record', 'other_key'])
def test_corrupted_cache_file_is_recomputed(fakes, tmp_path, damage):
    first = _run(tmp_path / 'cache', models=['model_a'])
    files = sorted((tmp_path / 'cache').glob('*.json'))
    assert len(files) == 4
    victim = next(f for f in files if '-nrp' in f.name)
    text = victim.read_text()
    victim.write_text({'truncated': text[:len(text) // 2], 'garbage': '\x00\xff{{', 'empty': '',
                       'not_a_record': '[1, 2]',
                       'other_key': json.dumps(dict(json.loads(text), key={'other': 1}))}[damage])
    logged = []
    records = compare.run_compare(models=['model_a'], families=[FAMILY], cache_directory=tmp_path / 'cache',
                                  progress=False, log=logged.append)
    recomputed = [r['benchmark'] for r in records if not r['cached']]
    assert len(recomputed) == 1 and recomputed[0] in victim.name and len(fakes['score']) == 5
    assert logged and 'recomputed' in logged[0]
    strip = lambda rs: [{k: v for k, v in r.items() if k != 'cached'} for r in rs]
    assert strip(records) == strip(first)
    assert json.loads(victim.read_text())['score'] == first[[r['benchmark'] for r in first].index(recomputed[0])]['score']


def _concurrent_compare(cache, out, barrier, queue):
    """One `compare` in a forked process: the fakes are inherited; scoring is slowed so runs overlap."""
    import time
    try:
        original = compare.score_model
        compare.score_model = lambda model, benchmark: (time.sleep(0.05), original(model, benchmark))[1]
        barrier.wait(timeout=30)
        records = _run(cache)
        report.write_report(records, out, plots=False)
        queue.put(('ok', out))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        queue.put(('error', repr(error)))


def test_two_concurrent_runs_on_one_cache_both_finish(fakes, tmp_path):
    import multiprocessing
    context = multiprocessing.get_context('fork')
    barrier, queue = context.Barrier(2), context.Queue()
    outs = [tmp_path / 'out_a', tmp_path / 'out_b']
    processes = [context.Process(target=_concurrent_compare, args=(tmp_path / 'cache', out, barrier, queue))
                 for out in outs]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [r[0] for r in results] == ['ok', 'ok'], results
    assert all(process.exitcode == 0 for process in processes)
    written = [json.loads((out / 'table.json').read_text()) for out in outs]
    assert written[0]['rows'] == written[1]['rows'] and len(written[0]['rows']) == len(MODELS) * 2
    assert len(list((tmp_path / 'cache').glob('*.json'))) == len(MODELS) * 4
    assert not list((tmp_path / 'cache').glob('.*.tmp'))
    # the cache both wrote is complete: a third run recomputes nothing and gives the same table
    third = _run(tmp_path / 'cache')
    assert all(r['cached'] for r in third) and report.tabulate(third)[0] == written[0]['rows']


def test_search_grid_replaces_nrp_metrics(fakes, tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(compare, 'nrp_metric',
                        lambda settings: made.append(settings.search_grid) or f'metric-{settings.search_grid}')
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
    rows = tables.build_rows(records)
    assert len(rows) == 1 and not any(r['cached'] for r in records)
    model = load_model('SyntheticMajajHong2015-teacher')
    pls = load_benchmark('SyntheticMajajHong2015.IT-pls')(model)
    nrp = _cheap_nrp(load_benchmark('SyntheticMajajHong2015.IT-nrp'))(model)
    row = rows[0]
    assert row['pls_score'] == pytest.approx(float(pls), rel=1e-6)
    assert row['pls_raw_r'] == pytest.approx(float(pls.attrs['raw']), rel=1e-6)
    assert row['nrp_error'] == pytest.approx(nrp.attrs['nrp_error'], rel=1e-4)
    assert row['nrp_score'] == pytest.approx(float(nrp), rel=1e-4, abs=1e-6)
    assert row['least_squares_mae'] == pytest.approx(nrp.attrs['raw'].attrs['least_squares_mae'], rel=1e-4)
    assert len(records[-1]['split_nrp_error']) == len(records[-1]['split_least_squares_mae']) == 2


def test_ridge_and_pls_mae_fill_the_two_by_two_when_reported(fakes, tmp_path, monkeypatch):
    """With ``ridge_*`` attrs on the NRP metric and ``mae*`` on the PLS metric, every 2 x 2 cell is filled (for a
    model whose NRP metric also reports the banded and kernel ridge); best linear may then be PLS or ridge."""
    def with_ridge(model, benchmark):
        score = fake_score(model, benchmark)
        raw = score.attrs['raw']
        if benchmark.endswith('-pls'):
            mae = np.array([[0.5, 0.7], [0.6, 0.6], [0.4, 0.8]])
            raw.attrs.update(mae=float(mae.mean()), mae_error=0.01, mae_raw=_split_neuroid(mae, ['n0', 'n1']))
        else:
            ridge = np.asarray(raw.attrs['least_squares_raw'].values) - 0.05
            raw.attrs.update(ridge_mae=float(ridge.mean()), ridge_mae_error=0.002, ridge_r2=0.3, ridge_r2_error=0.01,
                             least_squares_pearson=0.3,
                             ridge_pearson=0.5, ridge_raw=_split_neuroid(ridge, [f'n{i}' for i in range(4)]))
        return score

    monkeypatch.setattr(FakeBenchmark, '__call__', lambda self, model: with_ridge(model.identifier, self.identifier))
    rows, _ = report.tabulate(_run(tmp_path / 'cache', models=['model_b']))
    for row in rows:
        assert all(row[f'{m}_{measure}'] is not None for m in mappings.names() for measure in contrasts.MEASURES)
        assert row['ridge_score_r'] == pytest.approx(0.5 ** 2 / 0.8)
        assert row['pls_mae'] == pytest.approx(0.6)
        assert row['pls_score_mae'] == pytest.approx((1.5 - 0.6) / (1.5 - 0.3))
        # ridge is linear - 0.05 on every split: the paired difference is exactly -0.05 with zero width
        assert row['ridge_minus_least_squares_mae'] == pytest.approx(-0.05)
        assert row['ridge_minus_least_squares_ci_high'] - row['ridge_minus_least_squares_ci_low'] == pytest.approx(
            0, abs=1e-12)
        # best linear by hand: the lowest mean of the per-split MAEs among PLS (0.6 on every split), ridge,
        # banded ridge and least squares; model_b's V4 NRP-error is near 0.05 (ridge wins), its IT one near 0.62
        # (PLS wins)
        means = {m: np.mean(row[f'split_{m}_mae']) for m in ('pls', 'ridge', 'banded_ridge', 'least_squares')}
        assert row['best_linear'] == min(means, key=means.get)
        assert row['best_linear'] == {'V4': 'ridge', 'IT': 'pls'}[row['region']]
        assert row['nrp_minus_best_linear_mae'] == pytest.approx(
            np.mean(np.subtract(row['split_nrp_mae'], row[f"split_{row['best_linear']}_mae"])))
    stats = contrasts.statistics(rows)
    tested = {e['contrast'] for e in stats['mapping_differences']}
    assert tested == {'nrp - least_squares', 'nrp - pls', 'nrp - ridge', 'nrp - banded_ridge', 'nrp - kernel_ridge',
                      'nrp - best_linear', 'ridge - least_squares', 'banded_ridge - pls'}
    assert 'NRP ceiled MAE' in tables.markdown_table(rows)


def test_tables_and_plots_show_corrected_intervals_and_say_what_each_mapping_is(fakes, tmp_path, monkeypatch):
    """The ± cells and every error bar are the corrected 95% half-widths, never the benchmarks' naive SEM
    (0.005 for the NRP-error, 0.004 for least squares in these fakes); the labels name least squares on
    the NRP inputs for what it is."""
    import matplotlib
    from matplotlib.axes import Axes
    from scipy.stats import t
    bars, texts = [], {}
    errorbar = Axes.errorbar

    def recording_errorbar(self, *args, **kwargs):
        for key in ('xerr', 'yerr'):
            if kwargs.get(key) is not None:
                bars.extend(np.atleast_1d(np.asarray(kwargs[key], dtype=float)).ravel().tolist())
        return errorbar(self, *args, **kwargs)

    save = report._save

    def recording_save(fig, path):
        texts[path.name] = ' '.join(' '.join(text.get_text() for text in fig.findobj(matplotlib.text.Text)).split())
        save(fig, path)

    monkeypatch.setattr(Axes, 'errorbar', recording_errorbar)
    monkeypatch.setattr(report, '_save', recording_save)
    rows, stats, table_md, _, plots = report.write_report(_run(tmp_path / 'cache'), tmp_path / 'out')
    nrp_half = t.ppf(0.975, 2) * np.sqrt((1 / 3 + 1 / 9) * np.var([0, .02, -.01], ddof=1))
    linear_half = t.ppf(0.975, 2) * np.sqrt((1 / 3 + 1 / 9) * np.var([0, .05, -.03], ddof=1))
    shown = {round(b, 12) for b in bars if np.isfinite(b)}
    assert shown == {round(nrp_half, 12), round(linear_half, 12)}, shown
    # the table: the interval beside the estimate, labelled as such
    table = (tmp_path / 'out' / 'table.md').read_text()
    header = next(line for line in table.splitlines() if line.startswith('| model | region | PLS r'))
    cells = [c.strip() for c in header.strip('|').split('|')]
    assert cells[cells.index('NRP-error') + 1] == '95% interval'
    assert 'LSQ (NRP inputs) MAE' in cells and 'linear MAE' not in cells and 'NRP − LSQ (NRP inputs) MAE' in cells
    for row in rows:
        centre = np.mean(row['split_nrp_mae'])
        assert f"| {row['nrp_error']:.3f} | [{centre - nrp_half:.4f}, {centre + nrp_half:.4f}] |" in table
    assert "least squares with an intercept on the NRP's prepared inputs" in table
    assert 'Nadeau & Bengio' in table and 'NRP-error: MAE of the NRP\'s test predictions' in table
    statistics_md = (tmp_path / 'out' / 'stats.md').read_text()
    assert '| NRP − LSQ (NRP inputs) |' in statistics_md and '| nrp - linear |' not in statistics_md
    everything = ' '.join((table + statistics_md + ' '.join(texts.values())).split())  # captions are wrapped
    assert 'paper-linear' not in everything and "paper's MAE" not in everything
    # "the paper's linear" appears only where it says that this is not the paper's baseline
    assert everything.count("paper's linear") == everything.count("not on the layers' activations as the paper's "
                                                                  "linear baseline was") > 0
    # every plot with error bars says what they are; the one with least squares says what it is
    assert set(texts) == {p.name for p in plots}
    for name, text in texts.items():
        if 'mapping_x_measure' not in name:
            assert 'corrected resampled t' in text and '95%' in text, name
        assert 'MAE of the NRP' in text or 'mapping_x_measure' in name or 'least_squares_vs_nrp' in name, name
    linear_plot = texts[f'{FAMILY}_least_squares_vs_nrp_mae.png']
    assert 'LSQ (NRP inputs)' in linear_plot and 'least squares with an intercept' in linear_plot
    assert 'LSQ (NRP inputs)' in texts[f'{FAMILY}_mapping_x_measure.png']


def _fake_split_maes(model, region, mapping):
    """Per-split MAE (mean over neuroids) of a mapping as the fake NRP score reports it, read from its attrs."""
    attrs = fake_score(model, f'{FAMILY}.{region}-nrp').attrs['raw'].attrs
    return np.asarray(attrs['raw' if mapping == 'nrp' else f'{mapping}_raw'].values).mean(axis=1)


def _corrected_t(d, test_train_ratio=1 / 9):
    """The corrected resampled t of per-split differences d by hand (Nadeau & Bengio 2003): mean, 95% interval, p."""
    from scipy.stats import t
    d = np.asarray(d, dtype=float)
    k = d.size
    se = np.sqrt((1 / k + test_train_ratio) * np.var(d, ddof=1))
    half = t.ppf(0.975, k - 1) * se
    return d.mean(), d.mean() - half, d.mean() + half, 2 * t.sf(abs(d.mean() / se), k - 1)


def test_banded_and_kernel_ridge_fill_their_columns_where_reported(fakes, tmp_path):
    """The records, rows, CSV, JSON, Markdown and the mapping x measure figure carry the banded ridge and the kernel
    ridge as the fake NRP scores report them; models whose scores do not report them read as missing."""
    from scipy.stats import t
    records = _run(tmp_path / 'cache')
    rows, stats, table_md, _, paths = report.write_report(records, tmp_path / 'out')
    for record in (r for r in records if r['kind'] == 'nrp'):
        attrs = fake_score(record['model'], record['benchmark']).attrs['raw'].attrs
        for mapping in ('banded_ridge', 'kernel_ridge'):
            if record['model'] in REFERENCE_MODELS:
                for suffix in ('mae', 'mae_error', 'r2', 'r2_error', 'pearson'):
                    assert record[f'{mapping}_{suffix}'] == pytest.approx(attrs[f'{mapping}_{suffix}'])
                assert record[f'split_{mapping}_mae'] == pytest.approx(
                    list(_fake_split_maes(record['model'], record['region'], mapping)))
            else:
                assert record[f'{mapping}_mae'] is None and record[f'split_{mapping}_mae'] == []
        reported = record['model'] in REFERENCE_MODELS
        assert record['banded_ridge_layer_weights'] == (FAKE_LAYER_WEIGHTS if reported else [])
        assert record['kernel_ridge_bandwidth'] == (FAKE_BANDWIDTHS if reported else [])
    t975 = t.ppf(0.975, 2)
    for row in rows:
        if row['model'] not in REFERENCE_MODELS:
            assert all(row[f'{m}_{measure}'] is None for m in ('banded_ridge', 'kernel_ridge')
                       for measure in contrasts.MEASURES)
            assert row['banded_ridge_r2'] is None and row['kernel_ridge_bandwidth'] == []
            continue
        attrs = fake_score(row['model'], f"{FAMILY}.{row['region']}-nrp").attrs['raw'].attrs
        for mapping, r2 in (('banded_ridge', 0.25), ('kernel_ridge', 0.3)):
            splits = _fake_split_maes(row['model'], row['region'], mapping)
            assert row[f'{mapping}_mae'] == pytest.approx(attrs[f'{mapping}_mae'])
            assert row[f'{mapping}_r2'] == r2 and row[f'{mapping}_r2_error'] == 0.02
            assert row[f'{mapping}_score_mae'] == pytest.approx((1.5 - attrs[f'{mapping}_mae']) / (1.5 - 0.3))
            assert row[f'{mapping}_score_r'] == pytest.approx(attrs[f'{mapping}_pearson'] ** 2 / 0.8)
            assert row[f'{mapping}_mae_ci_high'] - row[f'{mapping}_mae_ci_low'] == pytest.approx(
                2 * t975 * np.sqrt((1 / 3 + 1 / 9) * np.var(splits, ddof=1)))
        assert row['banded_ridge_layer_weights'] == FAKE_LAYER_WEIGHTS
        assert row['kernel_ridge_bandwidth'] == FAKE_BANDWIDTHS
    # the JSON and the CSV
    table = json.loads((tmp_path / 'out' / 'table.json').read_text())
    assert [r['kernel_ridge_mae'] for r in table['rows']] == [r['kernel_ridge_mae'] for r in rows]
    assert all('banded_ridge_layer_weights' in s for s in table['scores'] if s['kind'] == 'nrp')
    header, *lines = (tmp_path / 'out' / 'table.csv').read_text().splitlines()
    header = header.split(',')
    for column in ('banded_ridge_mae', 'kernel_ridge_mae', 'banded_ridge_r2', 'kernel_ridge_score_r',
                   'nrp_minus_banded_ridge_p_holm', 'best_linear'):
        assert column in header, column
    for line, row in zip(lines, rows):
        cell = line.split(',')[header.index('kernel_ridge_score_mae')]
        assert cell == '' if row['kernel_ridge_score_mae'] is None else float(cell) == pytest.approx(
            row['kernel_ridge_score_mae'])
    # Markdown: two more columns per measure, their definitions in the legend
    assert '| banded ridge MAE | LSQ (NRP inputs) MAE | kernel ridge (RBF) MAE | NRP MAE |' in table_md
    assert 'banded ridge: ridge on every non-zero principal component of every layer with one weight per layer' \
        in table_md and 'kernel ridge (RBF): kernel ridge with a Gaussian kernel' in table_md
    # the figure: one bar per mapping, the new ones at the rows' values (NaN where not reported)
    regions, models = ['V4', 'IT'], list(MODELS)
    fig = plots.mapping_measure_figure(rows, regions, models, FAMILY)
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == [mappings.title(m) for m in mappings.names()]
    assert 'banded ridge' in labels and 'kernel ridge (RBF)' in labels
    get = {(r['model'], r['region']): r for r in rows}
    for i, region in enumerate(regions):
        for j, measure in enumerate(('score_mae', 'score_r')):
            ax = fig.axes[i * 2 + j]
            for mapping in ('banded_ridge', 'kernel_ridge'):
                heights = [bar.get_height() for bar in ax.containers[mappings.names().index(mapping)]]
                expected = [get[(m, region)][f'{mapping}_{measure}'] for m in models]
                assert heights == [pytest.approx(e) if e is not None else pytest.approx(np.nan, nan_ok=True)
                                   for e in expected]
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_nrp_minus_best_linear_holds_the_nrp_to_the_linear_mapping_with_the_lowest_mean_mae(fakes, tmp_path):
    """Best linear is chosen from PLS, ridge, banded ridge and least squares by the mean over splits (not split by
    split, and never the kernel ridge); the contrast is the corrected resampled t on the paired differences."""
    rows, stats, _, _, _ = report.write_report(_run(tmp_path / 'cache'), tmp_path / 'out', plots=False)
    entries = {(e['model'], e['region']): e for e in stats['mapping_differences'] if e['contrast'] == 'nrp - best_linear'}
    assert len(entries) == len(rows)
    for row in rows:
        model, region = row['model'], row['region']
        nrp = _fake_split_maes(model, region, 'nrp')
        linear = _fake_split_maes(model, region, 'least_squares')
        if model in REFERENCE_MODELS:
            banded = _fake_split_maes(model, region, 'banded_ridge')
            kernel = _fake_split_maes(model, region, 'kernel_ridge')
            # the fakes make the choice matter: least squares is lower on the first split, the banded ridge on
            # average, and the kernel ridge (not linear) lower than both
            assert linear[0] < banded[0] and banded.mean() < linear.mean() and kernel.mean() < banded.mean()
            expected, chosen = 'banded_ridge', banded
        else:
            expected, chosen = 'least_squares', linear
        assert row['best_linear'] == expected and entries[(model, region)]['best_linear'] == expected
        assert row['best_linear_mae'] == pytest.approx(chosen.mean())
        mean, low, high, p = _corrected_t(nrp - chosen)
        assert row['nrp_minus_best_linear_mae'] == pytest.approx(mean)
        assert (row['nrp_minus_best_linear_ci_low'], row['nrp_minus_best_linear_ci_high']) == (
            pytest.approx(low), pytest.approx(high))
        assert row['nrp_minus_best_linear_p'] == pytest.approx(p)
        entry = entries[(model, region)]
        assert (entry['mean'], entry['ci_low'], entry['ci_high'], entry['p']) == (
            pytest.approx(mean), pytest.approx(low), pytest.approx(high), pytest.approx(p))
    stats_md = (tmp_path / 'out' / 'stats.md').read_text()
    assert '| NRP − best linear (banded ridge) |' in stats_md and '| NRP − best linear (LSQ (NRP inputs)) |' in stats_md
    assert 'lowest mean MAE over the splits' in stats_md and 'not the per-split minimum' in stats_md


def _holm_by_hand(p_values):
    """Holm's adjusted p-values by the textbook formula: p_(i) adjusted = max over j <= i of min(1, (m - j + 1) p_(j)),
    with 1-based ranks j of the sorted p-values."""
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    for i in range(1, m + 1):
        adjusted[order[i - 1]] = max(min(1.0, (m - j + 1) * p_values[order[j - 1]]) for j in range(1, i + 1))
    return adjusted


def test_contrast_p_values_are_holm_corrected_across_models_and_regions(fakes, tmp_path):
    """Per contrast, the p-values of every model and region of the family, Holm-corrected together; the banded
    ridge's is over the models that report it only."""
    rows, stats, _, _, _ = report.write_report(_run(tmp_path / 'cache'), tmp_path / 'out', plots=False)
    for a, b in (('nrp', 'banded_ridge'), ('banded_ridge', 'pls'), ('nrp', 'best_linear'), ('nrp', 'least_squares')):
        contrast = f'{a} - {b}'
        entries = [e for e in stats['mapping_differences'] if e['contrast'] == contrast and e['p'] is not None]
        expected = _holm_by_hand([e['p'] for e in entries])
        assert [e['p_holm'] for e in entries] == pytest.approx(expected), contrast
        by_key = {(e['model'], e['region']): e['p_holm'] for e in entries}
        for row in rows:
            assert row[f'{a}_minus_{b}_p_holm'] == (pytest.approx(by_key[(row['model'], row['region'])])
                                                     if (row['model'], row['region']) in by_key else None)
    banded = [e for e in stats['mapping_differences'] if e['contrast'] == 'nrp - banded_ridge']
    assert {e['model'] for e in banded} == set(REFERENCE_MODELS) and len(banded) == 4
    # the fakes' banded ridge differs from the NRP by a model-dependent amount: four distinct p-values, so the
    # correction is not a plain multiplication
    assert len({round(e['p'], 12) for e in banded}) == 4
    assert all(e['p'] <= e['p_holm'] <= 1 for e in banded) and max(e['p_holm'] for e in banded) < 1
    # banded ridge − PLS needs the PLS MAE per split, which these fakes do not report
    assert not [e for e in stats['mapping_differences'] if e['contrast'] == 'banded_ridge - pls']
    stats_md = (tmp_path / 'out' / 'stats.md').read_text()
    assert "Holm's (1979) step-down correction" in stats_md and '| Holm p |' in stats_md


def test_records_without_the_new_mappings_still_render(fakes, tmp_path):
    """Records cached before the banded and kernel ridge were reported have none of their keys: the tables, the
    statistics and the plots read them as not reported (None, never 0) and best linear falls back on least squares."""
    records = [{k: v for k, v in r.items() if 'banded_ridge' not in k and 'kernel_ridge' not in k}
               for r in _run(tmp_path / 'cache')]
    assert not any('banded_ridge_mae' in r for r in records)
    rows, stats, table_md, _, paths = report.write_report(records, tmp_path / 'out')
    for row in rows:
        for mapping in ('banded_ridge', 'kernel_ridge'):
            assert all(row[f'{mapping}_{measure}'] is None for measure in contrasts.MEASURES)
            assert row[f'{mapping}_r2'] is None and row[f'split_{mapping}_mae'] == []
            assert row[f'nrp_minus_{mapping}_mae'] is None and row[f'nrp_minus_{mapping}_p_holm'] is None
        assert row['best_linear'] == 'least_squares'
        assert row['nrp_minus_best_linear_mae'] == pytest.approx(row['nrp_minus_least_squares_mae'])
        assert row['nrp_minus_best_linear_ci_low'] == pytest.approx(row['nrp_minus_least_squares_ci_low'])
    assert {e['contrast'] for e in stats['mapping_differences']} == {'nrp - least_squares', 'nrp - best_linear'}
    header, *lines = (tmp_path / 'out' / 'table.csv').read_text().splitlines()
    column = header.split(',').index('banded_ridge_mae')
    assert all(line.split(',')[column] == '' for line in lines)
    assert '| kernel ridge (RBF) MAE |' in table_md
    assert f'{FAMILY}_mapping_x_measure.png' in {p.name for p in paths}
