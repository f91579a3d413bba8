"""RBF kernel ridge, the nonlinear reference the NRP is held to.

Kernel ridge with a Gaussian kernel on the NRP's prepared inputs (:func:`rbf_kernel_ridge`), with an intercept
(the kernel centred in feature space on the training rows), each site's penalty and one bandwidth per split chosen
by exact leave-one-out on the training stimuli. The bandwidths are multiples of the median squared distance between
training stimuli (the median heuristic); the squared distances are computed once per split, and each bandwidth
tried costs one eigendecomposition of the training rows' centred kernel, from which every penalty and every site's
leave-one-out error follow (:func:`nrp_plugin.core.ridge.eigen_ridge`).

The bandwidth is searched from the median outwards (``search='walk'``): the median's bandwidth and its two
neighbours on the grid are tried, then the search steps towards the better neighbour until a bandwidth is better
than both of its own. Where the leave-one-out error over the grid has one minimum this is the grid's best
bandwidth, found with three to five decompositions instead of seven; ``search='grid'`` tries every one.

Targets are standardised with the training rows' mean and standard deviation before fitting (each site weighs
the same in the bandwidth's choice), and predictions returned in the targets' units. Everything runs on the
device of the inputs. Nothing here reads a test row: test rows are only predicted.
"""
import numpy as np
import torch

from .ridge import eigen_ridge

__all__ = ['RBF_BANDWIDTHS', 'RBF_SEARCHES', 'RELATIVE_ALPHAS', 'rbf_kernel_ridge']

#: Penalties tried, relative to the centred kernel's mean non-zero eigenvalue
RELATIVE_ALPHAS = np.logspace(-6, 4, 21)
#: RBF bandwidths tried: ``gamma = 1 / (factor * median squared distance between training stimuli)``
RBF_BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: How the bandwidth grid is searched (see the module notes)
RBF_SEARCHES = ('walk', 'grid')


def _standardised(targets):
    mean = targets.mean(dim=0, keepdim=True)
    std = targets.std(dim=0, unbiased=False, keepdim=True).clamp(min=1e-12)
    return (targets - mean) / std, mean, std


def _centred(kernel, cross):
    """A training kernel centred in feature space on its rows (ridge with an intercept), and the new rows' cross
    kernel centred with the training rows' means."""
    column_mean = kernel.mean(dim=0, keepdim=True)
    total = column_mean.mean()
    return (kernel - column_mean - column_mean.T + total,
            cross - cross.mean(dim=1, keepdim=True) - column_mean + total)


def _walk(score, n, start):
    """The grid index a descent from ``start`` ends at: move to the better neighbour until neither is better (of
    equal scores, the smaller index). ``score(index)`` is called at most once per index."""
    seen = {}

    def value(index):
        if index not in seen:
            seen[index] = score(index)
        return seen[index]

    current = start
    while True:
        candidates = [index for index in (current - 1, current, current + 1) if 0 <= index < n]
        best = min(candidates, key=lambda index: (value(index), index))
        if best == current:
            return current
        current = best


def rbf_kernel_ridge(train_inputs, train_targets, test_inputs, bandwidths=RBF_BANDWIDTHS, search='walk',
                     search_dtype=None):
    """RBF kernel ridge of one split (see the module notes).

    Parameters
    ----------
    train_inputs : Tensor, shape (n_train, n_inputs)
    train_targets : Tensor, shape (n_train, n_targets)
    test_inputs : Tensor, shape (n_test, n_inputs)
    bandwidths : sequence of float, ascending
        The factors of the median squared distance tried.
    search : {'walk', 'grid'}
        From the median's bandwidth (factor 1, or the grid's middle without it) to the nearest local minimum of
        the leave-one-out error, or every bandwidth.
    search_dtype : torch.dtype, optional
        The type of the penalty search (:func:`nrp_plugin.core.ridge.eigen_ridge`); float64 by default.

    Returns
    -------
    prediction : Tensor, shape (n_test, n_targets), float64
    info : dict
        ``bandwidth`` (the chosen factor of the median squared distance), ``gamma``, ``relative_alpha``
        (n_targets,: each site's penalty relative to ``kernel_scale``, the centred kernel's mean non-zero
        eigenvalue), ``loo_error`` (the chosen bandwidth's leave-one-out mean squared error, mean over the
        standardised sites) and ``bandwidths_tried`` (the factors whose kernels were decomposed, in grid order).
    """
    if search not in RBF_SEARCHES:
        raise ValueError(f"search={search!r} must be one of {RBF_SEARCHES}.")
    device = train_inputs.device
    x_train = train_inputs.to(dtype=torch.float64)
    x_test = test_inputs.to(device=device, dtype=torch.float64)
    targets, mean, std = _standardised(train_targets.to(device=device, dtype=torch.float64))
    squared = torch.cdist(x_train, x_train) ** 2  # once per split, for every bandwidth
    median = float(squared[torch.triu_indices(len(x_train), len(x_train), 1, device=device).unbind()].median())
    cross_squared = torch.cdist(x_test, x_train) ** 2
    fits = {}

    def fit(index):
        factor = float(bandwidths[index])
        gamma = 1.0 / (factor * median) if median > 0 else 1.0
        kernel, cross = _centred(torch.exp(-gamma * squared), torch.exp(-gamma * cross_squared))
        # an RBF kernel's small eigenvalues are real, and the test rows' cross kernel reaches their directions: only
        # those within the decomposition's rounding of zero are dropped (the constant vector's among them)
        eigenvalues, eigenvectors = torch.linalg.eigh((kernel + kernel.T) / 2)
        keep = eigenvalues > eigenvalues[-1].clamp(min=0) * len(eigenvalues) * torch.finfo(eigenvalues.dtype).eps
        eigenvalues, eigenvectors = eigenvalues[keep], eigenvectors[:, keep]
        del kernel
        dual, intercept, alphas, loo_error, _ = eigen_ridge(eigenvalues, eigenvectors, targets, RELATIVE_ALPHAS,
                                                            search_dtype)
        fits[index] = dict(bandwidth=factor, gamma=gamma, prediction=cross @ dual + intercept, relative_alpha=alphas,
                           kernel_scale=float(eigenvalues.sum()) / max(1, len(eigenvalues)) or 1.0,
                           loo_error=float(loo_error.mean()))
        return fits[index]['loo_error']

    if search == 'grid':
        chosen = min(range(len(bandwidths)), key=lambda index: (fit(index), index))
    else:
        start = list(bandwidths).index(1.0) if 1.0 in bandwidths else len(bandwidths) // 2
        chosen = _walk(fit, len(bandwidths), start)
    best = fits[chosen]
    prediction = best.pop('prediction').reshape(len(x_test), -1) * std + mean
    best['bandwidths_tried'] = [float(bandwidths[index]) for index in sorted(fits)]
    return prediction, best
