"""scikit-learn's API for the kernel-form PLS: :class:`TorchPLSRegression`, a drop-in for
``sklearn.cross_decomposition.PLSRegression(scale=False)``.

It reads ``X`` in column chunks to form the stimulus-by-stimulus kernel, fits with the solvers of
:mod:`.kernel_pls` (which the metrics call directly, batched over splits) and recovers scikit-learn's
feature-space attributes (``coef_``, ``x_weights_``, ...) from the dual solution, one chunk of columns at a time.
"""
import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin

from ..core.device import resolve_device
from ..core.kernels import gram_matrix, iter_column_chunks
from .kernel_pls import fit_kernel_pls

__all__ = ['TorchPLSRegression']


def _as_2d_float(name, values):
    """``values`` as an ndarray or Tensor of floats, 2-D; raises ValueError naming the problem."""
    if torch.is_tensor(values):
        array = values.detach()
        if not torch.is_floating_point(array):
            array = array.double()
    else:
        array = np.asarray(values)
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise ValueError(f"{name} must be real numbers; got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got shape {tuple(array.shape)}.")
    return array


class TorchPLSRegression(RegressorMixin, BaseEstimator):
    """scikit-learn's ``PLSRegression(scale=False)`` fitted in kernel form with torch.

    Parameters
    ----------
    n_components : int, default=2
        Must not exceed ``n_features`` (as in scikit-learn).
    solver : {'nipals', 'eigh'}, default='nipals'
        ``'nipals'`` replays scikit-learn's power iteration (same ``max_iter``, ``tol``);
        ``'eigh'`` takes the exact dominant direction per component.
    max_iter : int, default=500
    tol : float, default=1e-06
    device : {'auto', 'cpu', 'cuda'} or torch.device, default='auto'
    dtype : torch.dtype, default=torch.float64
    chunk_size : int, optional
        Features per chunk when reading ``X`` (about 64 MiB chunks by default).

    Attributes
    ----------
    coef_ : ndarray, shape (n_targets, n_features)
        As scikit-learn 1.5's ``coef_``: ``predict(X) = (X - x_mean_) @ coef_.T + intercept_``.
    intercept_ : ndarray, shape (n_targets,)
    x_mean_ : ndarray, shape (n_features,)
    x_weights_ : ndarray, shape (n_features, n_components)
    x_loadings_ : ndarray, shape (n_features, n_components)
    y_loadings_, y_weights_ : ndarray, shape (n_targets, n_components)
        Equal in regression mode, as in scikit-learn.
    x_scores_ : ndarray, shape (n_samples, n_components)
        scikit-learn's private ``_x_scores``.
    dual_coef_ : ndarray, shape (n_samples, n_targets)
        ``coef_.T == (X - x_mean_).T @ dual_coef_``.
    n_iter_ : list of int
        Power iterations per component.
    n_components_ : int
        Components fitted (smaller than ``n_components`` only where the residuals ran out).
    n_features_in_ : int

    Notes
    -----
    Component signs follow scikit-learn (the largest-magnitude entry of each x-weight is positive).
    Work and memory scale with ``n_samples^2`` rather than ``n_samples * n_features``: the form
    pays off when ``n_samples < n_features`` but is exact either way.
    """

    def __init__(self, n_components=2, *, solver='nipals', max_iter=500, tol=1e-06, device='auto',
                 dtype=torch.float64, chunk_size=None):
        self.n_components = n_components
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.chunk_size = chunk_size

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like or Tensor, shape (n_samples, n_features)
        y : array-like or Tensor, shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        device = resolve_device(self.device)
        X = _as_2d_float('X', X)
        y_array = y.detach().cpu().double().numpy() if torch.is_tensor(y) else np.asarray(y, dtype=np.float64)
        self._predict_1d = y_array.ndim == 1
        if self._predict_1d:
            y_array = y_array.reshape(-1, 1)
        if y_array.ndim != 2:
            raise ValueError(f"y must be 1-D or 2-D; got shape {y_array.shape}.")
        n_samples, n_features = X.shape
        if y_array.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} samples but y has {y_array.shape[0]}.")
        if n_samples < 2:
            raise ValueError("PLS needs at least 2 samples.")
        if not isinstance(self.n_components, (int, np.integer)) or not 1 <= self.n_components <= n_features:
            raise ValueError(f"`n_components` upper bound is {n_features}. Got {self.n_components!r} instead. "
                             f"Reduce `n_components`.")
        if not np.isfinite(y_array).all():
            raise ValueError("y contains NaN or infinity.")
        x_mean = self._column_mean(X, device)
        K = gram_matrix(X, center=x_mean, device=device, dtype=self.dtype, chunk_size=self.chunk_size)
        if not bool(torch.isfinite(torch.diagonal(K)).all()):
            raise ValueError("X contains NaN or infinity.")
        Y = torch.as_tensor(y_array, device=device, dtype=self.dtype)
        mask = torch.ones((1, n_samples), dtype=torch.bool, device=device)
        fit = fit_kernel_pls(K, Y, mask, int(self.n_components), solver=self.solver, max_iter=self.max_iter,
                             tol=self.tol)
        del K
        B, U, T = fit.dual_coef[0], fit.y_scores[0], fit.x_scores[0]
        tt = (T * T).sum(0)
        T_over_tt = T / torch.where(tt > 0, tt, 1.0)
        k = U.shape[1]
        coef = np.empty((y_array.shape[1], n_features))
        weights = np.empty((n_features, k))
        x_loadings = np.empty((n_features, k))
        shift = torch.as_tensor(x_mean, device=device, dtype=self.dtype)
        for start, stop, chunk in iter_column_chunks(X, device, self.dtype, self.chunk_size):
            chunk -= shift[start:stop]
            coef[:, start:stop] = (B.T @ chunk).cpu().numpy()
            weights[start:stop] = (chunk.T @ U).cpu().numpy()
            x_loadings[start:stop] = (chunk.T @ T_over_tt).cpu().numpy()
        # scikit-learn's sign convention: the largest-magnitude entry of each x-weight is positive
        signs = np.sign(weights[np.argmax(np.abs(weights), axis=0), np.arange(k)])
        signs[signs == 0] = 1.0
        self.coef_ = coef
        self.intercept_ = fit.y_mean[0].cpu().numpy()
        self.x_mean_ = np.asarray(x_mean, dtype=np.float64)
        self.x_weights_ = weights * signs
        self.x_loadings_ = x_loadings * signs
        self.y_loadings_ = fit.y_loadings[0].cpu().numpy() * signs
        self.y_weights_ = self.y_loadings_.copy()
        self.x_scores_ = T.cpu().numpy() * signs
        self.dual_coef_ = B.cpu().numpy()
        self.n_components_ = int(fit.n_components[0])
        self.n_iter_ = [int(i) for i in fit.n_iter[0, :self.n_components_]]
        self.n_features_in_ = n_features
        return self

    def _column_mean(self, X, device):
        total = torch.zeros(X.shape[1], dtype=torch.float64, device=device)
        for start, stop, chunk in iter_column_chunks(X, device, torch.float64, self.chunk_size):
            total[start:stop] = chunk.mean(dim=0)
        return total.cpu().numpy()

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array-like or Tensor, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) or (n_samples, n_targets)
            1-D when the model was fitted on a 1-D ``y``.
        """
        if not hasattr(self, 'coef_'):
            raise ValueError("This TorchPLSRegression instance is not fitted yet; call fit first.")
        X = _as_2d_float('X', X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}.")
        device = resolve_device(self.device)
        coef = torch.as_tensor(self.coef_, device=device, dtype=self.dtype)
        shift = torch.as_tensor(self.x_mean_, device=device, dtype=self.dtype)
        prediction = torch.zeros((X.shape[0], coef.shape[0]), device=device, dtype=self.dtype)
        for start, stop, chunk in iter_column_chunks(X, device, self.dtype, self.chunk_size):
            chunk -= shift[start:stop]
            prediction.addmm_(chunk, coef[:, start:stop].T)
        prediction += torch.as_tensor(self.intercept_, device=device, dtype=self.dtype)
        prediction = prediction.cpu().numpy().astype(np.float64)
        return prediction.ravel() if self._predict_1d else prediction
