"""Invariances every metric of this package must have, checked on seeded random data.

- the NRP-error is in the targets' units: scaling the target by c scales it (and its linear baseline) by c;
- ``pls_torch`` depends on the features only through their inner products: an orthogonal rotation of
  the feature space leaves every score unchanged;
- least squares with an intercept cannot tell a narrow source from any invertible linear image of it.
"""
import numpy as np
import pytest
from scipy.stats import ortho_group

from helpers import assembly, world
from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric, NRPErrorMetric
from nrp_plugin.brainscore.pls_metric import PLSTorchMetric

CV = dict(splits=3)
SHORT = dict(max_epochs=25, patience=5)


def _scaled(target, factor):
    scaled = target.copy()
    scaled.values = target.values * factor
    return scaled


def _transformed(source, matrix):
    return assembly(source.values @ matrix, 'feature', stimulus_ids=source['stimulus_id'].values)


@pytest.mark.parametrize('factor', [0.01, 7.0])
def test_scaling_the_target_scales_the_nrp_error(factor):
    source, target = world('nonlinear', n_features=16, n_targets=6, seed=3)
    metric = NRPErrorMetric(config=SHORT, crossvalidation_kwargs=CV, device='cpu')
    base, scaled = metric(source, target), metric(source, _scaled(target, factor))
    assert float(scaled) == pytest.approx(factor * float(base), rel=1e-5)
    assert scaled.attrs['least_squares_mae'] == pytest.approx(factor * base.attrs['least_squares_mae'], rel=1e-8)
    assert scaled.attrs['mean_predictor_mae'] == pytest.approx(factor * base.attrs['mean_predictor_mae'], rel=1e-10)
    # correlations are scale-free
    assert scaled.attrs['pearson'] == pytest.approx(base.attrs['pearson'], abs=1e-5)


def test_pls_torch_is_invariant_to_an_orthogonal_rotation_of_the_features():
    source, target = world('linear', n_features=40, n_targets=6, noise=1.0, seed=5)
    rotation = ortho_group.rvs(40, random_state=np.random.default_rng(0))
    metric = PLSTorchMetric(n_components=10, crossvalidation_kwargs=CV, device='cpu')
    base, rotated = metric(source, target), metric(_transformed(source, rotation), target)
    np.testing.assert_allclose(rotated.attrs['raw'].values, base.attrs['raw'].values, atol=1e-8)
    # a non-orthogonal map is a real change: the check above can fail
    stretch = np.diag(np.geomspace(0.05, 20, 40))
    stretched = metric(_transformed(source, stretch), target)
    assert np.abs(stretched.attrs['raw'].values - base.attrs['raw'].values).max() > 1e-3


def test_linear_baseline_is_invariant_to_an_invertible_map_of_a_narrow_source():
    source, target = world('linear', n_features=12, n_targets=5, noise=0.5, seed=9)
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(12, 12)) + 3 * np.eye(12)
    assert np.linalg.cond(matrix) < 1e3
    metric = LeastSquaresErrorMetric(crossvalidation_kwargs=CV, device='cpu')
    base, mapped = metric(source, target), metric(_transformed(source, matrix), target)
    # equal up to the vanishing ridge (1e-8 of the mean diagonal) that keeps the normal equations solvable
    np.testing.assert_allclose(mapped.attrs['raw'].values, base.attrs['raw'].values, rtol=1e-5)
    # dropping a column is not invertible and does change the fit
    dropped = metric(_transformed(source, matrix[:, :6]), target)
    assert float(dropped) > float(base) * 1.05
