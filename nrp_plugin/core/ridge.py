"""The strong linear reference: ridge regression with its penalty chosen on the training rows only.

scikit-learn's ``RidgeCV`` chooses each target's penalty by efficient leave-one-out cross-validation
on the rows it is fitted on, so no test row is ever seen. The penalty grid is relative to the inputs'
scale (the mean non-zero eigenvalue of ``X^T X``), which makes it independent of the features' units.
"""
import numpy as np
import torch
from sklearn.linear_model import RidgeCV

#: Penalties tried, relative to the mean non-zero eigenvalue of the centred ``X^T X``.
RELATIVE_ALPHAS = np.logspace(-8, 6, 29)


def fit_predict_ridge(train_inputs, train_targets, test_inputs, relative_alphas=RELATIVE_ALPHAS):
    """Ridge predictions of one split, each target's penalty chosen by leave-one-out on the training rows.

    Parameters
    ----------
    train_inputs : Tensor or ndarray, shape (n_train, n_inputs)
    train_targets : Tensor or ndarray, shape (n_train, n_targets)
    test_inputs : Tensor or ndarray, shape (n_test, n_inputs)
    relative_alphas : ndarray
        Penalty grid relative to the inputs' scale.

    Returns
    -------
    prediction : ndarray, shape (n_test, n_targets), float64
    relative_alpha : ndarray, shape (n_targets,)
        The chosen penalties, relative to the inputs' scale (at the grid's first or last value means
        the leave-one-out curve kept falling beyond the grid).
    """
    model = _ridge_cv(_numpy(train_inputs), _numpy(train_targets), relative_alphas)
    x_test = _numpy(test_inputs)
    return model.predict(x_test).reshape(len(x_test), -1), np.atleast_1d(model.alpha_) / model.input_scale_


def _ridge_cv(x_train, y_train, relative_alphas):
    """``RidgeCV`` over ``relative_alphas`` times the inputs' scale; the scale is kept as ``input_scale_``."""
    centred = x_train - x_train.mean(axis=0)
    rank = max(1, min(centred.shape[0] - 1, centred.shape[1]))  # non-zero eigenvalues of a centred X^T X
    scale = float((centred ** 2).sum() / rank) or 1.0
    model = RidgeCV(alphas=relative_alphas * scale, alpha_per_target=True, fit_intercept=True).fit(x_train, y_train)
    model.input_scale_ = scale
    return model


def _numpy(values):
    if torch.is_tensor(values):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def ridge_coefficients(train_inputs, train_targets, relative_alphas=RELATIVE_ALPHAS):
    """Ridge weights and intercepts, each target's penalty chosen by leave-one-out on these rows.

    Parameters
    ----------
    train_inputs : Tensor or ndarray, shape (n_rows, n_inputs)
    train_targets : Tensor or ndarray, shape (n_rows, n_targets)

    Returns
    -------
    weights : ndarray, shape (n_inputs, n_targets)
    intercept : ndarray, shape (n_targets,)
    """
    x_train = _numpy(train_inputs)
    model = _ridge_cv(x_train, _numpy(train_targets), relative_alphas)
    return model.coef_.reshape(-1, x_train.shape[1]).T, np.atleast_1d(model.intercept_)
