"""Two references the NRP is held to, fitted with himalaya (gallantlab's encoding-model library): banded ridge and
RBF kernel ridge.

- **Banded ridge** (:func:`banded_ridge`): ridge on every non-zero principal component of every layer with one
  penalty per layer. In the stimulus-by-stimulus form this is kernel ridge on ``sum_g w_g K_g``, ``K_g`` the
  layer's centred linear kernel scaled to unit mean eigenvalue, with the layer weights ``w`` and each site's
  overall penalty chosen by cross-validation on the training stimuli only (himalaya's
  ``MultipleKernelRidgeCV``, random search over the weights; its first candidate is equal weights, which is
  ``nrp_ridge``'s single penalty). For one layer it is ridge with the penalty chosen by cross-validation, and
  only that first candidate is fitted (every weighting of one layer is the same).
- **RBF kernel ridge** (:func:`rbf_kernel_ridge`): kernel ridge with a Gaussian kernel on the NRP's prepared
  inputs, each site's penalty and one bandwidth per split chosen by cross-validation on the training stimuli
  (himalaya's ``KernelRidgeCV``, over a grid of bandwidths relative to the median squared distance between
  training stimuli).

Targets are standardised with the training rows' mean and standard deviation before fitting (each site weighs
the same in the choices), and predictions returned in the targets' units. himalaya runs on its torch back-end, on
the device of the inputs (CUDA when they are there). Nothing here reads a test row: test rows are only predicted.
"""
import contextlib

import numpy as np
import torch

__all__ = ['BANDED_CANDIDATES', 'BANDED_FOLDS', 'KERNEL_FOLDS', 'RBF_BANDWIDTHS', 'RELATIVE_ALPHAS',
           'banded_ridge', 'rbf_kernel_ridge']

#: Penalties tried, relative to the combined kernel's mean eigenvalue (the kernels are scaled so it is 1)
RELATIVE_ALPHAS = np.logspace(-6, 4, 21)
#: Layer weightings the banded ridge's random search tries (the first is equal weights)
BANDED_CANDIDATES = 10
BANDED_FOLDS = 3
#: RBF bandwidths tried: ``gamma = 1 / (factor * median squared distance between training stimuli)``
RBF_BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
KERNEL_FOLDS = 3


@contextlib.contextmanager
def _torch_backend(device):
    """himalaya's torch back-end (``torch_cuda`` for a CUDA device) for the block; the previous one after."""
    from himalaya.backend import get_backend, set_backend
    previous = get_backend().name
    set_backend('torch_cuda' if torch.device(device).type == 'cuda' else 'torch', on_error='raise')
    try:
        yield
    finally:
        set_backend(previous, on_error='warn')


def _standardised(targets):
    mean = targets.mean(dim=0, keepdim=True)
    std = targets.std(dim=0, unbiased=False, keepdim=True).clamp(min=1e-12)
    return (targets - mean) / std, mean, std


def banded_ridge(layer_kernels, train_targets, n_candidates=BANDED_CANDIDATES, folds=BANDED_FOLDS, random_state=0):
    """Banded ridge on every non-zero component of every layer of one split (see the module notes).

    Parameters
    ----------
    layer_kernels : list of (Tensor, Tensor, int), one per layer
        ``(train_kernel (n_train, n_train), cross_kernel (n_test, n_train), n_components)``: the layer's centred
        linear kernel on the split's training rows (``Z Z^T`` of its principal component scores ``Z``), its cross
        kernel with the test rows, and its number of non-zero components (the kernel's rank).
    train_targets : Tensor, shape (n_train, n_targets)

    Returns
    -------
    prediction : Tensor, shape (n_test, n_targets), float64
    info : dict
        ``layer_weights`` (n_layers, n_targets): each layer's kernel weight, ``relative_alpha`` (n_targets,).
    """
    from himalaya.kernel_ridge import MultipleKernelRidgeCV
    device = layer_kernels[0][0].device
    train_kernels, test_kernels = [], []
    for train_kernel, cross_kernel, rank in layer_kernels:
        # the layer's kernel scaled to unit mean non-zero eigenvalue (its trace over its rank)
        scale = float(torch.diagonal(train_kernel).sum()) / max(1, int(rank)) or 1.0
        train_kernels.append(train_kernel / scale)
        test_kernels.append(cross_kernel / scale)
    targets, mean, std = _standardised(train_targets.to(device=device, dtype=torch.float64))
    with _torch_backend(device):
        model = MultipleKernelRidgeCV(
            kernels='precomputed', solver='random_search', cv=folds, random_state=random_state,
            solver_params=dict(n_iter=n_candidates if len(layer_kernels) > 1 else 1, alphas=RELATIVE_ALPHAS,
                               progress_bar=False))
        model.fit(torch.stack(train_kernels), targets)
        prediction = torch.as_tensor(model.predict(torch.stack(test_kernels)), dtype=torch.float64, device=device)
        deltas = torch.as_tensor(model.deltas_, dtype=torch.float64)
    weights = torch.exp(deltas)
    return prediction.reshape(len(test_kernels[0]), -1) * std + mean, dict(
        layer_weights=(weights / weights.sum(dim=0, keepdim=True)).cpu().numpy(),
        relative_alpha=(1 / weights.sum(dim=0)).cpu().numpy())


def _centred(kernel, cross):
    """A training kernel centred in feature space on its rows (ridge with an intercept), and the new rows' cross
    kernel centred with the training rows' means."""
    column_mean = kernel.mean(dim=0, keepdim=True)
    total = column_mean.mean()
    return (kernel - column_mean - column_mean.T + total,
            cross - cross.mean(dim=1, keepdim=True) - column_mean + total)


def rbf_kernel_ridge(train_inputs, train_targets, test_inputs, bandwidths=RBF_BANDWIDTHS, folds=KERNEL_FOLDS):
    """RBF kernel ridge of one split (see the module notes).

    Parameters
    ----------
    train_inputs : Tensor, shape (n_train, n_inputs)
    train_targets : Tensor, shape (n_train, n_targets)
    test_inputs : Tensor, shape (n_test, n_inputs)

    Returns
    -------
    prediction : Tensor, shape (n_test, n_targets), float64
    info : dict
        ``bandwidth`` (the chosen factor of the median squared distance), ``gamma``, ``relative_alpha``
        (n_targets,: each site's penalty relative to ``kernel_scale``, the centred kernel's mean diagonal).
    """
    from himalaya.kernel_ridge import KernelRidgeCV
    device = train_inputs.device
    x_train = train_inputs.to(dtype=torch.float64)
    x_test = test_inputs.to(device=device, dtype=torch.float64)
    targets, mean, std = _standardised(train_targets.to(device=device, dtype=torch.float64))
    squared = torch.cdist(x_train, x_train) ** 2
    median = float(squared[torch.triu_indices(len(x_train), len(x_train), 1, device=device).unbind()].median())
    cross_squared = torch.cdist(x_test, x_train) ** 2
    best = None
    with _torch_backend(device):
        for factor in bandwidths:
            gamma = 1.0 / (factor * median) if median > 0 else 1.0
            kernel, cross = _centred(torch.exp(-gamma * squared), torch.exp(-gamma * cross_squared))
            model = KernelRidgeCV(alphas=RELATIVE_ALPHAS * float(torch.diagonal(kernel).mean()), kernel='precomputed',
                                  cv=folds, fit_intercept=False)
            model.fit(kernel, targets)
            score = float(torch.as_tensor(model.cv_scores_).mean())
            if best is None or score > best[0]:
                best = (score, factor, gamma, model, cross, float(torch.diagonal(kernel).mean()))
        _, factor, gamma, model, cross, scale = best
        prediction = torch.as_tensor(model.predict(cross), dtype=torch.float64, device=device)
        alphas = torch.as_tensor(model.best_alphas_, dtype=torch.float64).cpu().numpy() / scale
    return prediction.reshape(len(x_test), -1) * std + mean, dict(bandwidth=factor, gamma=gamma, relative_alpha=alphas,
                                                                    kernel_scale=scale)
