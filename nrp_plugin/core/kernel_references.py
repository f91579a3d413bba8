"""RBF kernel ridge, the nonlinear reference the NRP is held to.

Kernel ridge with a Gaussian kernel on the NRP's prepared inputs (:func:`rbf_kernel_ridge`), with an intercept
(the kernel centred in feature space on the training rows), one bandwidth per split and each site's penalty chosen
by exact leave-one-out on the training stimuli. The bandwidths are multiples of the median squared distance between
training stimuli (the median heuristic); the squared distances are computed once per split and serve every
bandwidth. Each kernel decomposed gives every penalty and every site's leave-one-out error at once
(:func:`nrp_plugin.core.ridge.eigen_ridge`).

The bandwidth is chosen on a fixed subset of the training rows (every ``k``-th, at most ``bandwidth_rows`` of
them): there every bandwidth of the grid is tried, and the one with the lowest leave-one-out error (mean over the
standardised sites, each at its best penalty) is kept. The penalties and the predictions then come from every
training row at that bandwidth: one decomposition of the full kernel per split, against one per bandwidth when the
choice reads every row (``bandwidth_rows=None``), whose answers the subset's approximate (docs/speed.md measures
the difference).

Targets are standardised with the training rows' mean and standard deviation before fitting (each site weighs
the same in the bandwidth's choice), and predictions returned in the targets' units. Everything runs on the
device of the inputs. Nothing here reads a test row: test rows are only predicted.
"""
import math

import numpy as np
import torch

from .ridge import eigen_ridge

__all__ = ['BANDWIDTH_ROWS', 'RBF_BANDWIDTHS', 'RELATIVE_ALPHAS', 'bandwidth_subset', 'rbf_kernel_ridge']

#: Penalties tried, relative to the centred kernel's mean non-zero eigenvalue
RELATIVE_ALPHAS = np.logspace(-6, 4, 21)
#: RBF bandwidths tried: ``gamma = 1 / (factor * median squared distance between training stimuli)``
RBF_BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: The most training rows the bandwidth is chosen on
BANDWIDTH_ROWS = 640


def _standardised(targets):
    mean = targets.mean(dim=0, keepdim=True)
    std = targets.std(dim=0, unbiased=False, keepdim=True).clamp(min=1e-12)
    return (targets - mean) / std, mean, std


def _centred(kernel, cross=None):
    """A training kernel centred in feature space on its rows (ridge with an intercept), and the new rows' cross
    kernel centred with the training rows' means."""
    column_mean = kernel.mean(dim=0, keepdim=True)
    total = column_mean.mean()
    centred = kernel - column_mean - column_mean.T + total
    if cross is None:
        return centred
    return centred, cross - cross.mean(dim=1, keepdim=True) - column_mean + total


def _eigen(kernel):
    """The centred kernel's eigenpairs, without those within the decomposition's rounding of zero (the constant
    vector's among them). An RBF kernel's small eigenvalues are real, and new rows' cross kernels reach their
    directions, so nothing larger is dropped."""
    eigenvalues, eigenvectors = torch.linalg.eigh((kernel + kernel.T) / 2)
    keep = eigenvalues > eigenvalues[-1].clamp(min=0) * len(eigenvalues) * torch.finfo(eigenvalues.dtype).eps
    return eigenvalues[keep], eigenvectors[:, keep]


def bandwidth_subset(n_train, bandwidth_rows=BANDWIDTH_ROWS):
    """Positions of the training rows the bandwidth is chosen on: every ``k``-th, ``k = ceil(n_train /
    bandwidth_rows)`` (every row when ``bandwidth_rows`` is None or at least ``n_train``)."""
    step = 1 if bandwidth_rows is None else max(1, math.ceil(n_train / int(bandwidth_rows)))
    return torch.arange(0, n_train, step)


def rbf_kernel_ridge(train_inputs, train_targets, test_inputs, bandwidths=RBF_BANDWIDTHS,
                     bandwidth_rows=BANDWIDTH_ROWS, search_dtype=None):
    """RBF kernel ridge of one split (see the module notes).

    Parameters
    ----------
    train_inputs : Tensor, shape (n_train, n_inputs)
    train_targets : Tensor, shape (n_train, n_targets)
    test_inputs : Tensor, shape (n_test, n_inputs)
    bandwidths : sequence of float
        The factors of the median squared distance tried.
    bandwidth_rows : int or None
        The most training rows the bandwidth is chosen on (:func:`bandwidth_subset`); None: every row.
    search_dtype : torch.dtype, optional
        The type of the penalty search (:func:`nrp_plugin.core.ridge.eigen_ridge`); float64 by default.

    Returns
    -------
    prediction : Tensor, shape (n_test, n_targets), float64
    info : dict
        ``bandwidth`` (the chosen factor of the median squared distance), ``gamma``, ``relative_alpha``
        (n_targets,: each site's penalty relative to ``kernel_scale``, the centred kernel's mean non-zero
        eigenvalue), ``loo_error`` (the fit's leave-one-out mean squared error on every training row, mean over the
        standardised sites), ``bandwidth_loo_errors`` (per bandwidth, the same on the rows the bandwidth was chosen
        on) and ``bandwidth_rows`` (how many rows those were).
    """
    device = train_inputs.device
    x_train = train_inputs.to(dtype=torch.float64)
    x_test = test_inputs.to(device=device, dtype=torch.float64)
    targets, mean, std = _standardised(train_targets.to(device=device, dtype=torch.float64))
    squared = torch.cdist(x_train, x_train) ** 2  # once per split, for every bandwidth
    median = float(squared[torch.triu_indices(len(x_train), len(x_train), 1, device=device).unbind()].median())
    gammas = [1.0 / (float(factor) * median) if median > 0 else 1.0 for factor in bandwidths]
    subset = bandwidth_subset(len(x_train), bandwidth_rows).to(device)
    every_row = len(subset) == len(x_train)
    chosen_squared = squared if every_row else squared[subset][:, subset]
    errors, fits = [], []
    for gamma in gammas:
        eigenvalues, eigenvectors = _eigen(_centred(torch.exp(-gamma * chosen_squared)))
        fit = eigen_ridge(eigenvalues, eigenvectors, targets[subset], RELATIVE_ALPHAS, search_dtype)
        errors.append(float(fit[3].mean()))
        if every_row:  # the fit itself serves the predictions
            fits.append((eigenvalues, fit))
        del eigenvectors
    best = min(range(len(gammas)), key=lambda index: (errors[index], index))  # of equal errors, the narrower
    gamma = gammas[best]
    kernel, cross = _centred(torch.exp(-gamma * squared), torch.exp(-gamma * torch.cdist(x_test, x_train) ** 2))
    if every_row:
        eigenvalues, (dual, intercept, alphas, loo_error, _) = fits[best]
    else:
        eigenvalues, eigenvectors = _eigen(kernel)
        dual, intercept, alphas, loo_error, _ = eigen_ridge(eigenvalues, eigenvectors, targets, RELATIVE_ALPHAS,
                                                            search_dtype)
    prediction = (cross @ dual + intercept).reshape(len(x_test), -1) * std + mean
    return prediction, dict(bandwidth=float(bandwidths[best]), gamma=gamma, relative_alpha=alphas,
                            kernel_scale=float(eigenvalues.sum()) / max(1, len(eigenvalues)) or 1.0,
                            loo_error=float(loo_error.mean()), bandwidth_loo_errors=errors,
                            bandwidth_rows=len(subset))
