"""The torch kernel PLS against scikit-learn, and the ``pls_torch`` metric against Brain-Score's ``pls``."""
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import PLSRegression

from nrp_plugin.brainscore.pls_metric import PLSTorchMetric
from nrp_plugin.core.kernels import gram_matrix
from nrp_plugin.pls import TorchPLSRegression, cross_validated_pls, fit_kernel_pls, predict_kernel_pls

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA GPU visible')


def _regression_data(n, p, q, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) * 0.3 + rng.normal(size=p)
    Y = X[:, :5] @ rng.normal(size=(5, q)) + rng.normal(size=(n, q))
    return X, Y, rng.normal(size=(15, p)) * 0.3


def _relative_gap(ours, theirs):
    return np.abs(np.asarray(ours) - np.asarray(theirs)).max() / np.abs(theirs).max()


# ------------------------------------------------------------------------------------ the algorithm
@pytest.mark.parametrize('n, p, q, k', [
    (60, 20, 3, 1), (60, 20, 3, 5), (60, 20, 3, 20),            # n > p (up to k = p)
    (40, 200, 4, 1), (40, 200, 4, 3), (40, 200, 4, 10), (50, 300, 6, 25),  # n < p
])
def test_estimator_matches_sklearn(n, p, q, k):
    X, Y, X_new = _regression_data(n, p, q, seed=n + p + k)
    reference = PLSRegression(n_components=k, scale=False).fit(X, Y)
    ours = TorchPLSRegression(n_components=k, device='cpu', chunk_size=64).fit(X, Y)
    assert ours.coef_.shape == reference.coef_.shape == (q, p)
    assert _relative_gap(ours.coef_, reference.coef_) < 1e-8
    assert _relative_gap(ours.predict(X_new), reference.predict(X_new)) < 1e-8
    assert np.allclose(ours.intercept_, reference.intercept_, rtol=1e-12, atol=1e-12)
    assert _relative_gap(ours.x_weights_, reference.x_weights_) < 1e-7
    assert _relative_gap(ours.y_loadings_, reference.y_loadings_) < 1e-7
    assert _relative_gap(ours.x_loadings_, reference.x_loadings_) < 1e-7
    assert _relative_gap(ours.x_scores_, reference._x_scores) < 1e-7
    assert ours.n_iter_ == list(reference.n_iter_)


def test_estimator_single_target_and_api():
    X, Y, X_new = _regression_data(40, 200, 1, seed=3)
    y = Y[:, 0]
    reference = PLSRegression(n_components=4, scale=False).fit(X, y)
    ours = TorchPLSRegression(n_components=4, device='cpu')
    X_before, X_new_before = X.copy(), X_new.copy()
    assert ours.fit(X, y) is ours
    prediction = ours.predict(X_new)
    assert np.array_equal(X, X_before) and np.array_equal(X_new, X_new_before)  # inputs left untouched
    assert prediction.shape == reference.predict(X_new).shape == (15,)
    assert _relative_gap(prediction, reference.predict(X_new)) < 1e-8
    assert _relative_gap(ours.coef_, reference.coef_) < 1e-8
    assert ours.get_params()['n_components'] == 4
    assert np.allclose((X - ours.x_mean_).T @ ours.dual_coef_, ours.coef_.T)
    with pytest.raises(ValueError, match='upper bound'):
        TorchPLSRegression(n_components=201).fit(X, y)
    with pytest.raises(ValueError, match='NaN'):
        TorchPLSRegression(n_components=2).fit(np.where(np.eye(40, 200) > 0, np.nan, X), y)


def test_eigh_solver_is_close_to_sklearn():
    """The exact dominant direction differs from sklearn only by sklearn's power-iteration tolerance."""
    X, Y, X_new = _regression_data(50, 300, 6, seed=1)
    reference = PLSRegression(n_components=10, scale=False).fit(X, Y)
    ours = TorchPLSRegression(n_components=10, solver='eigh', device='cpu').fit(X, Y)
    assert _relative_gap(ours.predict(X_new), reference.predict(X_new)) < 5e-3


def test_gram_matrix_in_chunks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 101)).astype(np.float32) + 5   # more rows than one kernel block
    centred = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    K = gram_matrix(X, device='cpu', chunk_size=7).numpy()
    assert np.allclose(K, centred @ centred.T, rtol=1e-10, atol=1e-8)
    assert np.array_equal(K, K.T)
    rows = rng.permutation(600)[:550]
    K_rows = gram_matrix(X, rows=rows, center=False, device='cpu', chunk_size=10).numpy()
    assert np.allclose(K_rows, X[rows].astype(np.float64) @ X[rows].T.astype(np.float64), rtol=1e-10)
    K32 = gram_matrix(X, device='cpu', gram_dtype=torch.float32).numpy()
    assert K32.dtype == np.float64 and np.allclose(K32, K, rtol=1e-4, atol=1e-3)


def test_batched_splits_equal_single_splits_and_sklearn():
    rng = np.random.default_rng(7)
    n, p, q, k = 90, 250, 5, 8
    X, Y, _ = _regression_data(n, p, q, seed=7)
    K = gram_matrix(X, device='cpu')
    Y_t = torch.as_tensor(Y)
    tests = [np.sort(rng.choice(n, 12, replace=False)) for _ in range(4)]
    masks = torch.ones((4, n), dtype=torch.bool)
    for split, test in enumerate(tests):
        masks[split, torch.as_tensor(test)] = False
    batched, _ = cross_validated_pls(K, Y_t, masks, tests, k)
    single, _ = cross_validated_pls(K, Y_t, masks, tests, k, split_batch_size=1)
    for split, test in enumerate(tests):
        assert torch.allclose(batched[split], single[split], rtol=1e-10, atol=1e-10)
        train = np.setdiff1d(np.arange(n), test)
        expected = PLSRegression(n_components=k, scale=False).fit(X[train], Y[train]).predict(X[test])
        assert _relative_gap(batched[split].numpy(), expected) < 1e-8
    # stacked row indices give a stacked tensor
    fit = fit_kernel_pls(K, Y_t, masks, k)
    stacked = predict_kernel_pls(K, fit, torch.as_tensor(np.stack(tests)))
    assert stacked.shape == (4, 12, q) and torch.allclose(stacked[2], batched[2], atol=1e-12)


# ---------------------------------------------------------------------------------------- the metric
def _assemblies(n_objects=64, per_object=10, n_features=300, n_neuroids=20, seed=0):
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    rng = np.random.default_rng(seed)
    n = n_objects * per_object
    objects = np.repeat([f'object{i:02d}' for i in range(n_objects)], per_object)
    stimulus_ids = np.array([f'stimulus{i:04d}' for i in range(n)])
    latent = rng.normal(size=(n_objects, 12))[np.repeat(np.arange(n_objects), per_object)] + rng.normal(size=(n, 12))
    features = np.maximum(latent @ rng.normal(size=(12, n_features)), 0) + 0.1 * rng.normal(size=(n, n_features))
    responses = latent @ rng.normal(size=(12, n_neuroids)) + 3 * rng.normal(size=(n, n_neuroids))
    order = rng.permutation(n)  # the source in another stimulus order than the target
    source = NeuroidAssembly(features[order].astype(np.float32), coords={
        'stimulus_id': ('presentation', stimulus_ids[order]), 'object_name': ('presentation', objects[order]),
        'neuroid_id': ('neuroid', np.arange(n_features)), 'layer': ('neuroid', ['layer'] * n_features)},
        dims=['presentation', 'neuroid'])
    target = NeuroidAssembly(responses, coords={
        'stimulus_id': ('presentation', stimulus_ids), 'object_name': ('presentation', objects),
        'neuroid_id': ('neuroid', [f'site{i}' for i in range(n_neuroids)]), 'region': ('neuroid', ['IT'] * n_neuroids)},
        dims=['presentation', 'neuroid'])
    return source, target


@pytest.fixture(scope='module')
def assemblies():
    return _assemblies()


@pytest.fixture(scope='module')
def brainscore_pls(assemblies, installed_plugins):
    from brainscore_vision import load_metric
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_metric('pls')(*assemblies)


def test_metric_matches_brainscore_pls(assemblies, brainscore_pls, installed_plugins):
    from brainscore_vision import load_metric
    source_before = assemblies[0].values.copy()
    ours = load_metric('pls_torch', device='cpu')(*assemblies)
    assert np.array_equal(assemblies[0].values, source_before)
    theirs = brainscore_pls
    assert ours.attrs['raw'].dims == theirs.attrs['raw'].dims == ('split', 'neuroid')
    assert list(ours.attrs['raw']['neuroid_id'].values) == list(theirs.attrs['raw']['neuroid_id'].values)
    assert list(ours.attrs['raw']['region'].values) == list(theirs.attrs['raw']['region'].values)
    # every split's and site's Pearson r within 1e-8 of Brain-Score's own pls (float64 kernel, NIPALS replayed)
    assert np.abs(ours.attrs['raw'].values - theirs.attrs['raw'].values).max() < 1e-8
    assert abs(float(ours) - float(theirs)) < 1e-8
    assert abs(float(ours.attrs['error']) - float(theirs.attrs['error'])) < 1e-8
    pickle.loads(pickle.dumps(ours))  # Brain-Score pickles scores


def test_metric_mae_is_that_of_sklearn_pls_predictions(assemblies, installed_plugins):
    """``mae_raw`` is the MAE of scikit-learn's PLSRegression(25, scale=False) fitted on each split."""
    from brainscore_vision import load_metric
    from sklearn.cross_decomposition import PLSRegression
    from nrp_plugin.brainscore.splits import CrossValidationSpec, build_splits, split_indices
    source, target = assemblies
    kwargs = dict(splits=3)
    ours = load_metric('pls_torch', crossvalidation_kwargs=kwargs, device='cpu')(source, target)
    spec = CrossValidationSpec.from_kwargs(kwargs)
    indices = split_indices(target['stimulus_id'].values, build_splits(target, spec))
    rows = {sid: i for i, sid in enumerate(source['stimulus_id'].values)}
    X = np.asarray(source.values, dtype=np.float64)[[rows[s] for s in target['stimulus_id'].values]]
    Y = np.asarray(target.values, dtype=np.float64)
    expected = np.stack([np.abs(PLSRegression(25, scale=False).fit(X[train], Y[train]).predict(X[test]) - Y[test])
                         .mean(axis=0) for train, test in indices])
    mae_raw = ours.attrs['mae_raw']
    assert mae_raw.dims == ('split', 'neuroid') and mae_raw.shape == (3, Y.shape[1])
    assert list(mae_raw['neuroid_id'].values) == list(ours.attrs['raw']['neuroid_id'].values)
    order = np.argsort(target['neuroid_id'].values, kind='stable')
    assert np.abs(mae_raw.values - expected[:, order]).max() < 1e-5
    per_split = expected.mean(axis=1)
    assert ours.attrs['mae'] == pytest.approx(per_split.mean(), abs=1e-6)
    assert ours.attrs['mae_error'] == pytest.approx(per_split.std() / np.sqrt(3), abs=1e-6)


def test_metric_crossvalidation_kwargs_match_brainscore(assemblies, installed_plugins):
    from brainscore_vision import load_metric
    kwargs = dict(splits=2, random_state=3, train_size=0.8)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = load_metric('pls', crossvalidation_kwargs=kwargs)(*assemblies)
    ours = load_metric('pls_torch', crossvalidation_kwargs=kwargs, device='cpu', split_batch_size=1,
                       gram_dtype=torch.float32)(*assemblies)
    assert ours.attrs['raw'].sizes['split'] == 2
    assert np.abs(ours.attrs['raw'].values - theirs.attrs['raw'].values).max() < 1e-4
    assert abs(float(ours) - float(theirs)) < 1e-4


def test_metric_rejects_bad_input():
    source, target = _assemblies(n_objects=8, per_object=10, n_features=40, n_neuroids=3)
    metric = PLSTorchMetric(n_components=5, device='cpu', crossvalidation_kwargs=dict(splits=2))
    values = source.values.copy()
    values[4, 7] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        metric(source.copy(data=values), target)
    values = target.values.copy()
    values[2, 1] = np.inf
    with pytest.raises(ValueError, match='NaN/inf'):
        metric(source, target.copy(data=values))
    with pytest.raises(ValueError, match='stimulus'):
        metric(source.isel(presentation=slice(1, None)), target)
    without_objects = target.reset_index('presentation').drop_vars('object_name')
    with pytest.raises(ValueError, match='object_name'):
        metric(source, without_objects)
    with pytest.raises(ValueError, match='features'):
        PLSTorchMetric(n_components=41, device='cpu')(source, target)
    with pytest.raises(ValueError, match='cross-validation'):
        PLSTorchMetric(crossvalidation_kwargs=dict(folds=3))
    with pytest.raises(ValueError, match='dims'):
        metric(source.values, target)


def test_pearson_matches_scipy_with_its_constant_column_rule():
    from scipy.stats import pearsonr
    from nrp_plugin.core.scoring import pearson
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 30, 5)), rng.normal(size=(2, 30, 5))
    b[0, :, 3] = 1.0   # constant target column
    a[1, :, 4] = -2.0  # constant prediction column
    r = pearson(torch.as_tensor(a), torch.as_tensor(b)).numpy()
    for s, i in [(s, i) for s in range(2) for i in range(5)]:
        constant = np.ptp(a[s, :, i]) == 0 or np.ptp(b[s, :, i]) == 0
        if constant:
            assert np.isnan(r[s, i])
        else:
            assert abs(r[s, i] - pearsonr(a[s, :, i], b[s, :, i])[0]) < 1e-12


def test_registered_in_brainscore(installed_plugins):
    from brainscore_vision import load_metric
    metric = load_metric('pls_torch', crossvalidation_kwargs=dict(splits=2))
    assert isinstance(metric, PLSTorchMetric) and metric.spec.splits == 2


# ------------------------------------------------------------------------------------------------ GPU
@CUDA
def test_cuda_estimator_matches_sklearn():
    X, Y, X_new = _regression_data(50, 300, 6, seed=2)
    reference = PLSRegression(n_components=10, scale=False).fit(X, Y)
    ours = TorchPLSRegression(n_components=10, device='cuda').fit(X, Y)
    assert _relative_gap(ours.predict(X_new), reference.predict(X_new)) < 1e-8


@CUDA
def test_cuda_metric_matches_cpu(assemblies):
    cpu = PLSTorchMetric(device='cpu', crossvalidation_kwargs=dict(splits=3))(*assemblies)
    cuda = PLSTorchMetric(device='cuda', crossvalidation_kwargs=dict(splits=3))(*assemblies)
    assert np.abs(cpu.attrs['raw'].values - cuda.attrs['raw'].values).max() < 1e-8
