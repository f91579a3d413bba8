"""The NRP linear path's starting point: ridge on the kept components, or ridge on every component.

The NRP-L1 blocks read only a layer's kept principal components (:mod:`.reduction`). A linear map can use
more: on a wide layer with a power-law spectrum, components far below the noise threshold still carry
linearly useful signal, and ridge on all of them is clearly better than ridge on the kept ones (the
validity sweep's ``pca_lin_pow``, docs/validity.md). Elsewhere the kept components are the better basis
(``lin_r64_flat``: least squares on them beats ridge on every component). So each fit compares the two on its
validation rows (:func:`ridge_start`) and its linear path starts from the better one. Ridge on every component
is split in two:

- its weights on the kept components, the inputs the network sees, start the trained linear path;
- the part carried by every other component is held fixed: its prediction on a row (:func:`fixed_part`) is
  subtracted from the training targets and added back to the predictions.

At the start, linear path plus fixed part predict exactly what the chosen ridge predicts (penalty per target
by leave-one-out on the fit rows), and early stopping's epoch-0 candidate is that ridge. The fixed part costs
the training nothing: no product with the other components is ever formed. Ridge on every component is
ridge in the layers' kernel (each layer scaled to unit total variance, as ``nrp_ridge`` does), so this needs
only each layer's stimulus-by-stimulus Gram matrix (:class:`GroupKernels`), which the input preparation has
already formed.
"""
import numpy as np
import torch

from .kernels import RELATIVE_ZERO, GroupKernels
from .reduction import scale_divisors
from .ridge import column_ridge, kernel_ridge

_TIE = 1e-6  # validation errors closer than this (relative) are a tie, decided for the kept components


def _centred(gram, rows, fit):
    """``(x_rows - m)(x_fit - m)^T`` for every pair, ``m`` the mean over the fit rows, from ``gram``."""
    fit_block = gram[fit][:, fit]
    column_mean = fit_block.mean(dim=0)
    block = gram[rows][:, fit]
    return block - block.mean(dim=1, keepdim=True) - column_mean + column_mean.mean()


def ridge_start(kernels, inputs, targets, fit_index, validation_index):
    """The linear path's starting weights and the fixed part, per fit (see the module notes).

    Two ridge fits are made on the fit rows, each target's penalty by leave-one-out: on the kept components
    alone and on every component of every layer. A fit starts from the one with the lower mean squared error
    on its validation rows. That comparison refits the kept components' PCA on the fit rows alone: the
    prepared inputs come from a PCA of all training rows, which on a wide, noisy layer makes those rows'
    errors look far smaller than a new row's (on the validity sweep's ``pca_lin_pow``, a leave-one-out error
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
        ``every`` (S, 1), bool: the fits that start from ridge on every component.
        ``every_rows`` (S, n_rows, n_targets) and ``every_new`` (S, n_new, n_targets): that ridge's predictions
        on the training rows (on a fit row, its leave-one-out prediction) and the new rows; a row's fixed part is
        ``every * (every_ - start)`` (:func:`fixed_part`). ``validation_mse`` (S, 2): the two ridge fits' validation errors (kept
        components, every component). ``relative_alpha`` (S, n_targets), numpy: the penalties of the ridge
        each fit starts from; ``every_alpha`` those of ridge on every component. To predict rows outside the kernels (the estimator's new data): ``dual``
        (S, n_fit, n_targets), ``intercept`` (S, n_targets), ``fit_rows`` (S, n_fit, universe indices) and
        ``group_totals`` (S, n_groups): ridge on every component predicts
        ``sum_g (x_g - mean_g) (X_g[fit_rows] - mean_g)^T dual / total_g + intercept``, ``mean_g`` the group's
        mean over the fit rows.
    """
    device = kernels.grams[0].device
    offsets = np.concatenate([[0], np.cumsum(kernels.group_sizes)]).astype(int)
    out = {name: [] for name in ('w_linear', 'b_linear', 'every', 'every_rows', 'every_new', 'validation_mse',
                                 'relative_alpha', 'every_alpha', 'dual', 'intercept', 'fit_rows', 'group_totals')}
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
        kernel_fit, kernel_every = 0, 0
        column_factor = torch.zeros(len(scales), dtype=torch.float64, device=device)
        totals, kept_fit, kept_validation = [], [], []
        for group, gram in enumerate(kernels.grams):
            gram = gram.to(dtype=torch.float64)
            centred_fit = _centred(gram, fit_rows, fit_rows)
            total = float(torch.diagonal(centred_fit).sum()) / len(fit_rows) or 1.0  # the group's total variance
            totals.append(total)
            kernel_fit = kernel_fit + centred_fit / total
            kernel_every = kernel_every + _centred(gram, every, fit_rows) / total
            columns = slice(offsets[group], offsets[group + 1])
            column_factor[columns] = scales[columns] / total
            n_kept = int((scales[columns] > 0).sum())
            train_scores, validation_scores = _leading_scores(centred_fit, _centred(gram, validation_rows, fit_rows),
                                                              n_kept, kernels.scaling)
            kept_fit.append(train_scores)
            kept_validation.append(validation_scores)
        # ridge on every component, and its weights on the kept components in the inputs' units
        dual, intercept, alpha, _, loo = kernel_ridge(kernel_fit, fit_targets)
        prediction = kernel_every @ dual + intercept
        every_weights = column_factor[:, None] * (centred_inputs.T @ dual)
        # ridge on the kept components alone
        inputs_dual, inputs_intercept, inputs_alpha, _, _ = column_ridge(centred_inputs, fit_targets)
        # the two compared on the validation rows, the kept components' PCA refitted on the fit rows
        every_mse = float(((prediction[validation_at] - validation_targets) ** 2).mean())
        kept_mse = _kept_validation_mse(torch.cat(kept_fit, dim=1), torch.cat(kept_validation, dim=1), fit_targets,
                                        validation_targets)
        # a tie (nothing outside the inputs: the two ridge maps are one) keeps the kept components, whatever the
        # rounding; the order of the source's rows must not decide it
        uses_every = torch.tensor([every_mse < kept_mse * (1 - _TIE)], device=device)
        weights = every_weights if uses_every else centred_inputs.T @ inputs_dual
        base = intercept if uses_every else inputs_intercept
        out['w_linear'].append(weights)
        out['b_linear'].append(base - fit_inputs.mean(dim=0) @ weights)
        out['every'].append(uses_every)
        # on the fit rows, each row's prediction without it: an in-sample fit of thousands of components leaves
        # residuals far smaller than a new row's, and the network, which learns what the fixed part leaves,
        # would learn from those
        on_rows = prediction[:len(rows)].clone()
        on_rows[fit_at] = loo
        out['every_rows'].append(on_rows)
        out['every_new'].append(prediction[len(rows):])
        out['validation_mse'].append(torch.tensor([kept_mse, every_mse], dtype=torch.float64))
        out['relative_alpha'].append(alpha if uses_every else inputs_alpha)
        out['every_alpha'].append(alpha)
        out['dual'].append(dual)
        out['intercept'].append(intercept)
        out['fit_rows'].append(fit_rows)
        out['group_totals'].append(torch.tensor(totals, dtype=torch.float64))
    result = {name: torch.stack(values) for name, values in out.items() if not name.endswith('alpha')}
    result['relative_alpha'], result['every_alpha'] = np.stack(out['relative_alpha']), np.stack(out['every_alpha'])
    return result


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
