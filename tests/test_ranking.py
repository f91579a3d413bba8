"""Does the NRP rank models differently from PLS? (nrp_plugin.app.ranking.ranking, its tables and plot): fake
models whose orders under PLS r and under the NRP-error are known, scored through the comparison runner with the
fakes of tests/helpers.py, against hand computations with scipy."""
import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

import helpers
from helpers import FAMILY
from nrp_plugin.app import compare, contrasts, ranking, report, tables

K = 10  # splits, as Brain-Score's
REGION = 'IT'
MODELS = ['net_a', 'net_b', 'net_c', 'net_d', 'net_e', 'net_f']


def site_values(pls_base, nrp_base, n_sites=30, site_noise=0.0, split_noise=0.005, seed=0, split_offsets=None,
                ridge_shift=None, models=None):
    """Per model, split x site PLS r and NRP MAE with known orders.

    ``value[model, split, site] = base[model] + offset[model, split] + site_effect[site] + site_noise * e``: the site
    effect is shared by every model (a site that is easy for one is easy for all), so with ``site_noise`` 0 the
    median (PLS) and the mean (NRP) over sites of a split are the base plus the split's offset plus a constant, and
    the order of the models is the order of their bases. The NRP's sites are stored in a shuffled order with their
    ids (as the NRP metric keeps the target's order), the PLS's sorted (as the PLS metric does). ``ridge_shift``:
    the NRP MAE plus this gives the ridge's. ``models``: their names (:data:`MODELS` by default).
    """
    rng = np.random.default_rng(seed)
    site_effect = rng.normal(0.0, 0.05, n_sites)
    ids = [f's{j:03d}' for j in range(n_sites)]
    values = {}
    for index, model in enumerate(models or MODELS[:len(pls_base)]):
        offsets = {}
        for kind in ('pls', 'nrp'):
            offsets[kind] = ((split_offsets or {}).get((model, kind)) if split_offsets else None)
            if offsets[kind] is None:
                offsets[kind] = split_noise * rng.normal(size=K)
        pls = (pls_base[index] + np.asarray(offsets['pls'])[:, None] + site_effect
               + site_noise * rng.normal(size=(K, n_sites)))
        nrp = (nrp_base[index] + np.asarray(offsets['nrp'])[:, None] - site_effect
               + site_noise * rng.normal(size=(K, n_sites)))
        shuffle = rng.permutation(n_sites)
        values[(model, f'{FAMILY}.{REGION}-pls')] = {'values': pls}
        nrp_entry = {'values': nrp[:, shuffle], 'neuroid_ids': [ids[j] for j in shuffle]}
        if ridge_shift is not None:
            nrp_entry['ridge'] = (nrp + ridge_shift[index])[:, shuffle]
        values[(model, f'{FAMILY}.{REGION}-nrp')] = nrp_entry
    return values


def run(monkeypatch, tmp_path, values):
    """The comparison runner on the fake models whose scores are built from ``values``: records and rows."""
    monkeypatch.setattr(helpers, 'SITE_VALUES', values)
    models = list(dict.fromkeys(model for model, _ in values))
    records = compare.run_compare(models=models, families=[FAMILY], regions=[REGION],
                                  cache_directory=tmp_path / 'cache', progress=False)
    return records, tables.build_rows(records)


def group_of(result):
    assert len(result['regions']) == 1
    return result['regions'][0]


def correlation(group, comparison='nrp_vs_pls'):
    return next(entry for entry in group['correlations'] if entry['comparison'] == comparison)


SAME_PLS = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]  # net_a best by PLS r
SAME_NRP = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]  # net_a best by NRP-error
SWAPPED_NRP = [0.1, 0.2, 0.4, 0.3, 0.5, 0.6]  # net_c and net_d swapped


def test_records_keep_per_split_per_site_values_in_neuroid_order(fakes, tmp_path, monkeypatch):
    """The PLS record and the NRP record of a model list the same site at the same index, sorted by neuroid_id,
    although the NRP metric keeps the target's order; the scores are the values' aggregates."""
    values = site_values(SAME_PLS, SAME_NRP, ridge_shift=[0.05] * 6)
    records, rows = run(monkeypatch, tmp_path, values)
    by_kind = {(r['model'], r['kind']): r for r in records}
    for model in MODELS:
        pls, nrp = by_kind[(model, 'pls')], by_kind[(model, 'nrp')]
        assert pls['site_neuroid_id'] == nrp['site_neuroid_id'] == [f's{j:03d}' for j in range(30)]
        built = values[(model, f'{FAMILY}.{REGION}-nrp')]
        order = np.argsort(built['neuroid_ids'])
        assert np.allclose(nrp['site_nrp_mae'], np.asarray(built['values'])[:, order])
        assert np.allclose(nrp['site_ridge_mae'], np.asarray(built['ridge'])[:, order])
        assert np.allclose(pls['site_pls_r'], values[(model, f'{FAMILY}.{REGION}-pls')]['values'])
        # the site effect is shared, so with the sites aligned the NRP MAE + PLS r is constant over sites
        total = np.asarray(nrp['site_nrp_mae']) + np.asarray(pls['site_pls_r'])
        assert np.allclose(total, total[:, :1])
        # the scores are the per-site values aggregated as defined
        assert pls['raw_r'] == pytest.approx(np.median(pls['site_pls_r'], axis=1).mean())
        assert nrp['nrp_error'] == pytest.approx(np.mean(nrp['site_nrp_mae'], axis=1).mean())
        assert pls['split_pls_r'] == pytest.approx(list(np.median(pls['site_pls_r'], axis=1)))
        every = ranking.resampled_scores(np.asarray([pls['site_pls_r']]), 'median', np.arange(30), np.arange(K))
        assert every[0] == pytest.approx(pls['raw_r'])
    assert json.loads(json.dumps(by_kind[('net_a', 'pls')]))['site_pls_r'] == by_kind[('net_a', 'pls')]['site_pls_r']


def test_identical_orders_give_one_and_no_discordant_pair(fakes, tmp_path, monkeypatch):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SAME_NRP, ridge_shift=[0.05] * 6))
    group = group_of(ranking.ranking(rows, records, resamples=200))
    for comparison in ('nrp_vs_pls', 'ridge_vs_pls'):
        entry = correlation(group, comparison)
        assert entry['n_models'] == 6
        assert entry['spearman'] == pytest.approx(1.0) and entry['kendall'] == pytest.approx(1.0)
        # the gaps (0.1) dwarf the split noise (0.005): every resample keeps the order
        assert entry['spearman_ci'] == pytest.approx([1.0, 1.0]) and entry['kendall_ci'] == pytest.approx([1.0, 1.0])
        assert entry['bootstrap'] == {'resamples': 200, 'valid': 200, 'splits': K, 'sites': 30}
    assert group['discordant_pairs'] == [] and group['n_discordant'] == 0 and group['n_pairs'] == 15
    assert [r['pls_rank'] for r in group['ranks']] == [r['nrp_rank'] for r in group['ranks']] == [1, 2, 3, 4, 5, 6]
    assert group['movers'] == []


def test_a_reversed_order_gives_minus_one_and_every_pair_discordant(fakes, tmp_path, monkeypatch):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SAME_NRP[::-1]))
    group = group_of(ranking.ranking(rows, records, resamples=100))
    entry = correlation(group)
    assert entry['spearman'] == pytest.approx(-1.0) and entry['kendall'] == pytest.approx(-1.0)
    assert entry['spearman_ci'] == pytest.approx([-1.0, -1.0])
    assert group['n_discordant'] == 15 and all(pair['swaps'] for pair in group['discordant_pairs'])
    # A is always the model PLS prefers, B the one the NRP prefers
    for pair in group['discordant_pairs']:
        assert pair['pls_r_a'] > pair['pls_r_b'] and pair['nrp_error_b'] < pair['nrp_error_a']


def _corrected_t_by_hand(d, test_train_ratio=1 / 9):
    """Two-sided p of the corrected resampled t (Nadeau & Bengio 2003) with scipy.stats.t."""
    d = np.asarray(d, dtype=float)
    k = d.size
    se = math.sqrt((1 / k + test_train_ratio) * d.var(ddof=1))
    return 2 * scipy_stats.t.sf(abs(d.mean() / se), k - 1)


def test_one_swapped_pair_gives_the_analytic_correlations_and_is_the_only_discordant_pair(fakes, tmp_path,
                                                                                          monkeypatch):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SWAPPED_NRP))
    group = group_of(ranking.ranking(rows, records, resamples=100))
    entry = correlation(group)
    n, d = 6, np.array([0, 0, 1, -1, 0, 0])  # rank differences: net_c and net_d swap
    assert entry['spearman'] == pytest.approx(1 - 6 * np.sum(d ** 2) / (n * (n ** 2 - 1)))  # 0.942857
    assert entry['kendall'] == pytest.approx((14 - 1) / 15)  # 14 concordant pairs, 1 discordant, no ties
    assert entry['spearman_ci'][0] <= entry['spearman'] <= entry['spearman_ci'][1]
    (pair,) = group['discordant_pairs']
    assert (pair['model_a'], pair['model_b']) == ('net_c', 'net_d')
    # both differences by hand: per split, the median over sites (PLS r) and the mean over sites (NRP-error)
    by_kind = {(r['model'], r['kind']): r for r in records}
    pls_d = (np.median(by_kind[('net_c', 'pls')]['site_pls_r'], axis=1)
             - np.median(by_kind[('net_d', 'pls')]['site_pls_r'], axis=1))
    nrp_d = (np.mean(by_kind[('net_c', 'nrp')]['site_nrp_mae'], axis=1)
             - np.mean(by_kind[('net_d', 'nrp')]['site_nrp_mae'], axis=1))
    assert pair['pls_difference'] == pytest.approx(pls_d.mean()) and pair['nrp_difference'] == pytest.approx(
        nrp_d.mean())
    p_pls, p_nrp = _corrected_t_by_hand(pls_d), _corrected_t_by_hand(nrp_d)
    assert pair['pls_p'] == pytest.approx(p_pls) and pair['nrp_p'] == pytest.approx(p_nrp)
    # Holm over the pair's two tests by hand: the smaller times 2, the larger kept at least that
    low, high = sorted((p_pls, p_nrp))
    expected = {p_pls: None, p_nrp: None}
    expected[low], expected[high] = min(1, 2 * low), max(min(1, 2 * low), high)
    assert pair['pls_p_holm'] == pytest.approx(expected[p_pls]) and pair['nrp_p_holm'] == pytest.approx(
        expected[p_nrp])
    assert pair['pls_p_holm'] < 1e-6 and pair['nrp_p_holm'] < 1e-6 and pair['swaps'] is True
    assert group['n_swaps'] == 1 and set(group['movers']) == {'net_c', 'net_d'}
    ranks = {r['model']: r for r in group['ranks']}
    assert (ranks['net_c']['pls_rank'], ranks['net_c']['nrp_rank'], ranks['net_c']['rank_change']) == (3, 4, -1)


def test_a_swap_within_the_noise_is_listed_but_not_significant(fakes, tmp_path, monkeypatch):
    """net_c and net_d differ by 0.002 under both measures, in opposite orders, while net_d's per-split values
    scatter by 0.03: the pair is discordant but neither difference is significant; a well separated swap beside it
    is flagged."""
    scatter = np.random.default_rng(7).normal(size=K)
    scatter = 0.03 * (scatter - scatter.mean()) / scatter.std(ddof=1)  # mean exactly 0: the gap stays 0.002
    offsets = {(model, kind): np.zeros(K) for model in MODELS for kind in ('pls', 'nrp')}
    offsets[('net_d', 'pls')] = offsets[('net_d', 'nrp')] = scatter
    pls = [0.6, 0.5, 0.400, 0.398, 0.2, 0.1]
    nrp = [0.1, 0.2, 0.300, 0.298, 0.6, 0.5]  # net_c/net_d within the noise, net_e/net_f well separated
    records, rows = run(monkeypatch, tmp_path, site_values(pls, nrp, split_offsets=offsets))
    group = group_of(ranking.ranking(rows, records, resamples=0))
    pairs = {(p['model_a'], p['model_b']): p for p in group['discordant_pairs']}
    assert set(pairs) == {('net_c', 'net_d'), ('net_e', 'net_f')}
    noise = pairs[('net_c', 'net_d')]
    assert noise['pls_difference'] == pytest.approx(0.002) and noise['nrp_difference'] == pytest.approx(0.002)
    # by hand: t = 0.002 / sqrt((1/10 + 1/9) 0.03^2), 9 degrees of freedom
    t = 0.002 / math.sqrt((1 / K + 1 / 9) * 0.03 ** 2)
    assert noise['pls_p'] == pytest.approx(2 * scipy_stats.t.sf(t, K - 1)) and noise['pls_p'] > 0.5
    assert noise['swaps'] is False
    assert pairs[('net_e', 'net_f')]['swaps'] is None  # no split noise at all: zero variance, no t
    # with a little split noise the separated pair is tested, and swaps
    noisy = dict(offsets)
    for kind in ('pls', 'nrp'):
        noisy[('net_e', kind)] = 0.005 * np.random.default_rng(1).normal(size=K)
    records, rows = run(monkeypatch, tmp_path / 'again', site_values(pls, nrp, split_offsets=noisy))
    pairs = {(p['model_a'], p['model_b']): p for p in group_of(ranking.ranking(rows, records, resamples=0))[
        'discordant_pairs']}
    assert pairs[('net_e', 'net_f')]['swaps'] is True and pairs[('net_c', 'net_d')]['swaps'] is False


def _width(interval):
    return interval[1] - interval[0]


def test_bootstrap_interval_holds_the_estimate_and_shrinks_with_many_consistent_sites(fakes, tmp_path, monkeypatch):
    pls, nrp = [0.6, 0.55, 0.5, 0.45, 0.4, 0.35], [0.10, 0.15, 0.25, 0.20, 0.30, 0.35]
    few = site_values(pls, nrp, n_sites=4, site_noise=0.15, split_noise=0.01, seed=3)
    many = site_values(pls, nrp, n_sites=300, site_noise=0.01, split_noise=0.002, seed=3)
    widths = {}
    for name, values in (('few', few), ('many', many)):
        records, rows = run(monkeypatch, tmp_path / name, values)
        entry = correlation(group_of(ranking.ranking(rows, records, resamples=300)))
        for measure in ('spearman', 'kendall'):
            low, high = entry[f'{measure}_ci']
            assert low <= entry[measure] <= high, (name, measure, entry)
        widths[name] = (_width(entry['spearman_ci']), _width(entry['kendall_ci']))
    assert widths['many'][0] < 0.5 * widths['few'][0] and widths['many'][1] < 0.5 * widths['few'][1], widths
    assert widths['few'][0] > 0.3, widths


def test_bootstrap_equals_a_hand_resampling_of_sites_and_splits(fakes, tmp_path, monkeypatch):
    """The interval by hand: per resample n sites then k splits drawn with replacement (numpy's default_rng, seed
    0), each model's PLS r as the median over the drawn sites per drawn split, mean over the drawn splits, its
    NRP-error as the mean over both, scipy's correlations, numpy's 2.5% and 97.5% quantiles."""
    values = site_values([0.6, 0.55, 0.5, 0.45, 0.4, 0.35], [0.10, 0.15, 0.25, 0.20, 0.30, 0.35], n_sites=6,
                         site_noise=0.1, split_noise=0.02, seed=5)
    records, rows = run(monkeypatch, tmp_path, values)
    entry = correlation(group_of(ranking.ranking(rows, records, resamples=40, random_state=0)))
    by_kind = {(r['model'], r['kind']): r for r in records}
    pls = np.array([by_kind[(m, 'pls')]['site_pls_r'] for m in MODELS])
    nrp = np.array([by_kind[(m, 'nrp')]['site_nrp_mae'] for m in MODELS])
    rng = np.random.default_rng(0)
    rhos, taus = [], []
    for _ in range(40):
        sites = rng.integers(0, 6, size=6)
        splits = rng.integers(0, K, size=K)
        pls_scores = [np.mean([np.median(pls[m, j, sites]) for j in splits]) for m in range(6)]
        nrp_scores = [np.mean([np.mean(nrp[m, j, sites]) for j in splits]) for m in range(6)]
        rhos.append(scipy_stats.spearmanr(pls_scores, -np.asarray(nrp_scores)).statistic)
        taus.append(scipy_stats.kendalltau(pls_scores, -np.asarray(nrp_scores)).statistic)
    assert entry['spearman_ci'] == pytest.approx(list(np.quantile(rhos, [0.025, 0.975])))
    assert entry['kendall_ci'] == pytest.approx(list(np.quantile(taus, [0.025, 0.975])))
    assert _width(entry['spearman_ci']) > 0  # the check is not vacuous


def test_records_without_per_site_values_get_the_estimates_without_an_interval(fakes, tmp_path, monkeypatch):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SWAPPED_NRP, ridge_shift=[0.05] * 6))
    old = [{k: v for k, v in r.items() if not k.startswith('site_')} for r in records]
    with_sites = group_of(ranking.ranking(rows, records, resamples=50))
    without = group_of(ranking.ranking(tables.build_rows(old), old, resamples=50))
    for comparison in ('nrp_vs_pls', 'ridge_vs_pls'):
        a, b = correlation(with_sites, comparison), correlation(without, comparison)
        assert (b['spearman'], b['kendall']) == (pytest.approx(a['spearman']), pytest.approx(a['kendall']))
        assert b['spearman_ci'] is None and b['kendall_ci'] is None and b['bootstrap'] is None
        assert 'no per-site values for 6 of 6 models' in b['note']
    # the swap test needs only the per-split values, which the older records have
    assert without['discordant_pairs'] == with_sites['discordant_pairs']
    # one model without them is enough to leave the interval out
    partial = [dict(r, site_pls_r=[]) if r['model'] == 'net_b' and r['kind'] == 'pls' else r for r in records]
    entry = correlation(group_of(ranking.ranking(rows, partial, resamples=50)))
    assert entry['spearman_ci'] is None and 'no per-site values for 1 of 6 models (e.g. net_b' in entry['note']
    # sites that are not the same ones: no interval either
    moved = [dict(r, site_neuroid_id=list(reversed(r['site_neuroid_id']))) if r['model'] == 'net_e' else r
             for r in records]
    entry = correlation(group_of(ranking.ranking(rows, moved, resamples=50)))
    assert entry['spearman_ci'] is None and 'other splits or sites for 1 of 6 models (e.g. net_e' in entry['note']
    # and the report renders them
    rendered = tables.stats_markdown(contrasts.statistics(tables.build_rows(old)),
                                     ranking.ranking(tables.build_rows(old), old, resamples=50))
    assert '| FakeFamily | IT | NRP-error vs PLS r | 6 | 0.943 | – | 0.867 | – | – | no per-site values' in rendered


def test_report_writes_the_section_the_json_and_the_rank_change_plot_with_the_movers_named(fakes, tmp_path,
                                                                                          monkeypatch):
    """Seven models; net_g is last by PLS r and first by NRP-error, every other model one rank lower: seven models
    move, the five largest movers are named (net_g, then the ties by PLS rank), the other two are not."""
    import matplotlib
    models = MODELS + ['net_g']
    pls = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    nrp = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.1]
    values = site_values(pls, nrp, models=models)
    monkeypatch.setattr(helpers, 'SITE_VALUES', values)
    records = compare.run_compare(models=models, families=[FAMILY], regions=[REGION],
                                  cache_directory=tmp_path / 'cache', progress=False)
    texts = {}
    save = report._save

    def recording_save(fig, path):
        texts[path.name] = [text.get_text() for text in fig.findobj(matplotlib.text.Text)]
        save(fig, path)

    monkeypatch.setattr(report, '_save', recording_save)
    rows, stats, _, _, paths = report.write_report(records, tmp_path / 'out')
    name = f'{FAMILY}_{REGION}_rank_change.png'
    assert (tmp_path / 'out' / name).stat().st_size > 1000 and name in {p.name for p in paths}
    shown = ' '.join(texts[name])
    movers = ['net_g', 'net_a', 'net_b', 'net_c', 'net_d']
    for model in movers:
        assert f'{model} (' in shown and f') {model}' in shown, model
    assert 'net_e' not in shown and 'net_f' not in shown
    assert 'net_g (7)' in shown and '(1) net_g' in shown
    caption = ' '.join(shown.split())
    assert 'Spearman rho = ' in caption and '95% bootstrap CI' in caption and 'corrected resampled t' in caption
    document = json.loads((tmp_path / 'out' / 'table.json').read_text())
    group = group_of(document['ranking'])
    assert group['movers'] == movers and document['ranking']['resamples'] == 1000
    assert [r['rank_change'] for r in group['ranks']] == [-1, -1, -1, -1, -1, -1, 6]
    n = 7
    d = np.array([-1, -1, -1, -1, -1, -1, 6])
    assert correlation(group)['spearman'] == pytest.approx(1 - 6 * np.sum(d ** 2) / (n * (n ** 2 - 1)))
    assert correlation(group)['kendall'] == pytest.approx((15 - 6) / 21)
    assert correlation(group)['bootstrap']['resamples'] == 1000
    stats_md = (tmp_path / 'out' / 'stats.md').read_text()
    assert '## Does the NRP rank models differently from PLS?' in stats_md
    assert f'- {FAMILY} {REGION} (7 models): net_g 7 → 1, net_a 1 → 2' in stats_md
    assert f'| {FAMILY} | {REGION} | net_a | net_g |' in stats_md and '6 of 21 pairs discordant' in stats_md
    assert 'Holm' in stats_md and 'Nadeau & Bengio' in stats_md and 'percentile interval' in stats_md
    # fewer than 3 models: no rank-change plot
    two = [r for r in records if r['model'] in ('net_a', 'net_b')]
    _, _, _, _, paths = report.write_report(two, tmp_path / 'two')
    assert not [p for p in paths if p.name.endswith('_rank_change.png')]
    assert correlation(group_of(json.loads((tmp_path / 'two' / 'table.json').read_text())['ranking']))[
        'note'] == 'fewer than 3 models'
