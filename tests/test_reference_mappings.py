"""Ridge, banded ridge and RBF kernel ridge as the metric fits them, against independent references.

- ridge and banded ridge with given layer weights (:meth:`nrp_plugin.mappings.SplitPieces.ridge`) are scikit-learn's
  ``RidgeCV(alpha_per_target=True)`` (exact leave-one-out) on the layers' centred features, each layer scaled by the
  root of its weight over its total variance and concatenated;
- banded ridge's choice of each site's layer weighting is the weighting with the lowest leave-one-out error in
  scikit-learn's own leave-one-out residuals (``store_cv_results``);
- RBF kernel ridge at one bandwidth is himalaya's ``KernelRidgeCV`` refitted once per left-out row, and the bandwidth
  it chooses has the lowest leave-one-out error on its subset of the training rows in scikit-learn's own
  leave-one-out residuals;
- the shared pieces are computed once: one eigendecomposition per layer weighting, none for one layer;
- the penalty search in float32 chooses the same penalties and predicts the same values within 1e-6 (on the CPU
  here; on CUDA where there is one), and the metric's own fits (``SplitFits``, the ``KernelRidge`` mapping) search in
  float32 and agree with the float64 search.
"""
import numpy as np
import pytest
import torch
from helpers import spy_on_searches
from sklearn.linear_model import RidgeCV

from nrp_plugin.core import kernel_references, ridge
from nrp_plugin.core.kernel_references import RBF_BANDWIDTHS, rbf_kernel_ridge
from nrp_plugin.core.linear_start import layer_weightings
from nrp_plugin.core.reduction import dense_components, kernel_components
from nrp_plugin.core.ridge import RELATIVE_ALPHAS
from nrp_plugin.mappings import BandedRidge, KernelRidge, Ridge, SplitFits, SplitPieces

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


def _layers(seed, n=120, widths=(150, 40, 60), n_sites=6):
    """Layers of different widths and spectra; sites driven by the first layer, the second, or both, plus noise
    (so that sites prefer different layer weightings)."""
    rng = np.random.default_rng(seed)
    layers = [rng.standard_normal((n, width)) * np.geomspace(2, 0.05, width) + rng.uniform(-1, 1, width)
              for width in widths]
    first, second = layers[0], layers[min(1, len(layers) - 1)]
    drive = np.stack([first[:, :6] @ rng.standard_normal(6), second[:, :6] @ rng.standard_normal(6),
                      first[:, :3] @ rng.standard_normal(3) + second[:, :3] @ rng.standard_normal(3)], axis=1)
    targets = np.repeat(drive, n_sites // 3, axis=1) + rng.uniform(0.5, 2, n_sites) * rng.standard_normal((n, n_sites))
    order = rng.permutation(n)
    return layers, targets, np.sort(order[:int(0.8 * n)]), np.sort(order[int(0.8 * n):])


def _pieces(layers, targets, train, test, device='cpu', search_dtype=None):
    """One split's components as the preparation hands them on: a wide layer's from its Gram matrix, a narrow
    layer's from the SVD of its block."""
    components = []
    train_t, test_t = torch.as_tensor(train, device=device), torch.as_tensor(test, device=device)
    for layer in layers:
        values = torch.as_tensor(layer, device=device)
        if layer.shape[1] > len(train):
            components.append(kernel_components(values @ values.T, train_t, test_t))
        else:
            components.append(dense_components(values[train_t], values[test_t]))
    return SplitPieces(0, components, torch.as_tensor(targets[train], device=device), search_dtype=search_dtype)


def _scaled(layers, train, weights):
    """The layers centred on the training rows, each divided by the root of its total variance over its weight."""
    blocks = []
    for layer, weight in zip(layers, weights):
        centred = layer - layer[train].mean(axis=0)
        total = (centred[train] ** 2).sum() / len(train)
        blocks.append(centred * np.sqrt(weight / total))
    return np.concatenate(blocks, axis=1)


def _sklearn_ridge(features, targets, train):
    """scikit-learn's RidgeCV on the penalty grid in the features' unit (the mean non-zero eigenvalue of the
    centred X X^T), keeping the leave-one-out residuals."""
    centred = features[train] - features[train].mean(axis=0)
    eigenvalues = np.linalg.svd(centred, compute_uv=False) ** 2
    scale = eigenvalues[eigenvalues > eigenvalues[0] * 1e-10].mean()
    model = RidgeCV(alphas=RELATIVE_ALPHAS * scale, alpha_per_target=True, store_cv_results=True)
    return model.fit(features[train], targets[train]), scale


@pytest.mark.parametrize('seed, widths', [(0, (150,)), (1, (40,)), (2, (150, 40, 60)), (3, (200, 30))])
def test_ridge_is_sklearn_ridgecv_on_the_scaled_layers(seed, widths):
    layers, targets, train, test = _layers(seed, widths=widths)
    pieces = _pieces(layers, targets, train, test)
    prediction, info = Ridge().fit_split(pieces)
    features = _scaled(layers, train, np.ones(len(layers)))
    model, scale = _sklearn_ridge(features, targets, train)
    reference = model.predict(features[test])
    np.testing.assert_allclose(info['relative_alpha'], model.alpha_ / scale, rtol=1e-6)
    np.testing.assert_allclose(prediction.numpy(), reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())


@pytest.mark.parametrize('seed', [0, 4])
def test_banded_ridge_with_given_weights_is_sklearn_ridgecv_on_the_weighted_layers(seed):
    layers, targets, train, test = _layers(seed)
    pieces = _pieces(layers, targets, train, test)
    for weights in ([10.0, 1.0, 1.0], [0.2, 3.0, 0.5]):
        fit = pieces.ridge(weights)
        features = _scaled(layers, train, weights)
        model, scale = _sklearn_ridge(features, targets, train)
        reference = model.predict(features[test])
        np.testing.assert_allclose(fit['relative_alpha'], model.alpha_ / scale, rtol=1e-6)
        np.testing.assert_allclose(fit['prediction'].numpy(), reference, rtol=1e-6,
                                   atol=1e-6 * np.abs(reference).max())
        loo = model.cv_results_.mean(axis=0).min(axis=1)  # each site's leave-one-out error at its penalty
        np.testing.assert_allclose(fit['loo_error'].numpy(), loo, rtol=1e-6)


@pytest.mark.parametrize('seed', [0, 5, 6])
def test_banded_ridge_chooses_each_sites_weighting_by_scikit_learns_leave_one_out_errors(seed):
    layers, targets, train, test = _layers(seed)
    prediction, info = BandedRidge().fit_split(_pieces(layers, targets, train, test))
    weightings = layer_weightings(len(layers))
    errors, predictions = [], []
    for weights in weightings:
        features = _scaled(layers, train, weights)
        model, _ = _sklearn_ridge(features, targets, train)
        errors.append(model.cv_results_.mean(axis=0).min(axis=1))
        predictions.append(model.predict(features[test]))
    chosen = np.argmin(np.stack(errors), axis=0)
    expected_weights = weightings[chosen].T / weightings[chosen].T.sum(axis=0)
    np.testing.assert_allclose(info['layer_weights'], expected_weights, rtol=1e-12)
    reference = np.stack(predictions)[chosen, :, np.arange(targets.shape[1])].T
    np.testing.assert_allclose(prediction.numpy(), reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())
    assert len(set(chosen.tolist())) > 1  # the sites do choose differently: the choice itself is compared


def test_one_layer_needs_no_decomposition_and_banded_ridge_is_ridge(monkeypatch):
    layers, targets, train, test = _layers(0, widths=(150,))
    pieces = _pieces(layers, targets, train, test)  # the preparation's decomposition, which the NRP needs anyway
    for name in ('eigh', 'svd', 'eig'):
        monkeypatch.setattr(torch.linalg, name, lambda *a, name=name, **k: pytest.fail(f'{name} was called'))
    ridge_prediction, ridge_info = Ridge().fit_split(pieces)
    banded_prediction, banded_info = BandedRidge().fit_split(pieces)
    assert torch.equal(ridge_prediction, banded_prediction)
    np.testing.assert_array_equal(ridge_info['relative_alpha'], banded_info['relative_alpha'])
    np.testing.assert_array_equal(banded_info['layer_weights'], np.ones((1, targets.shape[1])))


def test_several_layers_decompose_once_per_weighting_shared_by_ridge_and_banded_ridge(monkeypatch):
    layers, targets, train, test = _layers(2)
    pieces = _pieces(layers, targets, train, test)
    calls = []
    eigen = ridge.kernel_eigen
    monkeypatch.setattr('nrp_plugin.mappings.base.kernel_eigen', lambda kernel: calls.append(1) or eigen(kernel))
    ridge_prediction, _ = Ridge().fit_split(pieces)
    assert len(calls) == 1
    BandedRidge().fit_split(pieces)
    assert len(calls) == len(layer_weightings(3)) == 7  # ridge's equal weighting was not decomposed again
    assert torch.equal(pieces.ridge([1, 1, 1])['prediction'], ridge_prediction)


def _float64_loo_error(pieces, site, relative_alpha, layer_weights=None):
    """One site's leave-one-out mean squared error, in float64, of ridge at one penalty in the kernel of
    ``pieces.eigen(layer_weights)``."""
    eigenvalues, eigenvectors = pieces.eigen(layer_weights)
    targets = pieces.train_targets[:, site:site + 1].to(torch.float64)
    return float(ridge.eigen_ridge(eigenvalues, eigenvectors, targets, np.array([relative_alpha]))[3][0])


def _same_fits(first, second, pieces=None):
    """Ridge's and banded ridge's fits (in that order) agree: predictions within 1e-6 of the targets' scale, and the
    same penalties, or, with ``pieces`` (the split's, fitted in float64), penalties whose float64 leave-one-out
    errors are equal within 1e-6 (relative): a tie the float32 search cannot resolve, at the grid's flat end."""
    for (prediction, info), (other, other_info), banded in zip(first, second, (False, True)):
        np.testing.assert_allclose(prediction.cpu().numpy(), other.cpu().numpy(), rtol=0, atol=1e-6)
        alphas, other_alphas = info['relative_alpha'], other_info['relative_alpha']
        if pieces is None:
            np.testing.assert_array_equal(alphas, other_alphas)
            continue
        for site in np.flatnonzero(alphas != other_alphas):
            weights = [None, None] if not banded else [choice['layer_weights'][:, site] for choice in (info, other_info)]
            errors = [_float64_loo_error(pieces, site, alpha[site], weight)
                      for alpha, weight in zip((alphas, other_alphas), weights)]
            assert errors[1] == pytest.approx(errors[0], rel=1e-6), (site, alphas[site], other_alphas[site], errors)


def _fits(layers, targets, train, test, device, search_dtype):
    pieces = _pieces(layers, targets, train, test, device, search_dtype)
    return [Ridge().fit_split(pieces), BandedRidge().fit_split(pieces)]


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_the_penalty_search_in_float32_chooses_penalties_as_good_as_float64s(seed):
    layers, targets, train, test = _layers(seed)
    _same_fits(_fits(layers, targets, train, test, 'cpu', None), _fits(layers, targets, train, test, 'cpu',
                                                                        torch.float32),
               pieces=_pieces(layers, targets, train, test))



@pytest.mark.parametrize('seed', [1, 3])
def test_the_metrics_component_fits_search_in_float32_and_agree_with_float64(seed, monkeypatch):
    from nrp_plugin.mappings import base
    layers, targets, train, test = _layers(seed)
    searched = spy_on_searches(monkeypatch, base)
    fits = SplitFits([Ridge(), BandedRidge()], torch.as_tensor(targets[train])[None])
    fits(0, _pieces(layers, targets, train, test).components)
    assert searched and set(searched) == {torch.float32}
    metric_fits = [(fits._fits[name][0][0], fits._fits[name][0][1]) for name in ('ridge', 'banded_ridge')]
    _same_fits(_fits(layers, targets, train, test, 'cpu', torch.float64), metric_fits,
               pieces=_pieces(layers, targets, train, test))

@CUDA
@pytest.mark.parametrize('search_dtype', [None, torch.float32])
def test_ridge_on_cuda_is_ridge_on_the_cpu(search_dtype):
    layers, targets, train, test = _layers(2)
    _same_fits(_fits(layers, targets, train, test, 'cpu', None), _fits(layers, targets, train, test, 'cuda',
                                                                        search_dtype))


def _rbf_world(seed, n=90, n_inputs=5, n_sites=4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_inputs)) * np.geomspace(1, 0.2, n_inputs)
    y = np.sin(2 * x[:, :2]) @ rng.standard_normal((2, n_sites)) + 0.2 * rng.standard_normal((n, n_sites))
    return torch.as_tensor(x[:70]), torch.as_tensor(y[:70]), torch.as_tensor(x[70:])


@pytest.mark.parametrize('seed, factor, bandwidth_rows', [(0, 1.0, None), (1, 4.0, None), (2, 2.0, 20)])
def test_kernel_ridge_at_one_bandwidth_is_himalayas_refitted_for_every_left_out_row(seed, factor, bandwidth_rows):
    from himalaya.backend import get_backend, set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from sklearn.model_selection import KFold
    x, y, x_test = _rbf_world(seed)
    prediction, info = rbf_kernel_ridge(x, y, x_test, bandwidths=(factor,), bandwidth_rows=bandwidth_rows)
    mean, std = y.mean(dim=0).numpy(), y.std(dim=0, unbiased=False).numpy()
    previous = get_backend().name
    set_backend('numpy')
    try:
        model = KernelRidgeCV(alphas=kernel_references.RELATIVE_ALPHAS * info['kernel_scale'], kernel='rbf',
                              kernel_params=dict(gamma=info['gamma']), cv=KFold(n_splits=len(x)),
                              fit_intercept=True, warn=False).fit(x.numpy(), ((y.numpy() - mean) / std))
        reference = np.asarray(model.predict(x_test.numpy())) * std + mean
        reference_alpha = np.asarray(model.best_alphas_) / info['kernel_scale']
    finally:
        set_backend(previous)
    np.testing.assert_allclose(info['relative_alpha'], reference_alpha, rtol=1e-8)
    np.testing.assert_allclose(prediction.numpy(), reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())


def _sklearn_loo_errors(x, y, gamma):
    """Each site's leave-one-out mean squared error at its best penalty, by scikit-learn's RidgeCV on features whose
    linear kernel is the RBF kernel centred on these rows (ridge with an intercept on them is kernel ridge)."""
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.preprocessing import KernelCenterer
    kernel = KernelCenterer().fit_transform(rbf_kernel(x, gamma=gamma))
    eigenvalues, eigenvectors = np.linalg.eigh(kernel)
    keep = eigenvalues > eigenvalues[-1] * len(x) * np.finfo(float).eps
    features = eigenvectors[:, keep] * np.sqrt(eigenvalues[keep])
    scale = eigenvalues[keep].mean()
    model = RidgeCV(alphas=kernel_references.RELATIVE_ALPHAS * scale, alpha_per_target=True, store_cv_results=True)
    return model.fit(features, y).cv_results_.mean(axis=0).min(axis=1)


@pytest.mark.parametrize('seed, bandwidth_rows', [(0, None), (1, 35), (3, 24)])
def test_the_bandwidth_has_the_lowest_leave_one_out_error_on_its_subset_of_rows(seed, bandwidth_rows):
    x, y, x_test = _rbf_world(seed)
    prediction, info = rbf_kernel_ridge(x, y, x_test, bandwidth_rows=bandwidth_rows)
    rows = kernel_references.bandwidth_subset(len(x), bandwidth_rows).numpy()
    step = 1 if bandwidth_rows is None else -(-len(x) // bandwidth_rows)  # every k-th row, at most bandwidth_rows
    np.testing.assert_array_equal(rows, np.arange(0, len(x), step))
    assert len(rows) == info['bandwidth_rows'] <= (bandwidth_rows or len(x))
    standardised = ((y - y.mean(dim=0)) / y.std(dim=0, unbiased=False)).numpy()[rows]
    squared = torch.cdist(x, x).numpy() ** 2
    median = np.median(squared[np.triu_indices(len(x), 1)])
    errors = [_sklearn_loo_errors(x.numpy()[rows], standardised, 1 / (factor * median)).mean()
              for factor in RBF_BANDWIDTHS]
    np.testing.assert_allclose(info['bandwidth_loo_errors'], errors, rtol=1e-6)
    assert info['bandwidth'] == RBF_BANDWIDTHS[int(np.argmin(errors))]
    # the penalties and predictions use every row at that bandwidth
    alone, alone_info = rbf_kernel_ridge(x, y, x_test, bandwidths=(info['bandwidth'],), bandwidth_rows=None)
    np.testing.assert_allclose(prediction.numpy(), alone.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(info['relative_alpha'], alone_info['relative_alpha'])


def test_kernel_ridges_float32_search_chooses_the_same_penalties():
    x, y, x_test = _rbf_world(5)
    prediction, info = rbf_kernel_ridge(x, y, x_test, bandwidth_rows=40)
    single, single_info = rbf_kernel_ridge(x, y, x_test, bandwidth_rows=40, search_dtype=torch.float32)
    assert single_info['bandwidth'] == info['bandwidth']
    np.testing.assert_array_equal(single_info['relative_alpha'], info['relative_alpha'])
    np.testing.assert_allclose(single.numpy(), prediction.numpy(), rtol=0, atol=1e-6)



def test_the_kernel_ridge_mapping_searches_in_float32_and_agrees_with_float64(monkeypatch):
    from nrp_plugin.core.crossval import CrossValidatedData
    x, y, x_test = _rbf_world(6)
    searched = spy_on_searches(monkeypatch, kernel_references)
    data = CrossValidatedData(train_inputs=x[None], test_inputs=x_test[None], train_targets=y[None],
                              test_targets=torch.zeros(1, len(x_test), y.shape[1], dtype=y.dtype),
                              group_names=[None], group_sizes=[x.shape[1]], neuroid_ids=np.arange(y.shape[1]),
                              train_ids=[np.arange(len(x))], test_ids=[np.arange(len(x_test))])
    fit = KernelRidge(bandwidth_rows=40).fit(data)
    assert searched and set(searched) == {torch.float32}
    monkeypatch.undo()
    prediction, info = rbf_kernel_ridge(x, y, x_test, bandwidth_rows=40, search_dtype=torch.float64)
    assert fit.splits[0]['bandwidth'] == info['bandwidth']
    np.testing.assert_array_equal(fit.splits[0]['relative_alpha'], info['relative_alpha'])
    np.testing.assert_allclose(fit.prediction[0].numpy(), prediction.numpy(), rtol=0, atol=1e-6)

@CUDA
@pytest.mark.parametrize('search_dtype', [None, torch.float32])
def test_kernel_ridge_on_cuda_is_kernel_ridge_on_the_cpu(search_dtype):
    x, y, x_test = _rbf_world(5)
    prediction, info = rbf_kernel_ridge(x, y, x_test, bandwidth_rows=40)
    on_cuda, cuda_info = rbf_kernel_ridge(x.cuda(), y.cuda(), x_test.cuda(), bandwidth_rows=40,
                                          search_dtype=search_dtype)
    assert cuda_info['bandwidth'] == info['bandwidth']
    np.testing.assert_array_equal(cuda_info['relative_alpha'], info['relative_alpha'])
    np.testing.assert_allclose(on_cuda.cpu().numpy(), prediction.numpy(), rtol=0, atol=1e-6)
