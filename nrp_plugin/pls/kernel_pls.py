"""Partial least squares regression in torch, in kernel (Gram) form, batched over splits: the solvers.

They take the stimulus-by-stimulus kernel (:func:`nrp_plugin.core.kernels.gram_matrix`) and the targets, and
fit (:func:`fit_kernel_pls`), predict (:func:`predict_kernel_pls`) or do both over cross-validation splits
(:func:`cross_validated_pls`). The scikit-learn estimator built on them is :mod:`.estimator`.

This computes the same fit as scikit-learn's ``PLSRegression(n_components, scale=False)`` (NIPALS,
``deflation_mode='regression'``, ``mode='A'``) but never runs NIPALS on the feature matrix. With far
fewer stimuli than features (2,560 images against up to 65k model units) every quantity of the fit
can be had from the stimulus-by-stimulus kernel ``K = X X^T``:

* ``K`` is computed once for all stimuli, over feature chunks (no full-size copy of ``X``);
* a split's centred training kernel ``Kc = H K_tt H`` and its test-by-train cross kernel follow from
  ``K`` and the training means (kernel centring, nothing is re-read from ``X``);
* the PLS runs on ``Kc`` and the centred targets: each component's x-weight is ``X_k^T u`` with
  ``u = Y_k a`` in the span of the current target residuals, so the search for the dominant
  singular direction of ``X_k^T Y_k`` reduces to the dominant eigenvector of the small
  ``q x q`` matrix ``M_k = Y_k^T K_k Y_k`` (``q`` targets);
* predictions are ``Kc* B + y_mean`` with the dual coefficients
  ``B = U (T^T Kc U)^{-1} T^T Yc`` (``U`` the y-scores, ``T`` the x-scores); the primal
  coefficients of scikit-learn are ``Xc^T B``.

Two solvers find the dominant direction. ``'nipals'`` (default) replays scikit-learn's power
iteration exactly in the ``q``-dimensional space, with its start vector (first non-constant
target), its stopping rule (squared change of the unit x-weights below ``tol``) and ``max_iter``,
so predictions agree with scikit-learn to rounding. ``'eigh'`` takes the exact dominant
eigenvector of ``M_k``; it differs from scikit-learn by however far scikit-learn's power iteration
stops short of convergence (``tol=1e-6`` on the squared change, i.e. directions within ~1e-3),
so it is not the default; docs/speed.md gives the measured differences.

Data type: float64 by default on every device. Kernel entries are sums over tens of thousands of
features, and the PLS deflations subtract nearly equal quantities; in float64 predictions agree
with scikit-learn (which always works in float64) to rounding. float32 is accepted, either for
everything (``dtype``) or only for the feature-chunk products that form the kernel (``gram_dtype``,
the dominant cost); docs/speed.md gives its measured speed and accuracy. float64 stays the default
because it keeps a wide margin to Brain-Score's 1e-4 on badly conditioned activations too.
"""
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

__all__ = ['KernelPLSFit', 'fit_kernel_pls', 'predict_kernel_pls', 'cross_validated_pls']

#: scikit-learn compares the target residuals against float64's machine epsilon.
_SKLEARN_EPS = float(np.finfo(np.float64).eps)
_SOLVERS = ('nipals', 'eigh')


class KernelPLSFit:
    """The fitted state of :func:`fit_kernel_pls` for ``S`` splits (``n`` stimuli, ``q`` targets).

    Attributes
    ----------
    dual_coef : Tensor, shape (S, n, q)
        ``B`` with ``prediction = Kc* B + y_mean``; zero on the rows outside each split's training set.
    y_mean : Tensor, shape (S, q)
        Training mean of the targets (scikit-learn's ``intercept_``).
    kernel_row_mean : Tensor, shape (S, n)
        ``K m / n_train``: each stimulus' mean kernel value against the training stimuli.
    kernel_mean : Tensor, shape (S,)
        Mean of the training kernel block.
    train_mask : Tensor of bool, shape (S, n)
    x_scores : Tensor, shape (S, n, k)
        ``t = X_k w`` per component (scikit-learn's ``_x_scores``), up to the sign of each component.
    y_scores : Tensor, shape (S, n, k)
        ``u / ||X_k^T u||``: the vectors with x-weights ``w = Xc^T u`` (unit norm).
    y_loadings : Tensor, shape (S, q, k)
        Up to the sign of each component, as scikit-learn's ``y_loadings_``.
    n_iter : ndarray of int, shape (S, k)
        Power iterations per component (``solver='nipals'``), 0 for components not fitted.
    n_components : ndarray of int, shape (S,)
        Components fitted per split (fewer than asked only where the residuals ran out).
    """

    def __init__(self, dual_coef, y_mean, kernel_row_mean, kernel_mean, train_mask, x_scores, y_scores,
                 y_loadings, n_iter, n_components):
        self.dual_coef = dual_coef
        self.y_mean = y_mean
        self.kernel_row_mean = kernel_row_mean
        self.kernel_mean = kernel_mean
        self.train_mask = train_mask
        self.x_scores = x_scores
        self.y_scores = y_scores
        self.y_loadings = y_loadings
        self.n_iter = n_iter
        self.n_components = n_components


def _centred_apply(K, V, mask, n_train):
    """``Kc V`` for each split, for ``V`` supported on, and centred over, each split's training rows.

    Parameters
    ----------
    K : Tensor, shape (n, n)
    V : Tensor, shape (S, n, r)
    mask : Tensor, shape (S, n), in K's dtype (1 on training rows)
    n_train : Tensor, shape (S,)

    Returns
    -------
    Tensor, shape (S, n, r)
        ``H K H V`` restricted to the training rows (zero elsewhere), where ``H`` centres over the
        training rows; for such ``V``, ``H V = V``.
    """
    S, n, r = V.shape
    KV = (K @ V.permute(1, 0, 2).reshape(n, S * r)).reshape(n, S, r).permute(1, 0, 2)
    mean = torch.einsum('sn,snr->sr', mask, KV) / n_train[:, None]
    return mask[:, :, None] * (KV - mean[:, None, :])


def _dominant_direction(M, start, active, solver, max_iter, tol):
    """Direction ``a`` (S, q) of the dominant singular vector, as scikit-learn's NIPALS finds it.

    The x-weight of the component is ``w = X_k^T Y_k a / ||.||`` and ``||X_k^T Y_k b||^2 = b^T M b``.
    scikit-learn's power iteration maps ``a`` to ``M a`` (up to a positive scale) and stops after
    iteration ``i`` when ``||w_i - w_{i-1}||^2 < tol``, returning ``w_i``; with one target it stops
    after one iteration. The iteration runs in NumPy on the host: the matrices are only
    ``q x q`` per split, and host NumPy avoids one device synchronisation and a dozen kernel launches
    per iteration.

    Parameters
    ----------
    M : ndarray, shape (S, q, q)
        ``Y_k^T K_k Y_k`` per split (float64).
    start : ndarray, shape (S, q)
        scikit-learn's start vector: the first target with a non-negligible residual.
    active : ndarray of bool, shape (S,)
    solver : {'nipals', 'eigh'}
    max_iter : int
    tol : float

    Returns
    -------
    a : ndarray, shape (S, q)
    n_iter : ndarray of int, shape (S,)
    """
    S, q, _ = M.shape
    if solver == 'eigh':
        _, vectors = np.linalg.eigh(M)
        return vectors[..., -1], np.zeros(S, dtype=np.int64)
    a = start.copy()
    n_iter = np.where(active, 1, 0)
    if q == 1:
        return a, n_iter
    tiny = np.finfo(np.float64).tiny
    Ma = np.matmul(M, a[..., None])[..., 0]
    aMa = np.einsum('sq,sq->s', a, Ma)
    done = ~active
    for iteration in range(2, max_iter + 1):
        moving = ~done
        step = Ma[moving] / np.maximum(np.linalg.norm(Ma[moving], axis=-1, keepdims=True), tiny)
        M_step = np.matmul(M[moving], step[..., None])[..., 0]
        step_M_step = np.einsum('sq,sq->s', step, M_step)
        cosine = np.einsum('sq,sq->s', step, Ma[moving]) / np.sqrt(np.maximum(step_M_step * aMa[moving], tiny))
        a[moving], Ma[moving], aMa[moving] = step, M_step, step_M_step
        n_iter[moving] = iteration
        done[moving] = 2.0 - 2.0 * cosine < tol
        if done.all():
            break
    if not done.all():
        warnings.warn("Maximum number of iterations reached", ConvergenceWarning)
    return a, n_iter


def fit_kernel_pls(K, Y, train_mask, n_components=25, *, solver='nipals', max_iter=500, tol=1e-6):
    """Fit PLS regression for ``S`` training sets at once, from the kernel of all stimuli.

    Parameters
    ----------
    K : Tensor, shape (n, n)
        ``X X^T`` (or of any constant shift of ``X``) for all ``n`` stimuli; see
        :func:`nrp_plugin.core.kernels.gram_matrix`.
    Y : Tensor, shape (n, q)
        Targets of all stimuli (rows outside a split's training set are ignored for that split).
    train_mask : Tensor of bool, shape (S, n)
        Training stimuli of each split.
    n_components : int
    solver : {'nipals', 'eigh'}
        ``'nipals'`` replays scikit-learn's power iteration; ``'eigh'`` takes the exact dominant
        direction (see the module notes).
    max_iter, tol : int, float
        scikit-learn's power-iteration settings (``'nipals'`` only).

    Returns
    -------
    KernelPLSFit
    """
    if solver not in _SOLVERS:
        raise ValueError(f"Unknown solver {solver!r}; choose one of {_SOLVERS}.")
    if not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ValueError(f"n_components={n_components!r} must be a positive integer.")
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square (n, n); got shape {tuple(K.shape)}.")
    if Y.ndim != 2 or Y.shape[0] != K.shape[0]:
        raise ValueError(f"Y must have shape ({K.shape[0]}, n_targets); got {tuple(Y.shape)}.")
    train_mask = torch.as_tensor(train_mask, device=K.device)
    if train_mask.ndim == 1:
        train_mask = train_mask[None]
    if train_mask.shape[1] != K.shape[0]:
        raise ValueError(f"train_mask must have shape (n_splits, {K.shape[0]}); got {tuple(train_mask.shape)}.")
    train_mask = train_mask.to(torch.bool)
    Y = Y.to(device=K.device, dtype=K.dtype)
    dtype, device = K.dtype, K.device
    S, n = train_mask.shape
    q = Y.shape[1]
    k_max = int(n_components)

    mask = train_mask.to(dtype)
    n_train = mask.sum(1)
    if bool((n_train < 2).any()):
        raise ValueError("Every split needs at least 2 training stimuli.")
    y_mean = mask @ Y / n_train[:, None]                                  # (S, q)
    row_mean = (mask @ K) / n_train[:, None]                              # (S, n), K symmetric
    kernel_mean = (row_mean * mask).sum(1) / n_train                      # (S,)
    diag = torch.diagonal(K)
    trace = (mask * diag).sum(1) - n_train * kernel_mean                  # trace of each Kc
    dtype_eps = torch.finfo(dtype).eps

    Yc = mask[:, :, None] * (Y[None] - y_mean[:, None, :])                # (S, n, q)
    Yk = Yc.clone()
    G = _centred_apply(K, Yk, mask, n_train)                              # K_k Y_k
    T = torch.zeros((S, n, k_max), device=device, dtype=dtype)            # x-scores t
    U = torch.zeros((S, n, k_max), device=device, dtype=dtype)            # u / ||X_k^T u||
    KcT = torch.zeros((S, n, k_max), device=device, dtype=dtype)          # Kc t / ||t||
    T_unit = torch.zeros((S, n, k_max), device=device, dtype=dtype)       # t / ||t||
    loadings = torch.zeros((S, q, k_max), device=device, dtype=dtype)
    n_iter = torch.zeros((S, k_max), dtype=torch.long, device=device)
    fitted = torch.zeros((S, k_max), dtype=torch.bool, device=device)
    active = torch.ones(S, dtype=torch.bool, device=device)

    for component in range(k_max):
        # scikit-learn: columns whose residuals are all below 10 eps become exactly zero
        column_max = Yk.abs().amax(dim=1)                                 # (S, q)
        negligible = column_max < 10 * _SKLEARN_EPS
        if bool(negligible.any()):
            keep = (~negligible).to(dtype)[:, None, :]
            Yk = Yk * keep
            G = G * keep
        has_signal = (column_max > _SKLEARN_EPS) & ~negligible
        constant = active & ~has_signal.any(dim=1)
        if bool(constant.any()):
            warnings.warn(f"y residual is constant at iteration {component} "
                          f"(split(s) {torch.nonzero(constant).flatten().tolist()})")
            active = active & ~constant
        if not bool(active.any()):
            break
        active_host = active.cpu().numpy()
        start = np.zeros((S, q))
        start[np.arange(S), has_signal.to(torch.uint8).argmax(dim=1).cpu().numpy()] = 1.0
        M = (Yk.transpose(1, 2) @ G).cpu().numpy().astype(np.float64)
        M = 0.5 * (M + M.transpose(0, 2, 1))
        a, iterations = _dominant_direction(M, start, active_host, solver, max_iter, tol)
        a = torch.as_tensor(a * active_host[:, None], device=device, dtype=dtype)
        iterations = torch.as_tensor(iterations, device=device)
        u = (Yk @ a[..., None])[..., 0]                                   # (S, n)
        g = (G @ a[..., None])[..., 0]                                    # K_k u
        uKu = (u * g).sum(1)
        uu = (u * u).sum(1)
        exhausted = active & (uKu <= 10 * dtype_eps * trace * uu)
        if bool(exhausted.any()):
            warnings.warn(f"X residual is numerically zero at component {component} "
                          f"(split(s) {torch.nonzero(exhausted).flatten().tolist()}): the kernel has rank "
                          f"{component}; fitting fewer components there.")
            active = active & ~exhausted
            if not bool(active.any()):
                break
        scale = torch.where(active, torch.rsqrt(uKu.clamp_min(torch.finfo(dtype).tiny)), 0.0)
        t = g * scale[:, None]                                            # X_k w, w unit norm
        tt = (t * t).sum(1)
        tt_safe = torch.where(active, tt, 1.0)
        y_loading = (Yk.transpose(1, 2) @ t[..., None])[..., 0] / tt_safe[:, None]   # (S, q)
        kct = _centred_apply(K, t[..., None], mask, n_train)[..., 0]                  # Kc t
        if component:
            previous = T_unit[:, :, :component]
            kkt = kct - (previous @ (previous.transpose(1, 2) @ kct[..., None]))[..., 0]  # K_k t
        else:
            kkt = kct
        # deflation: X_{k+1} = P X_k, Y_{k+1} = P Y_k with P = I - t t^T / t^T t
        Yk = Yk - t[:, :, None] * y_loading[:, None, :]
        Z = G - kkt[:, :, None] * y_loading[:, None, :]
        G = Z - t[:, :, None] * ((t[:, None, :] @ Z) / tt_safe[:, None, None])

        T[:, :, component] = t
        U[:, :, component] = u * scale[:, None]
        KcT[:, :, component] = kct / torch.sqrt(tt_safe)[:, None]
        T_unit[:, :, component] = t / torch.sqrt(tt_safe)[:, None]
        loadings[:, :, component] = y_loading
        n_iter[:, component] = torch.where(active, iterations, 0)
        fitted[:, component] = active

    # B = U (T^T Kc U)^{-1} T^T Yc with unit-norm scores for conditioning; unfitted components are
    # zero columns of U and T and an identity block of the system.
    A = KcT.transpose(1, 2) @ U                                           # (S, k, k)
    A = A + torch.diag_embed((~fitted).to(dtype))
    coefficients = torch.linalg.solve(A, T_unit.transpose(1, 2) @ Yc)    # (S, k, q)
    dual_coef = U @ coefficients                                          # (S, n, q)
    return KernelPLSFit(dual_coef=dual_coef, y_mean=y_mean, kernel_row_mean=row_mean, kernel_mean=kernel_mean,
                        train_mask=train_mask, x_scores=T, y_scores=U, y_loadings=loadings,
                        n_iter=n_iter.cpu().numpy(), n_components=fitted.sum(1).cpu().numpy())


def predict_kernel_pls(K, fit, rows):
    """Predict the targets of stimuli (rows of ``K``) from a :func:`fit_kernel_pls` fit.

    Parameters
    ----------
    K : Tensor, shape (n, n)
        The kernel the fit was made with.
    fit : KernelPLSFit
        For ``S`` splits.
    rows : Tensor of int, shape (S, r), or sequence of ``S`` 1-D index arrays
        Stimuli to predict for each split (typically its test stimuli).

    Returns
    -------
    Tensor, shape (S, r, q), or list of ``S`` Tensors of shape (r_s, q)
        Same as ``(X[rows] - x_mean_train) @ coef + y_mean_train``, with the test-by-train kernel
        centred with the training means: ``Kc*[i, j] = K[i, j] - kbar_i - kbar_j + kbar``.
    """
    as_tensor = torch.is_tensor(rows) and rows.ndim == 2
    out = []
    B = fit.dual_coef
    column_sum = B.sum(dim=1)                                                        # (S, q)
    row_term = (fit.kernel_row_mean[:, None, :] @ B)[:, 0, :]                        # (S, q)
    offset = fit.y_mean - row_term + fit.kernel_mean[:, None] * column_sum            # (S, q)
    for split in range(B.shape[0]):
        index = torch.as_tensor(np.asarray(rows[split]) if not torch.is_tensor(rows[split]) else rows[split],
                                device=K.device, dtype=torch.long)
        prediction = K[index] @ B[split]
        prediction -= fit.kernel_row_mean[split, index][:, None] * column_sum[split][None, :]
        prediction += offset[split][None, :]
        out.append(prediction)
    return torch.stack(out) if as_tensor else out


def cross_validated_pls(K, Y, train_masks, test_rows, n_components=25, *, solver='nipals', max_iter=500, tol=1e-6,
                        split_batch_size=None):
    """Fit on each split's training stimuli and predict its test stimuli, sharing one kernel.

    Parameters
    ----------
    K : Tensor, shape (n, n)
    Y : Tensor, shape (n, q)
    train_masks : Tensor of bool, shape (S, n)
    test_rows : sequence of ``S`` 1-D index arrays
    n_components : int
    solver, max_iter, tol : see :func:`fit_kernel_pls`
    split_batch_size : int, optional
        Splits fitted together (all by default); lower it to bound memory at about
        ``split_batch_size * n * (4 q + 5 k)`` values.

    Returns
    -------
    predictions : list of ``S`` Tensors, shapes (n_test_s, q)
    n_iter : ndarray of int, shape (S, n_components)
    """
    train_masks = torch.as_tensor(train_masks, device=K.device)
    S = train_masks.shape[0]
    size = S if not split_batch_size else max(1, int(split_batch_size))
    predictions, iterations = [], []
    for start in range(0, S, size):
        stop = min(start + size, S)
        fit = fit_kernel_pls(K, Y, train_masks[start:stop], n_components, solver=solver, max_iter=max_iter, tol=tol)
        predictions.extend(predict_kernel_pls(K, fit, list(test_rows[start:stop])))
        iterations.append(fit.n_iter)
        del fit
    return predictions, np.concatenate(iterations)
