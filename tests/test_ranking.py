"""Does the NRP rank models differently from PLS? (nrp_plugin.app.ranking.ranking, its tables and plot): fake
models whose orders under PLS r and under the NRP-error are known, scored through the comparison runner with the
fakes of tests/helpers.py, against hand computations with scipy; and panels of held-out predictions with known
orders, whose intervals must hold the estimate, narrow with more data and say which models they leave out."""
import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

import helpers
from helpers import FAMILY
from nrp_plugin.app import compare, contrasts, ranking, report, tables
from nrp_plugin.app.panels import group_panels
from nrp_plugin.inference import HeldOut

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


def analysis(rows, records):
    """The ranking analysis as a report makes it: the records' panels of held-out predictions, then the ranking."""
    return ranking.ranking(rows, group_panels(records, draws=200))


@pytest.fixture
def measured(monkeypatch):
    """Every interval method counts as measured and accepted, so that the tests see the intervals a calibrated
    installation prints (which methods are accepted is the calibration's business, tested in test_inference)."""
    monkeypatch.setattr(contrasts, 'assessment', lambda kind, method: (True, f'{method}: accepted for the test'))


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
    assert json.loads(json.dumps(by_kind[('net_a', 'pls')]))['site_pls_r'] == by_kind[('net_a', 'pls')]['site_pls_r']


def test_identical_orders_give_one_and_no_discordant_pair(fakes, tmp_path, monkeypatch):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SAME_NRP, ridge_shift=[0.05] * 6))
    group = group_of(analysis(rows, records))
    for comparison in ('nrp_vs_pls', 'ridge_vs_pls'):
        entry = correlation(group, comparison)
        assert entry['n_models'] == 6
        assert entry['spearman']['estimate'] == pytest.approx(1.0)
        assert entry['kendall']['estimate'] == pytest.approx(1.0)
    assert group['discordant_pairs'] == [] and group['n_discordant'] == 0 and group['n_pairs'] == 15
    assert [r['pls_rank'] for r in group['ranks']] == [r['nrp_rank'] for r in group['ranks']] == [1, 2, 3, 4, 5, 6]
    assert group['movers'] == []


def test_a_reversed_order_gives_minus_one_and_every_pair_discordant(fakes, tmp_path, monkeypatch, measured):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SAME_NRP[::-1]))
    group = group_of(analysis(rows, records))
    entry = correlation(group)
    assert entry['spearman']['estimate'] == pytest.approx(-1.0) and entry['kendall']['estimate'] == pytest.approx(-1.0)
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
                                                                                          monkeypatch, measured):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SWAPPED_NRP))
    group = group_of(analysis(rows, records))
    entry = correlation(group)
    n, d = 6, np.array([0, 0, 1, -1, 0, 0])  # rank differences: net_c and net_d swap
    assert entry['spearman']['estimate'] == pytest.approx(1 - 6 * np.sum(d ** 2) / (n * (n ** 2 - 1)))  # 0.942857
    assert entry['kendall']['estimate'] == pytest.approx((14 - 1) / 15)  # 14 concordant pairs, 1 discordant
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
    # no held-out predictions in the fakes' records: the corrected resampled t over the splits
    assert pair['pls_method'] == pair['nrp_method'] == 'split_t'
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


def test_an_unmeasured_method_prints_no_interval_and_no_p(fakes, tmp_path, monkeypatch):
    """Without a measured coverage that allows it, the pair's differences have their estimates but no interval and
    no p-value, and the swap is 'not tested'."""
    monkeypatch.setattr(contrasts, 'assessment', lambda kind, method: (False, 'not measured (test)'))
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SWAPPED_NRP))
    (pair,) = group_of(analysis(rows, records))['discordant_pairs']
    assert pair['pls_difference'] > 0 and pair['pls_p'] is None and pair['pls_ci_low'] is None
    assert pair['swaps'] is None


def test_a_swap_within_the_noise_is_listed_but_not_significant(fakes, tmp_path, monkeypatch, measured):
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
    group = group_of(analysis(rows, records))
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
    pairs = {(p['model_a'], p['model_b']): p for p in group_of(analysis(rows, records))['discordant_pairs']}
    assert pairs[('net_e', 'net_f')]['swaps'] is True and pairs[('net_c', 'net_d')]['swaps'] is False


# ----------------------------------------------------------------------------------------------
# panels of held-out predictions with known orders

def panel_world(tmp_path, noise, n_sites=20, n_test=16, n_stimuli=160, splits=K, seed=0, layer_fits=False,
                moved=()):
    """Records and rows of models whose held-out predictions are the targets plus Gaussian noise of a known size
    per model and mapping (``noise[model][mapping]``; a larger noise is a worse model under every measure).

    ``'pls'`` is the ``-pls`` record's PLS (the standard); the others the ``-nrp`` record's mappings (with
    ``layer_fits`` each also as ``<mapping>_on_layer``, the same noise). ``moved``: models whose sites are others.
    """
    from nrp_plugin.inference.scores import score
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.choice(n_stimuli, n_test, replace=False) for _ in range(splits)])
    test_ids = np.char.add('img', ids.astype(str))
    signal = rng.normal(size=(n_stimuli, n_sites))
    targets = signal[ids]
    sites = [f'n{j:02d}' for j in range(n_sites)]
    records, rows = [], []
    for index, (model, levels) in enumerate(noise.items()):
        own = np.random.default_rng([seed, index])
        predictions = {name: targets + level * own.normal(size=targets.shape) for name, level in levels.items()}
        if layer_fits:
            predictions.update({f'{name}_on_layer': targets + level * own.normal(size=targets.shape)
                                for name, level in levels.items() if name != 'pls'})
        row = {'family': FAMILY, 'region': REGION, 'model': model, 'train_size': 0.9}
        for kind, names in (('pls', ['pls']), ('nrp', [n for n in predictions if n != 'pls'])):
            held = HeldOut(test_ids, [f'm{j:02d}' for j in range(n_sites)] if model in moved else sites, targets,
                           {name: predictions[name] for name in names}, n_stimuli, 0.9)
            path = tmp_path / f'{model}-{kind}.npz'
            held.save(path)
            records.append({'family': FAMILY, 'region': REGION, 'model': model, 'kind': kind,
                            'heldout_path': str(path)})
        row['pls_raw_r'] = score(predictions['pls'], targets, 'r')
        row['split_pls_r'] = list(score(predictions['pls'], targets, 'r', per_split=True))
        row['nrp_error'] = score(predictions['nrp'], targets, 'mae')
        row['split_nrp_mae'] = list(score(predictions['nrp'], targets, 'mae', per_split=True))
        row['ridge_mae'] = score(predictions['ridge'], targets, 'mae')
        rows.append(row)
    return records, rows


def _levels(pls, nrp, ridge=None):
    return {f'net_{chr(97 + i)}': {'pls': p, 'nrp': n, 'ridge': (ridge or nrp)[i]}
            for i, (p, n) in enumerate(zip(pls, nrp))}


def test_panel_intervals_hold_the_estimate_and_are_one_point_where_no_resample_can_reorder(tmp_path, measured):
    """Noise levels far apart (Pearson r 0.995 to 0.16) at 40 sites and 64 test images: every draw keeps the order,
    so rho's interval is [1, 1]; the interval's method is the factor bootstrap, which reads the held-out
    predictions."""
    levels = [0.1, 0.5, 1.5, 3.0, 6.0]
    records, rows = panel_world(tmp_path, _levels(levels, levels), n_sites=40, n_test=64, n_stimuli=640)
    group = group_of(analysis(rows, records))
    for comparison in ('nrp_vs_pls', 'ridge_vs_pls'):
        found = correlation(group, comparison)['spearman']
        assert (found['estimate'], found['low'], found['high']) == (pytest.approx(1), pytest.approx(1),
                                                                    pytest.approx(1))
        assert found['method'] == 'factor'
    difference = group['difference']['spearman']
    assert difference['estimate'] == pytest.approx(0) and difference['low'] == pytest.approx(0)


def test_panel_intervals_narrow_with_more_sites_and_images(tmp_path, measured):
    """Close models (noise 0.02 apart): the rank correlation's interval holds its estimate, and is at least twice as
    narrow with 16x the sites and 4x the test images."""
    pls = [1.0, 1.02, 1.04, 1.06, 1.08, 1.10]
    nrp = [1.0, 1.04, 1.02, 1.06, 1.10, 1.08]
    widths = {}
    for name, sites, n_test in (('small', 8, 8), ('large', 128, 32)):
        records, rows = panel_world(tmp_path / name, _levels(pls, nrp), n_sites=sites, n_test=n_test,
                                    n_stimuli=10 * n_test)
        found = correlation(group_of(analysis(rows, records)))['spearman']
        assert found['low'] <= found['estimate'] <= found['high'], (name, found)
        widths[name] = found['high'] - found['low']
    assert widths['large'] < 0.5 * widths['small'], widths
    assert widths['small'] > 0.3, widths


def test_a_model_on_other_sites_is_left_out_and_named(tmp_path, measured):
    levels = [0.2, 0.8, 1.4, 2.0]
    records, rows = panel_world(tmp_path, _levels(levels, levels), moved=('net_c',))
    group = group_of(analysis(rows, records))
    assert 'net_c' in group['missing'] and 'other splits, test images or sites' in group['missing']['net_c']
    entry = correlation(group)
    assert entry['n_models'] == 3 and 'net_c' not in entry['models']


def test_factorial_cells_and_switches_on_known_orders(tmp_path, measured, monkeypatch):
    """Every mapping on both inputs in the same order as PLS except the NRP on the window, which reverses it: the
    NRP-on-window cells correlate -1 with the standard, every other cell +1, and switching the inputs of the
    NRP's cell to the layer changes rho by -2."""
    from nrp_plugin import mappings
    monkeypatch.setattr(mappings, 'names', lambda: ['pls', 'ridge', 'nrp'])
    good = [0.2, 0.8, 1.4, 2.0]
    noise = {f'net_{chr(97 + i)}': {'pls': g, 'ridge': g, 'nrp': good[::-1][i]} for i, g in enumerate(good)}
    records, rows = panel_world(tmp_path, noise, layer_fits=True)
    # the NRP on the layer in PLS's order: overwrite its fits with the good order
    for record in records:
        if record['kind'] == 'nrp':
            held = HeldOut.load(record['heldout_path'])
            held.predictions['nrp_on_layer'] = held.predictions['ridge_on_layer']
            held.predictions['pls'] = held.predictions['ridge']
            held.predictions['pls_on_layer'] = held.predictions['ridge_on_layer']
            held.save(record['heldout_path'])
    group = group_of(analysis(rows, records))
    found = group['factorial']
    cells = {(c['mapping'], c['measure'], c['inputs']): c for c in found['cells']}
    assert len(cells) == 3 * 2 * 2
    for key, cell in cells.items():
        expected = -1 if key[0] == 'nrp' and key[2] == 'window' else 1
        assert cell['spearman']['estimate'] == pytest.approx(expected), key
    switch = next(s for s in found['switches'] if s['cell'] == cells[('nrp', 'mae', 'window')]['name']
                  and s['factor'] == 'inputs')
    assert switch['spearman']['estimate'] == pytest.approx(-2)
    assert switch['spearman']['high'] < 0  # the inputs move this ranking, beyond the interval
    result = analysis(rows, records)
    rendered = '\n'.join(tables.ranking_markdown(result))
    assert 'Which factor moves the ranking' in rendered and 'inputs: window → layer' in rendered
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from nrp_plugin.app import plots
    figure = plots.factorial_figure(group_of(result))
    axis = figure.axes[0]
    # one marker per cell at its rho: the NRP's window cells at -1, the other ten at +1
    estimates = sorted(x for line in axis.get_lines() if line.get_marker() not in ('None', None, '')
                       for x in line.get_xdata() if len(line.get_xdata()) == 1)
    assert estimates == pytest.approx([-1, -1] + [1] * 10)
    assert [label.get_text() for label in axis.get_yticklabels()] == [mappings.title(n) for n in ('pls', 'ridge', 'nrp')]
    plt.close(figure)
    # the report's figures include it where the ranking has factorial cells, and not without them
    for row in rows:
        row.setdefault('pls_score', None)
    for ranked, expected in ((result, True), (ranking.ranking(rows), False)):
        drawn = dict(plots.figures(rows, ranked))
        assert (f'{FAMILY}_{REGION}_factorial.png' in drawn) is expected
        for figure in drawn.values():
            plt.close(figure)


def test_records_without_held_out_predictions_get_the_estimates_without_an_interval(fakes, tmp_path, monkeypatch,
                                                                                      measured):
    records, rows = run(monkeypatch, tmp_path, site_values(SAME_PLS, SWAPPED_NRP, ridge_shift=[0.05] * 6))
    group = group_of(analysis(rows, records))
    for comparison in ('nrp_vs_pls', 'ridge_vs_pls'):
        entry = correlation(group, comparison)
        assert entry['spearman']['estimate'] == pytest.approx(1 - 6 * 2 / (6 * 35))
        assert entry['spearman']['low'] is None and 'no held-out predictions' in entry['spearman']['note']
    assert set(group['missing']) == set(MODELS)
    rendered = tables.stats_markdown(contrasts.statistics(rows), analysis(rows, records))
    assert '| FakeFamily | IT | NRP-error vs PLS r | 6 | 0.943 (no interval: no held-out predictions' in rendered


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
    assert 'Spearman rho = ' in caption and 'no interval' in caption and 'corrected resampled t' in caption
    document = json.loads((tmp_path / 'out' / 'table.json').read_text())
    group = group_of(document['ranking'])
    assert group['movers'] == movers
    assert [r['rank_change'] for r in group['ranks']] == [-1, -1, -1, -1, -1, -1, 6]
    n = 7
    d = np.array([-1, -1, -1, -1, -1, -1, 6])
    assert correlation(group)['spearman']['estimate'] == pytest.approx(1 - 6 * np.sum(d ** 2) / (n * (n ** 2 - 1)))
    assert correlation(group)['kendall']['estimate'] == pytest.approx((15 - 6) / 21)
    stats_md = (tmp_path / 'out' / 'stats.md').read_text()
    assert '## Does the NRP rank models differently from PLS?' in stats_md
    assert f'- {FAMILY} {REGION} (7 models): net_g 7 → 1, net_a 1 → 2' in stats_md
    assert f'| {FAMILY} | {REGION} | net_a | net_g |' in stats_md and '6 of 21 pairs discordant' in stats_md
    assert 'Holm' in stats_md and 'Nadeau & Bengio' in stats_md
    # fewer than 3 models: no rank-change plot
    two = [r for r in records if r['model'] in ('net_a', 'net_b')]
    _, _, _, _, paths = report.write_report(two, tmp_path / 'two')
    assert not [p for p in paths if p.name.endswith('_rank_change.png')]
    assert correlation(group_of(json.loads((tmp_path / 'two' / 'table.json').read_text())['ranking']))[
        'spearman']['note'] == 'fewer than 3 models'
