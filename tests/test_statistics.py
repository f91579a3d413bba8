"""The statistics of the comparison tables (nrp_plugin.app.report): valid under a known null."""
import math

import numpy as np
import pytest

from nrp_plugin.app import report


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
            rejected[corrected] += report.resampled_t(differences, ratio, alpha, corrected=corrected)['p'] < alpha
    corrected_rate, naive_rate = rejected[True] / repetitions, rejected[False] / repetitions
    assert 0.02 <= corrected_rate <= 0.10, corrected_rate
    assert naive_rate > 0.12 and naive_rate > 2 * corrected_rate, (naive_rate, corrected_rate)


def test_corrected_t_formula():
    d = np.array([0.1, -0.05, 0.2, 0.0, 0.15])
    out = report.resampled_t(d, 0.25)
    se = math.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    assert out['se'] == pytest.approx(se) and out['t'] == pytest.approx(d.mean() / se) and out['df'] == 4
    from scipy.stats import t
    assert out['p'] == pytest.approx(2 * t.sf(d.mean() / se, 4))
    assert out['ci_high'] - out['ci_low'] == pytest.approx(2 * t.ppf(0.975, 4) * se)
    naive = report.resampled_t(d, 0.25, corrected=False)
    assert naive['se'] == pytest.approx(d.std(ddof=1) / math.sqrt(5)) and naive['se'] < out['se']
    assert report.resampled_t([0.1], 0.25)['p'] is None  # one split: no test
    assert report.paired_difference([1, 2], [1, 2, 3]) is None  # not on the same splits


def test_spearman_inference_says_what_few_models_can_say():
    perfect = report.spearman_inference([1, 2, 3, 4], [10, 20, 30, 40])
    assert perfect['rho'] == pytest.approx(1.0)
    assert perfect['p_permutation'] == pytest.approx(2 / 24)  # the smallest two-sided p with 4 models
    assert perfect['ci_low'] is None  # |rho| = 1: no Fisher interval
    four = report.spearman_inference([1, 2, 3, 4], [10, 30, 20, 40])
    z, se = math.atanh(0.8), math.sqrt((1 + 0.8 ** 2 / 2) / 1)
    assert four['rho'] == pytest.approx(0.8)
    assert four['ci_low'] == pytest.approx(math.tanh(z - 1.959964 * se), abs=1e-5) and four['ci_low'] < -0.5
    assert report.spearman_inference([1, 2], [2, 1])['rho'] is None
    # measurement error: well separated scores keep their ranks, overlapping ones do not
    x, y = [0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]
    stable = report.spearman_inference(x, y, [0.001] * 5, [0.001] * 5)['measurement_ci']
    shaky = report.spearman_inference(x, y, [0.3] * 5, [0.3] * 5)['measurement_ci']
    assert stable == [1.0, 1.0] and shaky[0] < 0
    assert report.spearman_inference(x, y, [0.3] * 5, [0.3] * 5)['measurement_ci'] == shaky  # seeded
