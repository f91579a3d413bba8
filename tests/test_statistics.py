"""The statistics of the comparison tables (nrp_plugin.app.statistics): formulas against hand computations, and
validity under a known null and a known target."""
import math
import subprocess
import sys

import numpy as np
import pytest

from nrp_plugin.app import contrasts
from nrp_plugin.inference import splits as intervals


def _ridge_mae(X_train, y_train, X_test, y_test, penalty=1.0):
    coef = np.linalg.solve(X_train.T @ X_train + penalty * np.eye(X_train.shape[1]),
                           X_train.T @ (y_train - y_train.mean()))
    return np.abs(X_test @ coef + y_train.mean() - y_test).mean()


def null_split_differences(seed, n=100, p=40, splits=10, test_fraction=0.1):
    """Per-split MAE difference of two mappings equal in expectation, over overlapping random splits.

    One finite sample of ``n`` points is drawn; y depends on the first and on the second half of the
    features through the same weights, so ridge on the first half and ridge on the second half have
    exactly the same expected error over samples. On one sample either may win, and the ``splits``
    90/10 splits of that sample share most of their training points.
    """
    rng = np.random.default_rng(seed)
    half = p // 2
    weights = np.linspace(0.2, 1.0, half)
    X = rng.standard_normal((n, p))
    y = X[:, :half] @ weights + X[:, half:] @ weights + rng.standard_normal(n)
    n_test = int(round(test_fraction * n))
    differences = []
    for _ in range(splits):
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
        a = _ridge_mae(X[train][:, :half], y[train], X[test][:, :half], y[test])
        b = _ridge_mae(X[train][:, half:], y[train], X[test][:, half:], y[test])
        differences.append(a - b)
    return np.array(differences), n_test / (n - n_test)


def test_corrected_t_holds_its_level_under_a_known_null_where_the_naive_t_does_not():
    repetitions, alpha = 400, 0.05
    rejected = {True: 0, False: 0}
    for seed in range(repetitions):
        differences, ratio = null_split_differences(seed)
        for corrected in (True, False):
            rejected[corrected] += intervals.resampled_t(differences, ratio, alpha, corrected=corrected)['p'] < alpha
    corrected_rate, naive_rate = rejected[True] / repetitions, rejected[False] / repetitions
    assert 0.02 <= corrected_rate <= 0.10, corrected_rate
    assert naive_rate > 0.12 and naive_rate > 2 * corrected_rate, (naive_rate, corrected_rate)


def test_corrected_t_formula():
    d = np.array([0.1, -0.05, 0.2, 0.0, 0.15])
    out = intervals.resampled_t(d, 0.25)
    se = math.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    assert out['se'] == pytest.approx(se) and out['t'] == pytest.approx(d.mean() / se) and out['df'] == 4
    from scipy.stats import t
    assert out['p'] == pytest.approx(2 * t.sf(d.mean() / se, 4))
    assert out['ci_high'] - out['ci_low'] == pytest.approx(2 * t.ppf(0.975, 4) * se)
    naive = intervals.resampled_t(d, 0.25, corrected=False)
    assert naive['se'] == pytest.approx(d.std(ddof=1) / math.sqrt(5)) and naive['se'] < out['se']
    assert intervals.resampled_t([0.1], 0.25)['p'] is None  # one split: no test
    assert intervals.paired_difference([1, 2], [1, 2, 3]) is None  # not on the same splits


def test_single_score_interval_equals_the_corrected_t_interval_computed_by_hand():
    from scipy.stats import t
    values = [0.150, 0.146, 0.152, 0.149, 0.155]  # five splits of a mapping's test MAE, 80/20 splits
    k, ratio = len(values), 0.2 / 0.8
    mean = sum(values) / k
    variance = sum((v - mean) ** 2 for v in values) / (k - 1)
    half = t.ppf(0.975, k - 1) * math.sqrt((1 / k + ratio) * variance)
    out = intervals.split_interval(values, train_size=0.8)
    assert out['mean'] == pytest.approx(mean) and out['df'] == k - 1 and out['n_splits'] == k
    assert out['half_width'] == pytest.approx(half)
    assert (out['ci_low'], out['ci_high']) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert intervals.split_half_width(values, 0.8) == pytest.approx(half)
    # 90/10 splits by default (Brain-Score's), at another level
    half90 = t.ppf(0.95, k - 1) * math.sqrt((1 / k + 1 / 9) * variance)
    assert intervals.split_interval(values, alpha=0.1)['half_width'] == pytest.approx(half90)


def test_identical_splits_give_a_zero_width_interval_and_too_few_splits_none():
    out = intervals.split_interval([0.1234] * 10, train_size=0.9)
    assert out['mean'] == pytest.approx(0.1234) and out['half_width'] == pytest.approx(0, abs=1e-12)
    assert out['ci_low'] == pytest.approx(0.1234) and out['ci_high'] == pytest.approx(0.1234)
    assert intervals.split_interval([0.1], 0.9)['half_width'] is None  # one split: no interval
    assert intervals.split_interval([], 0.9) is None and intervals.split_half_width(None) is None
    assert intervals.split_half_width([0.1, float('nan'), 0.2]) is None  # never a number from a broken split


def test_corrected_interval_is_wider_than_the_naive_one_by_the_analytic_factor():
    """95% half-widths: corrected t_{k-1} sqrt((1/k + n2/n1) s^2) against naive 1.96 s / sqrt(k)."""
    from scipy.stats import norm
    values = np.random.default_rng(3).normal(0.15, 0.002, size=10)
    k, s = values.size, values.std(ddof=1)
    naive_half = norm.ppf(0.975) * s / math.sqrt(k)
    corrected = intervals.split_interval(values, train_size=0.9)['half_width']
    # the factor for Brain-Score's 10 splits at 90/10: sqrt(1 + 10/9) * 2.262157 / 1.959964 = 1.6770
    factor = math.sqrt((1 / k + 1 / 9) / (1 / k)) * 2.2621571627982053 / 1.959963984540054
    assert corrected / naive_half == pytest.approx(factor, rel=1e-9)
    assert factor == pytest.approx(1.6770, abs=1e-4)
    # against the naive SEM the benchmarks report (ddof 0, as Brain-Score's): 3.46 times
    assert corrected / (values.std() / math.sqrt(k)) == pytest.approx(
        2.2621571627982053 * math.sqrt(1 + 10 / 9) * math.sqrt(k / (k - 1)), rel=1e-9)


def test_single_score_interval_covers_the_expected_test_error_where_the_naive_one_does_not():
    """Coverage of a known target: ridge's expected test MAE when trained on 90 points, estimated on
    independent samples (400 training sets, 2,000 test points each), against the 95% interval from 10
    overlapping 90/10 splits of one sample of 100 points, over 300 seeded samples."""
    p = 20
    weights = np.linspace(0.2, 1.0, p)

    def sample(rng, n):
        X = rng.standard_normal((n, p))
        return X, X @ weights + rng.standard_normal(n)

    rng = np.random.default_rng(12345)
    target = np.mean([_ridge_mae(*sample(rng, 90), *sample(rng, 2000)) for _ in range(400)])
    covered = {'corrected': 0, 'naive': 0}
    repetitions = 300
    for seed in range(repetitions):
        rng = np.random.default_rng(seed)
        X, y = sample(rng, 100)
        values = []
        for _ in range(10):
            order = rng.permutation(100)
            test, train = order[:10], order[10:]
            values.append(_ridge_mae(X[train], y[train], X[test], y[test]))
        interval = intervals.split_interval(values, train_size=0.9)
        covered['corrected'] += interval['ci_low'] <= target <= interval['ci_high']
        naive = 1.959964 * np.std(values, ddof=1) / math.sqrt(10)
        covered['naive'] += abs(np.mean(values) - target) <= naive
    corrected, naive = covered['corrected'] / repetitions, covered['naive'] / repetitions
    assert 0.88 <= corrected <= 0.99, corrected  # nominal 0.95 (about 0.92 here)
    assert naive < corrected - 0.1, (naive, corrected)  # the naive interval (about 0.73 here) undercovers


def test_statistics_and_tables_need_no_plotting():
    """The statistics and the tables are numpy and scipy only: they import and compute without matplotlib."""
    code = ("import sys\n"
            "sys.modules['matplotlib'] = None  # any import of it now fails\n"
            "from nrp_plugin.app import contrasts, ranking, tables\n"
            "from nrp_plugin.inference import splits as intervals\n"
            "assert intervals.split_interval([0.1, 0.2, 0.4], train_size=0.9)['half_width'] > 0\n"
            "assert tables.csv_text([]).startswith('family,model,region')\n")
    subprocess.run([sys.executable, '-c', code], check=True)


def test_holm_matches_a_hand_computation():
    """Sorted p-values times (m - rank), a running maximum, capped at 1, returned in the input order."""
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running maximum 0.06
    assert intervals.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert intervals.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5 x 2 capped at 1, then the maximum
    assert intervals.holm([0.02]) == pytest.approx([0.02])  # one test: unchanged
    # a test without a p-value is left out of m and stays None
    assert intervals.holm([0.01, None, 0.04, float('nan')]) == [pytest.approx(0.02), None, pytest.approx(0.04),
                                                                 None]
    # ties: both get the larger multiple
    assert intervals.holm([0.01, 0.01, 0.2]) == pytest.approx([0.03, 0.03, 0.2])
    assert intervals.holm([]) == []
    entries = [{'g': 'a', 'p': 0.01}, {'g': 'b', 'p': 0.3}, {'g': 'a', 'p': 0.02}, {'g': 'b', 'p': None}]
    intervals.holm_within(entries, lambda entry: entry['g'])
    assert [e['p_holm'] for e in entries] == [pytest.approx(0.02), pytest.approx(0.3), pytest.approx(0.02), None]


def test_best_linear_is_the_lowest_mean_over_splits_among_the_linear_mappings():
    nrp = [0.5, 0.5, 0.5]
    # least squares wins the first split, banded ridge on average; kernel ridge is lower but is not linear
    splits = {'nrp': nrp, 'least_squares': [0.60, 0.70, 0.70], 'banded_ridge': [0.65, 0.62, 0.62],
              'kernel_ridge': [0.1, 0.1, 0.1], 'ridge': [], 'pls': None}
    assert contrasts.best_linear(splits) == 'banded_ridge'
    assert contrasts.best_linear(dict(splits, pls=[0.6, 0.6, 0.6])) == 'pls'  # 0.6 < 0.63
    assert contrasts.best_linear(dict(splits, ridge=[0.65, 0.62, 0.62])) == 'ridge'  # a tie: the first listed
    assert contrasts.best_linear(dict(splits, banded_ridge=[0.6, 0.6])) == 'least_squares'  # not on the NRP's splits
    assert contrasts.best_linear(dict(splits, banded_ridge=[0.6, float('nan'), 0.6])) == 'least_squares'
    assert contrasts.best_linear(dict(splits, nrp=[])) is None
    assert contrasts.best_linear({'nrp': nrp, 'kernel_ridge': [0.1, 0.1, 0.1]}) is None
