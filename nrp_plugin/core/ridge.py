"""Ridge regression with an intercept, each target's penalty chosen by exact leave-one-out on the rows it is fitted
on, so no test row is ever seen.

One implementation serves every ridge of the package: :func:`eigen_ridge`, in the eigenbasis of the fit rows'
centred kernel ``Xc Xc^T``, every penalty and every target from that one eigendecomposition. The basis comes from a
(linear) kernel (:func:`kernel_eigen`; :func:`dual_ridge`, the dual form: the linear path's ridge on every component
of every layer, :mod:`.linear_start`, and :func:`fit_predict_dual_ridge`), from principal component scores without a
decomposition (:func:`scores_eigen`; the ``nrp_ridge`` and ``nrp_banded_ridge`` references,
:class:`nrp_plugin.mappings.SplitPieces`), or from centred columns (:func:`column_ridge`); :func:`fit_predict_ridge`
and :func:`ridge_coefficients` (the linear path's start on the inputs) take features. It computes what
scikit-learn's ``RidgeCV(alphas, alpha_per_target=True)`` computes, and what himalaya's ``KernelRidgeCV`` computes
with one cross-validation fold per training row (the tests compare all three). himalaya has no closed-form
leave-one-out: it refits once per left-out row, ``n`` eigendecompositions of the fold kernels where this module
needs one, so this closed form is kept for every ridge of the package.

:func:`eigen_ridge`, :func:`kernel_eigen`, :func:`scores_eigen`, :func:`dual_ridge` and :func:`column_ridge` run on
the device and in the type of their inputs (a GPU's, in float64, for the references); :func:`fit_predict_ridge`,
:func:`fit_predict_dual_ridge` and :func:`ridge_coefficients` in float64 on the CPU. The penalty search alone may run
in float32 (``search_dtype``), written so that no small quantity is the difference of two large ones; the
eigendecomposition, the coefficients and the chosen penalties' leave-one-out residuals and errors stay in the inputs'
type. The package's own fits search in :data:`SEARCH_DTYPE` (float32): the references (ridge, banded ridge and
RBF kernel ridge), the NRP's linear start and the layer choice; the functions here, called without it, search in
their inputs' type.

The penalty grid is relative to the inputs' scale, the mean non-zero eigenvalue of the centred ``X X^T`` (equal
to that of ``X^T X``), which makes it independent of the features' units.
"""
import numpy as np
import torch

from .kernels import RELATIVE_ZERO

#: Penalties tried, relative to the mean non-zero eigenvalue of the centred ``X X^T``.
RELATIVE_ALPHAS = np.logspace(-8, 6, 29)
#: The penalty search's type in the package's own fits (the references, the NRP's linear start, the layer choice):
#: on the tests' worlds float32 chooses float64's penalties, or, where the leave-one-out errors tie within float32's
#: resolution, one whose float64 error is equal within 1e-6 (tests/test_reference_mappings.py, test_linear_start.py,
#: test_layer_choice.py); the chosen penalties' fits stay in the inputs' type. The functions below search in the
#: inputs' type unless told otherwise.
SEARCH_DTYPE = torch.float32
#: Floor of the largest eigenvalue in the zero test, so that an all-zero kernel has no non-zero eigenvalue.
_TINY = 1e-300


def eigen_ridge(eigenvalues, eigenvectors, targets, relative_alphas=RELATIVE_ALPHAS, search_dtype=None):
    """Kernel ridge with an intercept, each target's penalty chosen by exact leave-one-out.

    The kernel of the fit rows, centred on them, is ``Q diag(eigenvalues) Q^T``. Penalties are
    ``relative_alphas`` times the mean non-zero eigenvalue; the leave-one-out residual of a target is
    ``(y - fitted) / (1 - h)`` with leverage ``h = 1/n + sum_j Q_ij^2 eigenvalue_j / (eigenvalue_j + alpha)``
    (scikit-learn's ``RidgeCV`` computes the same). Of penalties with equal leave-one-out errors the first in the
    grid is chosen. Without a non-zero eigenvalue the penalties are ``relative_alphas`` themselves.

    Every penalty and every target come from the one eigendecomposition; the search over the grid costs one product
    of ``Q`` with an ``(r, n_targets)`` matrix per penalty.

    Parameters
    ----------
    eigenvalues : Tensor, shape (r,), positive
        The non-zero eigenvalues.
    eigenvectors : Tensor, shape (n, r)
    targets : Tensor, shape (n, n_targets)
    relative_alphas : ndarray, shape (n_alphas,)
        Penalty grid relative to the mean non-zero eigenvalue, ascending.
    search_dtype : torch.dtype, optional
        The type the penalty search (the leave-one-out residuals of every penalty) is computed in; the inputs'
        type by default. The dual coefficients, and the leave-one-out residuals and errors of the chosen penalties,
        are computed in the inputs' type whatever this is.

    Returns
    -------
    dual : Tensor, shape (n, n_targets)
        Coefficients on the centred kernel: fitted values are ``K_centred @ dual + intercept``.
    intercept : Tensor, shape (n_targets,)
    relative_alpha : ndarray, shape (n_targets,)
    loo_error : Tensor, shape (n_targets,)
        The chosen penalty's leave-one-out mean squared error.
    loo_prediction : Tensor, shape (n, n_targets)
        Each row's prediction by the ridge fitted without it (the chosen penalty).
    """
    intercept = targets.mean(dim=0)
    centred = targets - intercept
    projected = eigenvectors.T @ centred
    scale = float(eigenvalues.sum()) / max(1, len(eigenvalues)) or 1.0
    squared = eigenvectors ** 2
    if search_dtype is not None and search_dtype != eigenvectors.dtype:
        best_alpha = _reduced_search(eigenvalues, eigenvectors, centred, projected, relative_alphas, scale,
                                     search_dtype)
        # the chosen penalties' residuals and errors in the inputs' type, by the search's own form below
        shrink = eigenvalues[:, None] / (eigenvalues[:, None] + best_alpha[None, :])
        best_residual = _loo_residual(shrink, eigenvectors, squared, projected, centred)
        best_error = (best_residual ** 2).mean(dim=0)
    else:
        best_error = torch.full((targets.shape[1],), float('inf'), dtype=targets.dtype, device=targets.device)
        best_alpha = torch.zeros_like(best_error)
        for index, relative in enumerate(relative_alphas):
            alpha = float(relative) * scale
            residual = _loo_residual(eigenvalues / (eigenvalues + alpha), eigenvectors, squared, projected, centred)
            error = (residual ** 2).mean(dim=0)
            better = error < best_error
            best_error = torch.where(better, error, best_error)
            best_residual = residual if index == 0 else torch.where(better, residual, best_residual)
            best_alpha = torch.where(better, torch.full_like(best_alpha, alpha), best_alpha)
    dual = eigenvectors @ (projected / (eigenvalues[:, None] + best_alpha[None, :]))
    return dual, intercept, (best_alpha / scale).cpu().numpy(), best_error, targets - best_residual


def _loo_residual(shrink, eigenvectors, squared, projected, centred):
    """Every row's leave-one-out residual, ``(y - fitted) / (1 - h)``, for shrinkage factors
    ``eigenvalue / (eigenvalue + alpha)``: shape (r,), one penalty for every target, or (r, n_targets), one each."""
    column = shrink if shrink.dim() == 2 else shrink[:, None]
    fitted = eigenvectors @ (column * projected)
    leverage = 1.0 / centred.shape[0] + squared @ shrink
    if leverage.dim() == 1:
        leverage = leverage[:, None]
    return (centred - fitted) / (1 - leverage).clamp(min=1e-12)


def _reduced_search(eigenvalues, eigenvectors, centred, projected, relative_alphas, scale, dtype):
    """:func:`eigen_ridge`'s penalty choice with the products in ``dtype`` (float32), written without cancellation.

    A small penalty leaves residuals and ``1 - h`` far below the targets and 1, which the direct form gets as the
    difference of two nearly equal numbers: in float32 those carry no correct digit. Here neither is such a
    difference: the residual is ``Q diag(alpha / (eigenvalue + alpha)) Q^T y`` plus the part of ``y`` outside ``Q``'s
    span, and ``1 - h`` is ``sum_j Q_ij^2 alpha / (eigenvalue_j + alpha)`` (non-negative terms) plus ``1 - 1/n -
    sum_j Q_ij^2``; the two parts outside the span are formed once, in the inputs' type.

    Returns
    -------
    best_alpha : Tensor, shape (n_targets,)
        Each target's penalty (absolute), in the inputs' type.
    """
    n = centred.shape[0]
    outside = (centred - eigenvectors @ projected).to(dtype)
    outside_leverage = (1.0 - 1.0 / n - (eigenvectors ** 2).sum(dim=1)).clamp(min=0).to(dtype)
    values, vectors, coefficients = eigenvalues.to(dtype), eigenvectors.to(dtype), projected.to(dtype)
    squared = vectors ** 2
    best_error = torch.full((centred.shape[1],), float('inf'), dtype=dtype, device=centred.device)
    best_alpha = torch.zeros(centred.shape[1], dtype=centred.dtype, device=centred.device)
    for index, relative in enumerate(relative_alphas):
        alpha = float(relative) * scale
        complement = alpha / (values + alpha)
        remaining = squared @ complement + outside_leverage
        residual = (vectors @ (complement[:, None] * coefficients) + outside) / remaining[:, None].clamp(min=1e-12)
        error = (residual ** 2).mean(dim=0)
        better = error < best_error
        best_error = torch.where(better, error, best_error)
        best_alpha = torch.where(better, torch.full_like(best_alpha, alpha), best_alpha)
    return best_alpha


def kernel_eigen(kernel):
    """The non-zero eigenvalues and their eigenvectors of a symmetric positive semi-definite kernel.

    Eigenvalues below ``RELATIVE_ZERO`` times the largest count as zero.

    Parameters
    ----------
    kernel : Tensor, shape (n, n)

    Returns
    -------
    eigenvalues : Tensor, shape (r,), ascending
    eigenvectors : Tensor, shape (n, r)
    """
    eigenvalues, eigenvectors = torch.linalg.eigh((kernel + kernel.T) / 2)
    keep = eigenvalues > eigenvalues[-1].clamp(min=_TINY) * RELATIVE_ZERO
    return eigenvalues[keep], eigenvectors[:, keep]


def scores_eigen(scores):
    """The non-zero eigenvalues and eigenvectors of ``scores @ scores.T`` for mutually orthogonal columns (principal
    component scores), without a decomposition: the squared column norms and the normalised columns.

    Parameters
    ----------
    scores : Tensor, shape (n, r)
        Mutually orthogonal columns (each layer's component scores, :mod:`.reduction`).

    Returns
    -------
    eigenvalues : Tensor, shape (r',)
        Those of the columns above ``RELATIVE_ZERO`` times the largest, in the columns' order.
    eigenvectors : Tensor, shape (n, r')
    """
    eigenvalues = (scores ** 2).sum(dim=0)
    if not len(eigenvalues):
        return eigenvalues, scores
    keep = eigenvalues > eigenvalues.max().clamp(min=_TINY) * RELATIVE_ZERO
    eigenvalues = eigenvalues[keep]
    return eigenvalues, scores[:, keep] / eigenvalues.sqrt()


def dual_ridge(kernel, targets, relative_alphas=RELATIVE_ALPHAS, search_dtype=None):
    """Linear ridge in dual form: :func:`eigen_ridge` on the centred linear kernel of the fit rows, from its
    eigendecomposition.

    Parameters
    ----------
    kernel : Tensor, shape (n, n)
        Centred on the fit rows (``Xc Xc^T``).
    targets : Tensor, shape (n, n_targets)
    relative_alphas : ndarray, shape (n_alphas,)
    search_dtype : torch.dtype, optional
        As :func:`eigen_ridge` takes it.

    Returns
    -------
    As :func:`eigen_ridge`.
    """
    return eigen_ridge(*kernel_eigen(kernel), targets, relative_alphas, search_dtype)


def column_ridge(centred, targets, relative_alphas=RELATIVE_ALPHAS):
    """:func:`eigen_ridge` on centred columns, from their SVD: the kernel ``centred centred^T`` has eigenvectors
    ``U`` and eigenvalues ``s^2``, at a cost in ``p`` rather than in ``n``.

    Parameters
    ----------
    centred : Tensor, shape (n, p)
        Columns centred on the fit rows.
    targets : Tensor, shape (n, n_targets)
    relative_alphas : ndarray, shape (n_alphas,)

    Returns
    -------
    As :func:`eigen_ridge`; ``centred.T @ dual`` are the weights on the columns.
    """
    left, singular, _ = torch.linalg.svd(centred, full_matrices=False)
    eigenvalues = singular ** 2
    keep = eigenvalues > eigenvalues[0].clamp(min=_TINY) * RELATIVE_ZERO
    return eigen_ridge(eigenvalues[keep], left[:, keep], targets, relative_alphas)


def fit_predict_ridge(train_inputs, train_targets, test_inputs, relative_alphas=RELATIVE_ALPHAS):
    """Ridge predictions of one split, each target's penalty chosen by leave-one-out on the training rows.

    Parameters
    ----------
    train_inputs : Tensor or ndarray, shape (n_train, n_inputs)
    train_targets : Tensor or ndarray, shape (n_train, n_targets) or (n_train,)
    test_inputs : Tensor or ndarray, shape (n_test, n_inputs)
    relative_alphas : ndarray, shape (n_alphas,)
        Penalty grid relative to the inputs' scale.

    Returns
    -------
    prediction : ndarray, shape (n_test, n_targets), float64
    relative_alpha : ndarray, shape (n_targets,)
        The chosen penalties, relative to the inputs' scale (at the grid's first or last value means
        the leave-one-out curve kept falling beyond the grid).
    """
    mean, weights, intercept, relative_alpha = _fit(train_inputs, train_targets, relative_alphas)
    prediction = (_float64(test_inputs) - mean) @ weights + intercept
    return prediction.numpy(), relative_alpha


def fit_predict_dual_ridge(train_kernel, train_targets, cross_kernel, relative_alphas=RELATIVE_ALPHAS):
    """:func:`fit_predict_ridge` from kernels: ridge whose fit rows' centred kernel is ``train_kernel`` and whose new
    rows' cross kernel (centred with the fit rows' means) is ``cross_kernel``, in float64 on the CPU.

    Parameters
    ----------
    train_kernel : Tensor, shape (n_train, n_train)
        ``Xc Xc^T`` of the fit rows' centred features.
    train_targets : Tensor or ndarray, shape (n_train, n_targets)
    cross_kernel : Tensor, shape (n_test, n_train)
        ``(X_new - mean) Xc^T``.
    relative_alphas : ndarray, shape (n_alphas,)

    Returns
    -------
    prediction : ndarray, shape (n_test, n_targets), float64
    relative_alpha : ndarray, shape (n_targets,)
    """
    kernel, cross = _float64(train_kernel), _float64(cross_kernel)
    targets = _float64(train_targets).reshape(len(kernel), -1)
    dual, intercept, relative_alpha, _, _ = dual_ridge(kernel, targets, relative_alphas)
    return (cross @ dual + intercept).numpy(), relative_alpha


def ridge_coefficients(train_inputs, train_targets, relative_alphas=RELATIVE_ALPHAS):
    """Ridge weights and intercepts, each target's penalty chosen by leave-one-out on these rows.

    Parameters
    ----------
    train_inputs : Tensor or ndarray, shape (n_rows, n_inputs)
    train_targets : Tensor or ndarray, shape (n_rows, n_targets) or (n_rows,)
    relative_alphas : ndarray, shape (n_alphas,)

    Returns
    -------
    weights : ndarray, shape (n_inputs, n_targets)
    intercept : ndarray, shape (n_targets,)
        ``prediction = inputs @ weights + intercept``.
    """
    mean, weights, intercept, _ = _fit(train_inputs, train_targets, relative_alphas)
    return weights.numpy(), (intercept - mean @ weights).numpy()


def _fit(train_inputs, train_targets, relative_alphas):
    """Ridge on the training rows, in float64 on the CPU: from the kernel when there are more columns than rows,
    from the columns' SVD otherwise.

    Returns
    -------
    mean : Tensor, shape (n_inputs,)
        The inputs' training mean.
    weights : Tensor, shape (n_inputs, n_targets)
        On the centred inputs.
    intercept : Tensor, shape (n_targets,)
        The targets' training mean: ``prediction = (inputs - mean) @ weights + intercept``.
    relative_alpha : ndarray, shape (n_targets,)
    """
    inputs = _float64(train_inputs)
    targets = _float64(train_targets).reshape(len(inputs), -1)
    mean = inputs.mean(dim=0)
    centred = inputs - mean
    if centred.shape[1] > centred.shape[0]:
        dual, intercept, relative_alpha, _, _ = dual_ridge(centred @ centred.T, targets, relative_alphas)
    else:
        dual, intercept, relative_alpha, _, _ = column_ridge(centred, targets, relative_alphas)
    return mean, centred.T @ dual, intercept, relative_alpha


def _float64(values):
    """``values`` as a float64 tensor on the CPU (an ndarray's memory shared where it can be)."""
    if torch.is_tensor(values):
        return values.detach().to(device='cpu', dtype=torch.float64)
    return torch.from_numpy(np.require(np.asarray(values, dtype=np.float64), requirements='W'))
