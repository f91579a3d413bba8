"""nrp_plugin.inference: scores recomputed from held-out predictions under resamples, against direct computations
(numpy, scipy) on expanded data, and the interval kinds' building blocks on cases with a known answer."""
import numpy as np
import pytest
from scipy import stats

from nrp_plugin.inference import HeldOut, Item, Panel, Quantity, combine_splits, draws_of, interval, rank_correlation
from nrp_plugin.inference.scores import score, weighted_median


def _heldout(seed=0, splits=4, n_test=12, sites=7, n_stimuli=60, mappings=('a', 'b')):
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.choice(n_stimuli, n_test, replace=False) for _ in range(splits)])
    targets = rng.normal(size=(splits, n_test, sites))
    predictions = {name: targets * rng.uniform(0.2, 0.9) + rng.normal(size=targets.shape) for name in mappings}
    return HeldOut(np.char.add('s', ids.astype(str)), [f'n{j}' for j in range(sites)], targets, predictions,
                   n_stimuli, 0.9)


def test_scores_are_the_benchmarks_figures():
    """MAE: mean over sites then splits of the mean absolute error; r: per split the median over sites of scipy's
    pearsonr over the test rows, then the mean over splits."""
    held = _heldout()
    p, t = held.predictions['a'], held.targets
    assert score(p, t, 'mae') == pytest.approx(np.abs(p - t).mean(axis=1).mean())
    r = [[stats.pearsonr(p[s, :, j], t[s, :, j])[0] for j in range(t.shape[2])] for s in range(t.shape[0])]
    assert score(p, t, 'r') == pytest.approx(np.mean(np.median(r, axis=1)))


def test_a_resample_equals_the_score_of_the_expanded_data():
    """Integer weights on images and sites give the score of the data with each row and site repeated as often."""
    held = _heldout(seed=1)
    p, t = held.predictions['a'], held.targets
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 3, size=(1,) + p.shape[:2])
    rows[:, :, 0] = np.maximum(rows[:, :, 0], 1)  # every split keeps a row
    sites = rng.integers(0, 3, size=(1, p.shape[2]))
    sites[0, 0] = max(sites[0, 0], 1)
    for measure in ('mae', 'r'):
        expected = []
        for s in range(p.shape[0]):
            take = np.repeat(np.arange(p.shape[1]), rows[0, s])
            ps, ts = p[s][take], t[s][take]
            columns = np.repeat(np.arange(p.shape[2]), sites[0])
            if measure == 'mae':
                expected.append(np.abs(ps - ts).mean(axis=0)[columns].mean())
            else:
                r = np.array([stats.pearsonr(ps[:, j], ts[:, j])[0] for j in range(p.shape[2])])
                expected.append(np.median(r[columns]))
        images = score(p, t, measure, image_weights=rows)
        both = score(p, t, measure, image_weights=rows, site_counts=sites[0])
        assert both[0] == pytest.approx(np.mean(expected))
        assert images[0] == pytest.approx(score(np.repeat(p, 1, axis=0), t, measure, image_weights=rows)[0])


def test_weighted_median_is_the_median_of_the_multiset():
    rng = np.random.default_rng(2)
    for _ in range(50):
        values = rng.normal(size=9)
        values[rng.integers(0, 9)] = np.nan
        counts = rng.integers(0, 4, size=9)
        expanded = np.repeat(values, counts)
        expected = np.nanmedian(expanded) if np.isfinite(expanded).any() else np.nan
        assert weighted_median(values, counts) == pytest.approx(expected, nan_ok=True)


def test_rank_correlations_are_scipys():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
    for row in range(20):
        assert rank_correlation(x[row], y[row]) == pytest.approx(stats.spearmanr(x[row], y[row])[0])
        assert rank_correlation(x[row], y[row], 'kendall') == pytest.approx(stats.kendalltau(x[row], y[row])[0])
    assert np.isnan(rank_correlation(np.ones(5), np.arange(5)))


def test_held_out_sets_round_trip_and_combine(tmp_path):
    held, other = _heldout(seed=5), _heldout(seed=5)
    other.predictions = {name: values + 1 for name, values in other.predictions.items()}
    held.save(tmp_path / 'h.npz')
    back = HeldOut.load(tmp_path / 'h.npz')
    assert back.same_design(held) and np.allclose(back.predictions['a'], held.predictions['a'], atol=1e-6)
    both = combine_splits({'x': held, 'y': other}, ['x', 'y', 'y', 'x'])
    assert np.array_equal(both.predictions['a'][1], other.predictions['a'][1])
    assert np.array_equal(both.predictions['a'][3], held.predictions['a'][3])
    reordered = held.in_site_order(held.neuroid_ids[::-1])
    assert score(reordered.predictions['a'], reordered.targets, 'mae') == pytest.approx(
        score(held.predictions['a'], held.targets, 'mae'))


def _additive(seed, sites=40, stimuli=200, splits=10, n_test=20, site_sd=0.3, image_sd=0.2, noise=0.05):
    """Absolute errors ``|a_j + b_i + e|`` (site effect, image effect, small noise) on random splits."""
    rng = np.random.default_rng(seed)
    a, b = 2 + site_sd * rng.normal(size=sites), image_sd * rng.normal(size=stimuli)
    ids = np.stack([rng.choice(stimuli, n_test, replace=False) for _ in range(splits)])
    errors = a[None, None] + b[ids][..., None] + noise * rng.normal(size=(splits, n_test, sites))
    targets = np.zeros_like(errors)
    return HeldOut(np.char.add('s', ids.astype(str)), [f'n{j}' for j in range(sites)], targets, {'m': errors},
                   stimuli, 0.9), a, b


def test_site_and_image_draws_measure_each_factors_sampling_variance():
    """On additive errors the sites' draws vary the MAE by the site effect's variance / n_sites and the images'
    draws by about the image effect's variance over the distinct test images, each alone."""
    held, a, b = _additive(0)
    panel = Panel({Item('x', 'm', 'mae'): held})
    item = Item('x', 'm', 'mae')
    site = panel.site_draws(np.random.default_rng(0), 4000)[item]
    assert site.var() == pytest.approx(a.var() / len(a), rel=0.1)
    images = panel.image_draws(np.random.default_rng(1), 4000)[item]
    stimuli = np.char.lstrip(held.test_ids, 's').astype(int)  # each test row's stimulus
    share = np.bincount(stimuli.ravel(), minlength=len(b)) / stimuli.size  # each image's weight in the score
    # a resample multiplies each image's count by about Poisson(1): the variance of the weighted mean of b
    expected = np.sum(share ** 2 * (b - np.sum(share * b)) ** 2)
    assert images.var() == pytest.approx(expected, rel=0.25)


def test_intervals_of_a_difference_and_of_a_rank_correlation():
    """The factor interval of a difference holds its estimate, and is the same for the difference and the negated
    reversed difference; a rank correlation of identical orders is 1 with every draw at most 1."""
    held = _heldout(seed=6, splits=10, n_test=20, sites=30, n_stimuli=200)
    items = {Item('x', name, 'mae'): held for name in ('a', 'b')}
    draws = draws_of(Panel(items), 300, random_state=0)
    a, b = Item('x', 'a', 'mae'), Item('x', 'b', 'mae')
    forward = interval(Quantity('difference', (a, b)), draws)
    backward = interval(Quantity('difference', (b, a)), draws)
    assert forward['low'] <= forward['estimate'] <= forward['high']
    assert forward['low'] == pytest.approx(-backward['high']) and forward['se'] == pytest.approx(backward['se'])
    split = interval(Quantity('difference', (a, b)), draws, 'split_t')
    per_split = draws.per_split[a] - draws.per_split[b]
    se = np.sqrt((1 / 10 + 1 / 9) * per_split.var(ddof=1))
    assert split['high'] - split['estimate'] == pytest.approx(stats.t.ppf(0.975, 9) * se)
    assert interval(Quantity('rank', ((a,), (b,))), draws, 'split_t')['low'] is None  # not linear: no t
