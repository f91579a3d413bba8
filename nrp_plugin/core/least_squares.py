"""Least squares with an intercept, batched over splits (the NRP metric's ``linear`` reference)."""
import torch


def fit_predict(train_inputs, train_targets, test_inputs, ridge=1e-8):
    """Least-squares predictions of the test targets, per split.

    Parameters
    ----------
    train_inputs : Tensor, shape (S, n_train, n_inputs)
    train_targets : Tensor, shape (S, n_train, n_targets)
    test_inputs : Tensor, shape (S, n_test, n_inputs)
    ridge : float
        A vanishing ridge relative to the inputs' scale, only to keep the normal equations solvable
        when columns are collinear.

    Returns
    -------
    Tensor, shape (S, n_test, n_targets)
    """
    dtype = torch.float64
    x_train, y_train, x_test = train_inputs.to(dtype), train_targets.to(dtype), test_inputs.to(dtype)
    x_mean, y_mean = x_train.mean(dim=1, keepdim=True), y_train.mean(dim=1, keepdim=True)
    xc, yc = x_train - x_mean, y_train - y_mean
    gram = xc.transpose(1, 2) @ xc
    scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp(min=1e-12)
    gram = gram + (ridge * scale).view(-1, 1, 1) * torch.eye(gram.shape[-1], dtype=dtype, device=gram.device)
    weights = _solve_positive_definite(gram, xc.transpose(1, 2) @ yc)
    return (x_test - x_mean) @ weights + y_mean


def _solve_positive_definite(gram, right):
    """``gram^-1 @ right`` per split by Cholesky, for the symmetric positive definite ``gram`` (S, p, p).

    Batched LU (``torch.linalg.solve``) is not used: with MKL and more than one torch thread set by
    ``torch.set_num_threads``, some torch builds return invalid pivots for batches of such matrices. A split whose
    Cholesky factorisation fails (not positive definite in floating point) is solved by LU on its own.
    """
    factor, info = torch.linalg.cholesky_ex(gram)
    solution = torch.cholesky_solve(right, factor)
    for split in torch.nonzero(info).flatten().tolist():
        solution[split] = torch.linalg.solve(gram[split], right[split])
    return solution
