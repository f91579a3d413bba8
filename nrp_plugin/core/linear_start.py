"""The NRP linear path's starting point: ridge on the kept components, or ridge on every component (one penalty for
all layers, or one weight per layer).

The NRP-L1 blocks read only a layer's kept principal components (:mod:`.reduction`). A linear map can use
more: on a wide layer with a power-law spectrum, components far below the noise threshold still carry
linearly useful signal, and ridge on all of them is clearly better than ridge on the kept ones (the
validity sweep's ``pca_lin_pow``, docs/validity.md). Elsewhere the kept components are the better basis
(``lin_r64_flat``: least squares on them beats ridge on every component). Where layers differ in how much of their
variance predicts the sites, one penalty for all of them is a poor compromise, and a weight per layer in the kernel
(banded ridge) does better (``lin_r32_pow_3L``). So each fit compares three ridge fits on its validation rows
(:func:`ridge_start`) and its linear path starts from the best one: on the kept components, on every component with
every layer weighed the same, and on every component with each site's layer weights chosen among
:func:`layer_weightings` by leave-one-out on the fit rows. Ridge on every component is split in two:

- its weights on the kept components, the inputs the network sees, start the trained linear path;
- the part carried by every other component is held fixed: its prediction on a row (:func:`fixed_part`) is
  subtracted from the training targets and added back to the predictions.

At the start, linear path plus fixed part predict exactly what the chosen ridge predicts (penalty per target
by leave-one-out on the fit rows), and early stopping's epoch-0 candidate is that ridge. The fixed part costs
the training nothing: no product with the other components is ever formed. Ridge on every component is
ridge in the layers' kernel ``sum_g w_g K_g / total_g`` (each layer scaled to unit total variance, as ``nrp_ridge``
does, then weighed by ``w_g``), so this needs only each layer's stimulus-by-stimulus Gram matrix
(:class:`GroupKernels`), which the input preparation has already formed; each layer weighting costs one
eigendecomposition of the fit rows' kernel.
"""
import numpy as np
import torch

from .kernels import RELATIVE_ZERO
from .reduction import scale_divisors
from .ridge import SEARCH_DTYPE, column_ridge, dual_ridge

_TIE = 1e-6  # validation errors closer than this (relative) are a tie, decided for the simpler ridge
#: How much heavier (and lighter) than the others one layer is weighed in the banded candidates
LAYER_WEIGHT_RATIOS = (10.0, 0.1)


def layer_weightings(n_groups, ratios=LAYER_WEIGHT_RATIOS):
    """The layer weightings the banded start chooses among, first the equal one.

    Equal weights, then for each layer each of ``ratios`` times the weight of every other layer, each weighting
    once (ridge's penalties are relative to its kernel's scale, so only the weights' ratios count): ``1 + 2 G``
    weightings for ``G > 2`` layers, 3 for two, and only the equal one for a single layer, where a weight changes
    nothing.

    Returns
    -------
    ndarray, shape (n_weightings, n_groups)
        Each row sums to ``n_groups`` (the equal weighting is all ones).
    """
    rows = [np.ones(n_groups)]
    if n_groups > 1:
        for group in range(n_groups):
            for ratio in ratios:
                row = np.ones(n_groups)
                row[group] = ratio
                row = row * n_groups / row.sum()
                if not any(np.allclose(row, seen) for seen in rows):
                    rows.append(row)
    return np.stack(rows)


def _centred(gram, rows, fit):
    """``(x_rows - m)(x_fit - m)^T`` for every pair, ``m`` the mean over the fit rows, from ``gram``."""
    fit_block = gram[fit][:, fit]
    column_mean = fit_block.mean(dim=0)
    block = gram[rows][:, fit]
    return block - block.mean(dim=1, keepdim=True) - column_mean + column_mean.mean()


def ridge_start(kernels, inputs, targets, fit_index, validation_index):
    """The linear path's starting weights and the fixed part, per fit (see the module notes).

    Three ridge fits are made on the fit rows, each target's penalty by leave-one-out: on the kept components
    alone, on every component of every layer weighed the same, and on every component with each target's layer
    weights chosen among :func:`layer_weightings` by leave-one-out (banded). A fit starts from the one with the
    lowest mean squared error on its validation rows. That comparison refits the kept components' PCA on the fit
    rows alone: the prepared inputs come from a PCA of all training rows, which on a wide, noisy layer makes those
    rows' errors look far smaller than a new row's (on the validity sweep's ``pca_lin_pow``, a leave-one-out error
    of 0.22 for a test error of 0.32, in units of the targets' variance). Ridge on every component has no such
    bias: its kernel does not depend on the rows it is fitted on.

    Parameters
    ----------
    kernels : GroupKernels
        For these ``S`` fits.
    inputs : Tensor, shape (S, n_rows, n_inputs)
        The prepared inputs of each fit's training rows.
    targets : Tensor, shape (S, n_rows, n_targets)
    fit_index, validation_index : Tensor of int, shapes (S, n_fit) and (S, n_validation)
        Positions, among the training rows, of the rows the ridge fits are fitted and compared on.

    Returns
    -------
    dict, float64 tensors
        ``w_linear`` (S, n_inputs, n_targets) and ``b_linear`` (S, n_targets): the start on the inputs.
        ``every`` (S, 1), bool: the fits that start from ridge on every component; ``banded`` (S, 1), bool: those
        of them that start from its banded form. ``validation_mse`` (S, 3): the validation errors of the three ridge
        fits (kept components, every component weighed the same, banded).
        Ridge on every component below is the banded one where it validates better than the equal weighting, the
        equal one otherwise. ``every_rows`` (S, n_rows, n_targets) and ``every_new`` (S, n_new, n_targets): its
        predictions on the training rows (on a fit row, its leave-one-out prediction) and the new rows; a row's fixed
        part is ``every * (every_ - start)`` (:func:`fixed_part`). ``relative_alpha`` (S, n_targets), numpy: the
        penalties of the ridge each fit starts from; ``every_alpha`` those of ridge on every component. To predict
        rows outside the kernels (the estimator's new data): ``dual`` (S, n_fit, n_targets), ``intercept``
        (S, n_targets), ``layer_weights`` (S, n_groups, n_targets), ``fit_rows`` (S, n_fit, universe indices) and
        ``group_totals`` (S, n_groups): ridge on every component predicts
        ``sum_g layer_weights_g (x_g - mean_g) (X_g[fit_rows] - mean_g)^T dual / total_g + intercept``, ``mean_g``
        the group's mean over the fit rows.
    """
    device = kernels.grams[0].device
    offsets = np.concatenate([[0], np.cumsum(kernels.group_sizes)]).astype(int)
    out = {name: [] for name in ('w_linear', 'b_linear', 'every', 'banded', 'every_rows', 'every_new',
                                 'validation_mse', 'relative_alpha', 'every_alpha', 'dual', 'intercept',
                                 'layer_weights', 'fit_rows', 'group_totals')}
    for fit in range(inputs.shape[0]):
        fit_at, validation_at = fit_index[fit].to(device), validation_index[fit].to(device)
        rows = kernels.rows[fit].to(device)
        fit_rows, validation_rows = rows[fit_at], rows[validation_at]
        every = torch.cat([rows, kernels.new_rows[fit].to(device)])
        fit_inputs = inputs[fit].to(device=device, dtype=torch.float64)[fit_at]
        centred_inputs = fit_inputs - fit_inputs.mean(dim=0)
        fit_targets = targets[fit].to(device=device, dtype=torch.float64)[fit_at]
        validation_targets = targets[fit].to(device=device, dtype=torch.float64)[validation_at]
        scales = kernels.input_scales[fit].to(device=device, dtype=torch.float64)
        group_fit, group_every = [], []
        column_factor = torch.zeros(len(scales), dtype=torch.float64, device=device)
        totals, kept_fit, kept_validation = [], [], []
        for group, gram in enumerate(kernels.grams):
            gram = gram.to(dtype=torch.float64)
            centred_fit = _centred(gram, fit_rows, fit_rows)
            total = float(torch.diagonal(centred_fit).sum()) / len(fit_rows) or 1.0  # the group's total variance
            totals.append(total)
            group_fit.append(centred_fit / total)
            group_every.append(_centred(gram, every, fit_rows) / total)
            columns = slice(offsets[group], offsets[group + 1])
            column_factor[columns] = scales[columns] / total
            n_kept = int((scales[columns] > 0).sum())
            train_scores, validation_scores = _leading_scores(centred_fit, _centred(gram, validation_rows, fit_rows),
                                                              n_kept, kernels.scaling)
            kept_fit.append(train_scores)
            kept_validation.append(validation_scores)
        # ridge on every component, every layer weighed the same, then with each site's layer weights of the
        # banded candidates (the equal weighting among them)
        equal, banded = _weighted_ridge(group_fit, group_every, fit_targets, layer_weightings(len(group_fit)))
        # ridge on the kept components alone
        inputs_dual, inputs_intercept, inputs_alpha, _, _ = column_ridge(centred_inputs, fit_targets)
        # the three compared on the validation rows, the kept components' PCA refitted on the fit rows
        kept_mse = _kept_validation_mse(torch.cat(kept_fit, dim=1), torch.cat(kept_validation, dim=1), fit_targets,
                                        validation_targets)
        equal_mse, banded_mse = (float(((ridge['prediction'][validation_at] - validation_targets) ** 2).mean())
                                 for ridge in (equal, banded))
        # a tie (nothing outside the inputs: the ridge maps are one; no layer weighting better than the equal one)
        # keeps the simpler ridge, whatever the rounding; the order of the source's rows must not decide it
        uses_banded = banded_mse < equal_mse * (1 - _TIE)
        ridge, every_mse = (banded, banded_mse) if uses_banded else (equal, equal_mse)
        uses_every = torch.tensor([every_mse < kept_mse * (1 - _TIE)], device=device)
        # the chosen ridge's weights on the kept components, in the inputs' units
        every_weights = torch.zeros(len(scales), fit_targets.shape[1], dtype=torch.float64, device=device)
        for group in range(len(group_fit)):
            columns = slice(offsets[group], offsets[group + 1])
            every_weights[columns] = column_factor[columns, None] * (
                centred_inputs[:, columns].T @ (ridge['dual'] * ridge['layer_weights'][group]))
        weights = every_weights if uses_every else centred_inputs.T @ inputs_dual
        base = ridge['intercept'] if uses_every else inputs_intercept
        out['w_linear'].append(weights)
        out['b_linear'].append(base - fit_inputs.mean(dim=0) @ weights)
        out['every'].append(uses_every)
        out['banded'].append(torch.tensor([bool(uses_every) and uses_banded], device=device))
        # on the fit rows, each row's prediction without it: an in-sample fit of thousands of components leaves
        # residuals far smaller than a new row's, and the network, which learns what the fixed part leaves,
        # would learn from those
        on_rows = ridge['prediction'][:len(rows)].clone()
        on_rows[fit_at] = ridge['loo']
        out['every_rows'].append(on_rows)
        out['every_new'].append(ridge['prediction'][len(rows):])
        out['validation_mse'].append(torch.tensor([kept_mse, equal_mse, banded_mse], dtype=torch.float64))
        out['relative_alpha'].append(ridge['alpha'] if uses_every else inputs_alpha)
        out['every_alpha'].append(ridge['alpha'])
        out['dual'].append(ridge['dual'])
        out['intercept'].append(ridge['intercept'])
        out['layer_weights'].append(ridge['layer_weights'])
        out['fit_rows'].append(fit_rows)
        out['group_totals'].append(torch.tensor(totals, dtype=torch.float64))
    result = {name: torch.stack(values) for name, values in out.items() if not name.endswith('alpha')}
    result['relative_alpha'], result['every_alpha'] = np.stack(out['relative_alpha']), np.stack(out['every_alpha'])
    return result


def _weighted_ridge(group_fit, group_every, fit_targets, weightings):
    """Ridge on every component in the kernel ``sum_g w_g K_g``, each site's weighting among ``weightings`` and
    penalty chosen together by leave-one-out on the fit rows (of equal errors, the earlier weighting); the penalty
    search in :data:`nrp_plugin.core.ridge.SEARCH_DTYPE`, each weighting's leave-one-out errors in float64.

    Parameters
    ----------
    group_fit : list of Tensor, each (n_fit, n_fit)
        Each layer's kernel over the fit rows, centred on them and scaled to unit total variance.
    group_every : list of Tensor, each (n_every, n_fit)
        The same layer's kernel between every row (training rows, then new rows) and the fit rows.
    fit_targets : Tensor, shape (n_fit, n_targets)
    weightings : ndarray, shape (n_weightings, n_groups)

    Returns
    -------
    first, best : dict
        Ridge with the first weighting, and with each site's best. ``dual`` (n_fit, n_targets) and ``intercept``
        (n_targets,): each site's prediction on a row is
        ``sum_g layer_weights[g] * K_g(row, fit rows) @ dual + intercept``; ``layer_weights`` (n_groups, n_targets);
        ``alpha`` (n_targets,), numpy, relative to the chosen kernel's mean non-zero eigenvalue; ``prediction``
        (n_every, n_targets) and ``loo`` (n_fit, n_targets), each fit row's leave-one-out prediction.
    """
    best = None
    for weighting in weightings:
        kernel = sum(float(weight) * block for weight, block in zip(weighting, group_fit))
        dual, intercept, alpha, loo_error, loo = dual_ridge(kernel, fit_targets, search_dtype=SEARCH_DTYPE)
        layer_weights = torch.as_tensor(weighting, dtype=torch.float64, device=dual.device)[:, None].expand(
            -1, fit_targets.shape[1])
        current = dict(dual=dual, intercept=intercept, alpha=torch.as_tensor(alpha), loo_error=loo_error, loo=loo,
                       layer_weights=layer_weights)
        if best is None:
            first = best = current
            continue
        better = loo_error < best['loo_error']
        best = {name: torch.where(better.to(value.device) if name != 'alpha' else better.cpu(),
                                  current[name], value) for name, value in best.items()}
    out = []
    for ridge in (first, best):
        ridge = {name: value.numpy() if name == 'alpha' else value for name, value in ridge.items()
                 if name != 'loo_error'}
        # each site's prediction from its own weighting's dual: sum_g w_g K_g(rows, fit rows) @ dual + intercept
        ridge['prediction'] = sum(block @ (ridge['dual'] * weights)
                                  for block, weights in zip(group_every, ridge['layer_weights'])) + ridge['intercept']
        out.append(ridge)
    return tuple(out)


def _leading_scores(centred_fit, centred_validation, n_components, scaling, seed=0):
    """The ``n_components`` leading principal components of the fit rows (from their centred kernel) on the fit
    and validation rows, scaled as the prepared inputs are.

    They only decide which ridge a fit starts from, so they come from a randomised subspace iteration (Halko,
    Martinsson & Tropp 2011; a fixed seed, 10 extra vectors, 4 power iterations): a few products with the
    kernel instead of its full eigendecomposition, which at 2,560 stimuli costs seconds per layer and fit.
    """
    n = centred_fit.shape[0]
    width = min(n, n_components + 10)
    generator = torch.Generator().manual_seed(seed)
    basis = torch.randn(n, width, generator=generator, dtype=torch.float64).to(centred_fit.device)
    for _ in range(5):
        basis, _ = torch.linalg.qr(centred_fit @ basis)
    small = basis.T @ centred_fit @ basis
    eigenvalues, rotation = torch.linalg.eigh((small + small.T) / 2)
    eigenvalues, eigenvectors = eigenvalues.flip(0)[:n_components], (basis @ rotation).flip(1)[:, :n_components]
    keep = eigenvalues > eigenvalues[0].clamp(min=1e-300) * RELATIVE_ZERO
    eigenvalues, eigenvectors = eigenvalues[keep], eigenvectors[:, keep]
    roots = eigenvalues.sqrt()
    variances = eigenvalues / n
    divisors = scale_divisors(variances, scaling)
    return eigenvectors * roots / divisors, centred_validation @ eigenvectors / roots / divisors


def _kept_validation_mse(fit_scores, validation_scores, fit_targets, validation_targets):
    """Validation error of ridge (penalty per target by leave-one-out) on the fit rows' own components."""
    mean = fit_scores.mean(dim=0)
    dual, intercept, _, _, _ = column_ridge(fit_scores - mean, fit_targets)
    prediction = (validation_scores - mean) @ ((fit_scores - mean).T @ dual) + intercept
    return float(((prediction - validation_targets) ** 2).mean())


def fixed_part(start, every_prediction, inputs):
    """The fixed part on some rows: ridge on every component minus the linear path's start, for the targets
    that start from it (zero for the others).

    Parameters
    ----------
    start : dict
        :func:`ridge_start`'s result.
    every_prediction : Tensor, shape (S, n, n_targets)
        Ridge on every component's prediction on those rows (``start['every_rows']`` or ``['every_new']``).
    inputs : Tensor, shape (S, n, n_inputs)
        The rows' prepared inputs.

    Returns
    -------
    Tensor, shape (S, n, n_targets), float64
    """
    weights = start['w_linear']
    linear = torch.baddbmm(start['b_linear'][:, None], inputs.to(weights), weights)
    return torch.where(start['every'][:, None], every_prediction.to(linear) - linear, torch.zeros_like(linear))
