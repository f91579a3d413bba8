"""Ridge (core/ridge.py) against scikit-learn, and the linear path's ridge start (core/linear_start.py) against
scikit-learn and the ridge reference."""
import numpy as np
import pytest
import torch
from helpers import spy_on_searches
from sklearn.linear_model import Ridge, RidgeCV

from nrp_plugin.core import combination, network
from nrp_plugin.core.linear_start import fixed_part, layer_weightings, ridge_start
from nrp_plugin.core.reduction import prepare_splits
from nrp_plugin.core.regressor import NRPRegressor
from nrp_plugin.core.ridge import RELATIVE_ALPHAS, eigen_ridge, fit_predict_ridge, ridge_coefficients


def _world(seed, n=120, widths=(30, 200), rank=6, n_targets=5, noise=0.5):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, rank))
    blocks = [latent @ rng.standard_normal((rank, width)) * rng.uniform(0.5, 3)
              + noise * rng.standard_normal((n, width)) for width in widths]
    features = np.concatenate(blocks, axis=1)
    targets = latent @ rng.standard_normal((rank, n_targets)) + 0.3 * rng.standard_normal((n, n_targets))
    groups = np.repeat(np.arange(len(widths)), widths)
    return features, targets, groups


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_eigen_ridge_equals_sklearn_ridgecv(seed):
    features, targets, _ = _world(seed, n=80, widths=(150,))
    train, test = np.arange(60), np.arange(60, 80)
    centred = features - features[train].mean(axis=0)
    kernel = torch.as_tensor(centred[train] @ centred[train].T)
    eigenvalues, eigenvectors = torch.linalg.eigh(kernel)
    keep = eigenvalues > eigenvalues[-1] * 1e-10
    dual, intercept, alpha, _, _ = eigen_ridge(eigenvalues[keep], eigenvectors[:, keep], torch.as_tensor(targets[train]))
    ours = torch.as_tensor(centred[test] @ centred[train].T) @ dual + intercept
    reference, reference_alpha = fit_predict_ridge(features[train], targets[train], features[test])
    np.testing.assert_allclose(alpha, reference_alpha, rtol=1e-6)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-7, atol=1e-9)
    # and against scikit-learn directly, at the penalties chosen
    scale = float(eigenvalues[keep].sum()) / int(keep.sum())
    direct = RidgeCV(alphas=RELATIVE_ALPHAS * scale, alpha_per_target=True).fit(features[train], targets[train])
    np.testing.assert_allclose(ours.numpy(), direct.predict(features[test]), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_a_float32_penalty_search_gives_float64_leave_one_out_results_for_the_penalties_it_chooses(seed):
    """The search in float32 chooses the penalties; the chosen penalties' leave-one-out errors and predictions are
    then float64's (against the float64 search, where both choose the same penalty, 1e-12)."""
    features, targets, _ = _world(seed, n=90, widths=(40, 120))
    centred = torch.as_tensor(features - features.mean(axis=0))
    eigenvalues, eigenvectors = torch.linalg.eigh(centred @ centred.T)
    keep = eigenvalues > eigenvalues[-1] * 1e-10
    basis = eigenvalues[keep], eigenvectors[:, keep]
    doubles = eigen_ridge(*basis, torch.as_tensor(targets))
    singles = eigen_ridge(*basis, torch.as_tensor(targets), search_dtype=torch.float32)
    np.testing.assert_array_equal(singles[2], doubles[2])
    for single, double in zip(singles[:2] + singles[3:], doubles[:2] + doubles[3:]):
        assert single.dtype == torch.float64
        np.testing.assert_allclose(single.numpy(), double.numpy(), rtol=1e-12, atol=1e-12)


def _ridge_problem(seed, n, p, n_targets, padding=0):
    """Features with a decaying spectrum and offsets, noisy targets from the leading ones (so that each target's
    leave-one-out error has a clear minimum inside the grid), and ``padding`` all-zero columns."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, p)) * np.geomspace(3, 3e-3, p) + rng.uniform(-2, 2, p)
    weights = rng.standard_normal((p, n_targets)) * (np.arange(p) < 5)[:, None]
    targets = features @ weights + rng.uniform(1.0, 3.0, n_targets) * rng.standard_normal((n, n_targets))
    return np.concatenate([features, np.zeros((n, padding))], axis=1), targets


def _sklearn_ridge(train_x, train_y):
    """scikit-learn's RidgeCV on the penalty grid in the inputs' unit (the mean non-zero eigenvalue of the centred
    X X^T, from NumPy's SVD), and that unit."""
    centred = train_x - train_x.mean(axis=0)
    eigenvalues = np.linalg.svd(centred, compute_uv=False) ** 2
    scale = eigenvalues[eigenvalues > eigenvalues[0] * 1e-10].mean()
    return RidgeCV(alphas=RELATIVE_ALPHAS * scale, alpha_per_target=True).fit(train_x, train_y), scale


@pytest.mark.parametrize('seed, n, p, n_targets, padding', [
    (0, 200, 30, 4, 0),  # more rows than columns (scikit-learn: the SVD of X)
    (2, 100, 60, 3, 0),
    (3, 150, 20, 5, 12),  # all-zero padding columns, as the NRP's inputs have
    (5, 50, 120, 4, 0),  # more columns than rows (scikit-learn: the eigendecomposition of X X^T)
    (7, 80, 200, 3, 0)])
def test_ridge_equals_sklearn_ridgecv(seed, n, p, n_targets, padding):
    features, targets = _ridge_problem(seed, n, p, n_targets, padding)
    n_train = int(0.8 * n)
    train_x, train_y, test_x = features[:n_train], targets[:n_train], features[n_train:]
    model, scale = _sklearn_ridge(train_x, train_y)
    reference = model.predict(test_x)
    prediction, alpha = fit_predict_ridge(train_x, train_y, test_x)
    np.testing.assert_allclose(alpha, model.alpha_ / scale, rtol=1e-8)
    np.testing.assert_allclose(prediction, reference, rtol=1e-8, atol=1e-8 * np.abs(reference).max())
    weights, intercept = ridge_coefficients(torch.as_tensor(train_x), torch.as_tensor(train_y))
    coef = model.coef_.reshape(n_targets, -1).T
    np.testing.assert_allclose(weights, coef, rtol=1e-8, atol=1e-8 * np.abs(coef).max())
    np.testing.assert_allclose(intercept, model.intercept_, rtol=1e-8, atol=1e-8 * np.abs(model.intercept_).max())
    # inside the grid, so the leave-one-out choice itself is compared
    assert ((alpha > RELATIVE_ALPHAS[0]) & (alpha < RELATIVE_ALPHAS[-1])).all()


@pytest.mark.parametrize('seed, n, p, n_targets', [(2, 100, 60, 3), (5, 50, 120, 4), (7, 80, 200, 3)])
def test_ridge_equals_himalayas_kernel_ridge_refitted_for_every_left_out_row(seed, n, p, n_targets):
    # himalaya has no closed-form leave-one-out: its KernelRidgeCV with one fold per training row refits n times
    from himalaya.backend import get_backend, set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from sklearn.model_selection import KFold
    features, targets = _ridge_problem(seed, n, p, n_targets, 0)
    n_train = int(0.8 * n)
    train_x, train_y, test_x = features[:n_train], targets[:n_train], features[n_train:]
    _, scale = _sklearn_ridge(train_x, train_y)
    previous = get_backend().name
    set_backend('numpy')
    try:
        model = KernelRidgeCV(alphas=RELATIVE_ALPHAS * scale, kernel='linear', cv=KFold(n_splits=n_train),
                              fit_intercept=True, warn=False).fit(train_x, train_y)
        reference = np.asarray(model.predict(test_x))
        reference_alpha = np.asarray(model.best_alphas_) / scale
    finally:
        set_backend(previous)
    prediction, alpha = fit_predict_ridge(train_x, train_y, test_x)
    np.testing.assert_allclose(alpha, reference_alpha, rtol=1e-8)
    np.testing.assert_allclose(prediction, reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())
    assert ((alpha > RELATIVE_ALPHAS[0]) & (alpha < RELATIVE_ALPHAS[-1])).all()


def test_ridge_on_constant_inputs_predicts_the_training_mean():
    targets = np.random.default_rng(0).standard_normal((30, 2))
    prediction, alpha = fit_predict_ridge(np.ones((30, 4)), targets, np.zeros((5, 4)))
    np.testing.assert_allclose(prediction, np.tile(targets.mean(axis=0), (5, 1)))
    np.testing.assert_array_equal(alpha, RELATIVE_ALPHAS[0])


def _prepared(seed, rule='noise+loo', n_splits=3):
    features, targets, groups = _world(seed)
    rng = np.random.default_rng(seed + 100)
    splits = []
    for _ in range(n_splits):
        order = rng.permutation(len(features))
        splits.append((np.sort(order[:100]), np.sort(order[100:])))
    train_targets = torch.stack([torch.as_tensor(targets[train]) for train, _ in splits])
    components = {}
    out = prepare_splits(features, groups, splits, max_components=64, train_targets=train_targets,
                         n_components=rule, on_components=lambda s, c: components.__setitem__(s, c),
                         with_kernels=True)
    return features, targets, groups, splits, train_targets, components, out


def _start_prediction(start, inputs, every_prediction):
    """What the start predicts on rows: the linear path plus the fixed part."""
    linear = torch.baddbmm(start['b_linear'][:, None], inputs.double(), start['w_linear'])
    return linear + fixed_part(start, every_prediction, inputs)


def _carve(n_fits, n_rows, n_validation=10):
    fit = torch.arange(n_validation, n_rows).expand(n_fits, n_rows - n_validation)
    return fit, torch.arange(n_validation).expand(n_fits, n_validation)



def test_the_starts_ridge_fits_search_in_float32(monkeypatch):
    # the penalty search of ridge on every component (each layer weighting) runs in float32; the test above checks
    # that it chooses what scikit-learn's float64 RidgeCV chooses
    from nrp_plugin.core import ridge
    searched = spy_on_searches(monkeypatch, ridge)
    _, _, _, splits, train_targets, _, (train_x, _, _, _, kernels) = _prepared(0)
    fit_index, validation_index = _carve(len(splits), train_x.shape[1])
    ridge_start(kernels, train_x, train_targets, fit_index, validation_index)
    weighted = len(splits) * len(layer_weightings(len(kernels.grams)))
    assert searched.count(torch.float32) == weighted

@pytest.mark.parametrize('seed', [0, 3])
def test_every_component_ridge_is_ridge_on_the_scaled_features(seed):
    # ridge on every component of every layer is ridge on the raw features, each layer divided by the root of
    # its total variance on the fit rows (scikit-learn's RidgeCV through fit_predict_ridge)
    features, _, groups, splits, train_targets, _, (train_x, test_x, sizes, kept, kernels) = _prepared(seed)
    assert (kept < 99).any(), "the test needs components outside the inputs"
    fit_index, validation_index = _carve(len(splits), train_x.shape[1])
    start = ridge_start(kernels, train_x, train_targets, fit_index, validation_index)
    for split, (train, test) in enumerate(splits):
        totals = start['group_totals'][split].numpy()
        fit_rows = train[fit_index[split].numpy()]
        reference = np.empty_like(start['every_new'][split].numpy())
        for target in range(train_targets.shape[-1]):
            # each layer divided by the root of its total variance and multiplied by that of its weight for the site
            weights = start['layer_weights'][split][:, target].numpy()
            scaled = np.concatenate([features[:, groups == g] * np.sqrt(weights[g] / totals[g])
                                     for g in range(len(totals))], axis=1)
            y = train_targets[split][fit_index[split]][:, target:target + 1]
            site, _ = fit_predict_ridge(scaled[fit_rows], y, scaled[test])
            reference[:, target] = site[:, 0]
            # on a fit row, the prediction of ridge refitted without that row (the same penalty)
            row, fitted = 5, scaled[fit_rows] - scaled[fit_rows].mean(axis=0)
            scale = (fitted ** 2).sum() / min(len(fit_rows) - 1, fitted.shape[1])  # the penalties' unit
            model = Ridge(alpha=start['every_alpha'][split][target] * scale).fit(np.delete(scaled[fit_rows], row, 0),
                                                                               np.delete(y.numpy()[:, 0], row))
            assert float(start['every_rows'][split][fit_index[split][row], target]) == pytest.approx(
                float(model.predict(scaled[fit_rows[row]][None])[0]), rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(start['every_new'][split].numpy(), reference, rtol=1e-6, atol=1e-8)
        # what the start predicts: that ridge, or ridge on the inputs alone
        prediction = _start_prediction(start, test_x, start['every_new'])[split].numpy()
        if start['every'][split]:
            np.testing.assert_allclose(prediction, reference, rtol=1e-6, atol=1e-8)
        else:
            real = train_x[split].abs().sum(dim=0) > 0  # without the padding columns
            fit_x = train_x[split][fit_index[split]][:, real]
            on_inputs, _ = fit_predict_ridge(fit_x, train_targets[split][fit_index[split]], test_x[split][:, real])
            np.testing.assert_allclose(prediction, on_inputs, rtol=1e-5, atol=1e-7)


def _spread_world(seed, n=150, width=300):
    """Two sites: one driven by 20 weak components (only every component reaches it), one by the 5 strongest
    (the inputs suffice; the other components only add noise)."""
    rng = np.random.default_rng(seed)
    spectrum = np.concatenate([np.full(5, 10.0), np.full(width - 5, 1.0)])
    features = rng.standard_normal((n, width)) * spectrum
    weak = features[:, 5:25] @ rng.standard_normal((20, 1))
    strong = features[:, :5] @ rng.standard_normal((5, 1)) / 10
    targets = np.concatenate([weak / weak.std(), strong / strong.std()], axis=1) + 0.3 * rng.standard_normal((n, 2))
    return features, targets


def _spread_prepared(seed, n_splits):
    features, targets = _spread_world(seed)
    splits = [(np.delete(np.arange(150), np.arange(20 * s, 20 * s + 20)), np.arange(20 * s, 20 * s + 20))
              for s in range(n_splits)]
    train_targets = torch.stack([torch.as_tensor(targets[train]) for train, _ in splits])
    return train_targets, prepare_splits(features, None, splits, max_components=64, n_components='noise',
                                         with_kernels=True)


@pytest.mark.parametrize('seed', [11, 12])
def test_a_fit_starts_from_the_ridge_that_validates_better(seed):
    # the weak site is reached only by every component, the strong one by the kept ones: the choice follows
    # the site, and the validation errors it compares are those of the two ridge fits
    train_targets, (train_x, test_x, _, kept, kernels) = _spread_prepared(seed, 1)
    assert kept[0, 0] < 20
    fit_index, validation_index = _carve(1, 130, 30)
    chosen = []
    for site in (0, 1):
        start = ridge_start(kernels, train_x, train_targets[..., site:site + 1], fit_index, validation_index)
        kept_mse, equal_mse, banded_mse = start['validation_mse'][0].tolist()
        assert banded_mse == equal_mse  # one layer: no weighting to choose
        assert bool(start['every'][0]) == (equal_mse < kept_mse)
        chosen.append(bool(start['every'][0]))
    assert chosen == [True, False]


def test_with_every_component_kept_the_fixed_part_vanishes():
    # keeping every component ('fixed' rule, wide cap) leaves nothing outside the inputs
    features, targets, groups = _world(4, n=90, widths=(20, 40))
    splits = [(np.arange(70), np.arange(70, 90))]
    train_targets = torch.as_tensor(targets[:70])[None]
    train_x, test_x, sizes, kept, kernels = prepare_splits(features, groups, splits, max_components=64,
                                                           n_components='fixed', with_kernels=True)
    assert list(kept[:, 0]) == [20, 40]
    fit_index, validation_index = _carve(1, 70)
    start = ridge_start(kernels, train_x, train_targets, fit_index, validation_index)
    assert start['every'][0]
    np.testing.assert_allclose(fixed_part(start, start['every_new'], test_x).numpy(), 0, atol=1e-8)
    validation = fixed_part(start, start['every_rows'], train_x)[:, validation_index[0]]
    np.testing.assert_allclose(validation.numpy(), 0, atol=1e-8)


def test_start_is_invariant_to_rotating_a_layer():
    # ridge in a layer's kernel does not see a rotation of that layer's features
    features, targets, groups = _world(5)
    rotation, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((200, 200)))
    rotated = features.copy()
    rotated[:, groups == 1] = features[:, groups == 1] @ rotation
    splits = [(np.arange(100), np.arange(100, 120))]
    train_targets = torch.as_tensor(targets[:100])[None]
    predictions = []
    for source in (features, rotated):
        train_x, test_x, _, _, kernels = prepare_splits(source, groups, splits, max_components=64,
                                                        train_targets=train_targets, with_kernels=True)
        start = ridge_start(kernels, train_x, train_targets, *_carve(1, 100))
        predictions.append(_start_prediction(start, test_x, start['every_new']))
    np.testing.assert_allclose(predictions[0].numpy(), predictions[1].numpy(), atol=1e-8)


def test_network_epoch_zero_is_the_start():
    # early stopping's epoch-0 candidate is the start (linear path alone plus the fixed part): its validation
    # error is the start's, and a fit stopped there predicts what the start predicts
    train_targets, (train_x, test_x, sizes, kept, kernels) = _spread_prepared(6, 3)
    config = network.NRPConfig(max_epochs=1, patience=1, learning_rate=1e-12, paper_candidate=False)
    params, layout, info = combination.train(train_x, train_targets, sizes, config, [1, 2, 3], 'cpu',
                                             dtype=torch.float64, linear_kernels=kernels)
    start = info['linear_start']
    on_rows = _start_prediction(start, train_x, start['every_rows'])
    for fit in range(3):
        fit_rows = set(start['fit_rows'][fit].tolist())
        validation = [position for position, row in enumerate(kernels.rows[fit].tolist()) if row not in fit_rows]
        start_mse = ((on_rows[fit][validation] - train_targets[fit][validation]) ** 2).mean()
        if info['best_epoch'][fit] == 0:
            assert info['best_validation_mse'][fit] == pytest.approx(float(start_mse), rel=1e-9)
        else:
            assert info['best_validation_mse'][fit] < float(start_mse)
    assert (info['best_epoch'] == 0).any()
    prediction = network.predict(params, layout, test_x, 'cpu', dtype=torch.float64)
    prediction = prediction + combination.new_row_offset(info, test_x)
    expected = _start_prediction(start, test_x, start['every_new'])
    for fit in np.flatnonzero(info['best_epoch'] == 0):
        np.testing.assert_allclose(prediction[fit].numpy(), expected[fit].numpy(), atol=1e-9)


@pytest.mark.parametrize('seed', [7, 8])
def test_regressor_predicts_new_rows_as_the_kernel_path_does(seed):
    # the estimator keeps ridge on every component in feature space; on rows it never saw it must predict what
    # the kernels over every row predict, and its fixed part must be the kernel path's
    features, targets, groups = _world(seed)
    regressor = NRPRegressor(groups=groups, max_epochs=2, patience=1, device='cpu',
                             max_components=64).fit(features[:100], targets[:100])
    kernels = regressor._kernels(features).with_rows(torch.arange(100)[None], torch.arange(100, 120)[None])
    standardised = torch.as_tensor((targets[:100] - regressor.target_mean_) / regressor.target_scale_)[None]
    inputs = regressor.reduction_.transform(features[:100])[None]
    offset = regressor.linear_offset_
    validation_rows = np.setdiff1d(np.arange(100), offset['fit_rows'].numpy())
    start = ridge_start(kernels, inputs, standardised, offset['fit_rows'][None], torch.as_tensor(validation_rows)[None])
    assert bool(start['every'][0]) == bool(offset['every'])
    new = torch.as_tensor(features[100:])
    in_feature_space = sum((new[:, groups == g] - mean) @ weights for g, (mean, weights) in enumerate(offset['groups']))
    np.testing.assert_allclose((in_feature_space + offset['intercept']).numpy(), start['every_new'][0].numpy(),
                               rtol=1e-6, atol=1e-8)
    new_inputs = regressor.reduction_.transform(features[100:])[None]
    expected = fixed_part(start, start['every_new'], new_inputs)[0].numpy()
    params = {name: value.double() for name, value in regressor.params_.items()}
    network_part = network.predict(params, regressor.layout_, new_inputs, 'cpu', dtype=torch.float64)[0].numpy()
    fixed = (regressor.predict(features[100:]) - regressor.target_mean_) / regressor.target_scale_ - network_part
    np.testing.assert_allclose(fixed, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('n_components, tolerance', [(3, 1e-6), (12, 0.03)])
def test_leading_scores_match_an_exact_pca_of_the_fit_rows(n_components, tolerance):
    # the randomised subspace iteration that decides the start finds the fit rows' own leading components:
    # the same scores (up to signs) on the fit and validation rows as scikit-learn's exact PCA; exactly for
    # components well above the noise, to about 1% for the last ones (variance 9 against a noise bulk that
    # reaches about 6.6 at this aspect ratio)
    from sklearn.decomposition import PCA
    from nrp_plugin.core.linear_start import _centred, _leading_scores
    rng = np.random.default_rng(n_components)
    spectrum = np.concatenate([np.geomspace(30, 3, 12), np.ones(188)])
    features = rng.standard_normal((160, 200)) * spectrum
    gram = torch.as_tensor(features @ features.T)
    fit, validation = torch.arange(40, 160), torch.arange(40)
    fit_scores, validation_scores = _leading_scores(_centred(gram, fit, fit), _centred(gram, validation, fit),
                                                    n_components, 'whiten')
    pca = PCA(n_components, whiten=True, svd_solver='full').fit(features[40:])
    for ours, exact in ((fit_scores, pca.transform(features[40:])), (validation_scores, pca.transform(features[:40]))):
        ours = ours.numpy()
        signs = np.sign((ours * exact).sum(axis=0))
        np.testing.assert_allclose(ours * signs, exact * np.sqrt(120 / 119), rtol=0, atol=tolerance)


def test_layer_weightings_start_equal_and_weigh_one_layer_at_a_time():
    weightings = layer_weightings(3)
    assert weightings.shape == (7, 3)
    np.testing.assert_array_equal(weightings[0], 1)
    np.testing.assert_allclose(weightings.sum(axis=1), 3)
    for row in weightings[1:]:  # one layer 10x heavier or lighter than the two others, which stay equal
        ratios = np.sort(row / np.median(row))
        assert np.allclose(ratios, [0.1, 1, 1]) or np.allclose(ratios, [1, 1, 10])
    assert layer_weightings(1).tolist() == [[1.0]]
    # two layers: one 10x the other, either way (a 0.1x weighting is the other one's 10x: penalties are relative)
    np.testing.assert_allclose(layer_weightings(2), [[1, 1], [20 / 11, 2 / 11], [2 / 11, 20 / 11]])


def _uneven_layers(seed, n=160):
    """A narrow layer that carries the sites' drive and a wide one with five times its variance that carries only a
    trace of it: one penalty for both layers either drowns the narrow one or under-regularises the wide one."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 8))
    narrow = latent @ rng.standard_normal((8, 12)) + 0.3 * rng.standard_normal((n, 12))
    wide = 0.2 * latent @ rng.standard_normal((8, 600)) + 1.5 * rng.standard_normal((n, 600))
    targets = latent @ rng.standard_normal((8, 4)) + 0.5 * rng.standard_normal((n, 4))
    return np.concatenate([narrow, wide], axis=1), targets, np.repeat([0, 1], [12, 600])


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_uneven_layers_start_from_banded_ridge(seed):
    features, targets, groups = _uneven_layers(seed)
    splits = [(np.arange(130), np.arange(130, 160))]
    train_targets = torch.as_tensor(targets[:130])[None]
    train_x, test_x, _, _, kernels = prepare_splits(features, groups, splits, max_components=64,
                                                    train_targets=train_targets, n_components='noise',
                                                    with_kernels=True)
    fit_index, validation_index = _carve(1, 130, 30)
    start = ridge_start(kernels, train_x, train_targets, fit_index, validation_index)
    kept_mse, equal_mse, banded_mse = start['validation_mse'][0].tolist()
    assert banded_mse < equal_mse
    assert bool(start['banded'][0]) == (banded_mse < min(kept_mse, equal_mse))
    # the narrow layer, which carries the drive, is weighed more than the wide one for every site
    weights = start['layer_weights'][0].numpy()
    assert (weights[0] > weights[1]).all()
    # and on the test rows the banded fit beats one penalty for both layers (scikit-learn's RidgeCV on the layers
    # scaled to unit total variance)
    fit_rows = splits[0][0][fit_index[0].numpy()]
    totals = start['group_totals'][0].numpy()
    scaled = np.concatenate([features[:, groups == g] / np.sqrt(totals[g]) for g in (0, 1)], axis=1)
    equal, _ = fit_predict_ridge(scaled[fit_rows], targets[fit_rows], scaled[130:])
    banded = start['every_new'][0].numpy()
    assert np.abs(banded - targets[130:]).mean() < np.abs(equal - targets[130:]).mean()
