"""NRPRegressor as a scikit-learn estimator, and the reduction behind it."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import check_estimator

from nrp_plugin.core.kernels import gram_matrix
from nrp_plugin.core.reduction import GroupReduction, kernel_pca_split
from nrp_plugin.core.regressor import NRPRegressor

# every scikit-learn estimator check runs; none is skipped
@pytest.mark.parametrize('estimator, check', check_estimator(
    NRPRegressor(max_epochs=30, patience=5, device='cpu'), generate_only=True),
    ids=lambda value: getattr(getattr(value, 'func', value), '__name__', ''))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_learns_a_nonlinear_function_better_than_linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    y = np.abs(X[:, 0]) + np.maximum(X[:, 1], 0) + 0.05 * rng.normal(size=600)
    model = NRPRegressor(device='cpu').fit(X[:500], y[:500])
    from sklearn.linear_model import LinearRegression
    linear = LinearRegression().fit(X[:500], y[:500])
    assert model.score(X[500:], y[500:]) > 0.9 > linear.score(X[500:], y[500:])


def test_group_reduction_matches_sklearn_pca_and_kernel_form():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 200)) @ rng.normal(size=(200, 200))
    reduction = GroupReduction(max_components=10).fit(X[:60])
    ours = reduction.transform(X[60:]).numpy()
    pca = PCA(n_components=10).fit(X[:60])
    theirs = pca.transform(X[60:]) / np.sqrt(pca.explained_variance_ * 59 / 60)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours, theirs * signs, rtol=1e-6, atol=1e-6)
    gram = gram_matrix(X, device='cpu')
    train, test = kernel_pca_split(gram, torch.arange(60), torch.arange(60, 80), 10)
    std = train.std(dim=0, unbiased=False)
    np.testing.assert_allclose((test / std).numpy(), ours, rtol=1e-6, atol=1e-6)


def test_groups_must_cover_columns():
    with pytest.raises(ValueError, match='groups has 3 labels for 4 feature columns'):
        NRPRegressor(groups=['a', 'a', 'b'], device='cpu').fit(np.ones((10, 4)) + np.arange(40).reshape(10, 4), np.arange(10.))


def test_locally_dense_blocks_see_only_their_group():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    model = NRPRegressor(groups=['a'] * 4 + ['b'] * 2, l1_size=3, max_epochs=5, device='cpu').fit(X, X[:, 0])
    w1 = model.params_['w1'][0].numpy()
    assert np.all(w1[:4, 3:] == 0) and np.all(w1[4:, :3] == 0)
    assert np.any(w1[:4, :3] != 0) and np.any(w1[4:, 3:] != 0)
