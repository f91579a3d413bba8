"""NRPRegressor as a scikit-learn estimator, and the reduction behind it."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import check_estimator

from nrp_plugin.core import network
from nrp_plugin.core.reduction import GroupReduction, prepare_splits
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
    # whitened, fixed count: scikit-learn's PCA(whiten=True) up to the variance's ddof and signs
    reduction = GroupReduction(max_components=10, n_components='fixed', scaling='whiten').fit(X[:60])
    ours = reduction.transform(X[60:]).numpy()
    pca = PCA(n_components=10).fit(X[:60])
    theirs = pca.transform(X[60:]) / np.sqrt(pca.explained_variance_ * 59 / 60)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours, theirs * signs, rtol=1e-6, atol=1e-6)
    # the batched kernel path of the metrics equals the estimator's SVD path, rule for rule
    y = X[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(80, 4))
    for rule, scaling in (('fixed', 'whiten'), ('noise+loo', 'common'), ('noise', 'common')):
        estimator = GroupReduction(max_components=10, n_components=rule, scaling=scaling).fit(X[:60], y[:60])
        train, test, sizes, kept = prepare_splits(X, None, [(np.arange(60), np.arange(60, 80))], max_components=10,
                                                  train_targets=torch.as_tensor(y[:60])[None], n_components=rule,
                                                  scaling=scaling)
        # every split's block is padded to the most components it could keep (min(10, 200, 60 - 1))
        assert sizes == [10] and estimator.group_sizes_ == [int(kept[0, 0])]
        k = int(kept[0, 0])
        assert not test[0, :, k:].any() and not train[0, :, k:].any()
        batched, direct = test[0, :, :k].numpy(), estimator.transform(X[60:]).numpy()
        signs = np.sign(np.sum(batched * direct, axis=0))
        np.testing.assert_allclose(batched, direct * signs, rtol=1e-6, atol=1e-8)


def test_common_scale_keeps_relative_variances_and_whitening_does_not():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 40)) * np.geomspace(10, 0.1, 40)
    common = GroupReduction(n_components='fixed', scaling='common').fit(X).transform(X).numpy()
    whitened = GroupReduction(n_components='fixed', scaling='whiten').fit(X).transform(X).numpy()
    pca_variances = PCA().fit(X).explained_variance_
    np.testing.assert_allclose(common.var(axis=0) / common.var(axis=0)[0], pca_variances / pca_variances[0],
                               rtol=1e-6)
    assert np.isclose(common.var(axis=0).mean(), 1.0)
    np.testing.assert_allclose(whitened.var(axis=0), 1.0, rtol=1e-6)


def test_groups_must_cover_columns():
    with pytest.raises(ValueError, match='groups has 3 labels for 4 feature columns'):
        NRPRegressor(groups=['a', 'a', 'b'], device='cpu').fit(np.ones((10, 4)) + np.arange(40).reshape(10, 4), np.arange(10.))


def test_locally_dense_blocks_see_only_their_group():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    model = NRPRegressor(groups=['a'] * 4 + ['b'] * 2, l1_size=3, l2_size=0, max_epochs=5, linear_path=False,
                         device='cpu').fit(X, X[:, 0])
    params = {name: value.double() for name, value in model.params_.items()}
    # read NRP-L1's six units directly: NRP-out set to the identity, no bias
    params['w3'] = torch.eye(6, dtype=torch.float64)[None]
    params['b3'] = torch.zeros(1, 6, dtype=torch.float64)
    inputs = model.reduction_.transform(X).unsqueeze(0).double()
    changed = inputs.clone()
    width_a = model.layout_[0]
    changed[..., width_a:] += 1.0  # move only group 'b'
    before = network.forward(params, model.layout_, inputs)[0]
    after = network.forward(params, model.layout_, changed)[0]
    assert torch.equal(before[:, :3], after[:, :3])  # block 'a' does not see group 'b'
    assert not torch.allclose(before[:, 3:], after[:, 3:])
    assert len(model.layout_) == 2 and sum(model.layout_) == inputs.shape[-1]


