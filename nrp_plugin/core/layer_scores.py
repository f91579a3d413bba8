"""How well each model layer predicts the responses, from training rows alone: the layer-choice criterion.

A layer is scored by the median, over recording sites, of the leave-one-out coefficient of determination
``1 - sum((y - y_loo)^2) / sum((y - mean(y))^2)``, where ``y_loo`` is each training row's prediction by ridge
regression fitted without it on every non-zero principal component of the layer (its centred features; each
site's penalty chosen by leave-one-out, as :func:`nrp_plugin.core.ridge.eigen_ridge` computes it).
Ridge's leave-one-out prediction is exact and cheap (the kernel does not depend on the rows it is fitted on),
so the score needs no split of the rows and no random draw, and a wide layer gets no advantage from fitting
its own training rows: a layer of pure noise scores about 0. (The Pearson r of leave-one-out predictions would
not do: where the best ridge shrinks to the mean, each row's prediction is the mean of the others, which is
perfectly anti-correlated with the row.)

The score needs only the principal components of the rows (:func:`nrp_plugin.core.reduction.components`), so a
caller that has them (the NRP's input preparation, per split) pays nothing more than the ridge solves.
"""
import numpy as np
import torch

from .ridge import SEARCH_DTYPE, eigen_ridge

__all__ = ['best_layers', 'loo_r2']


def loo_r2(train_scores, targets, search_dtype=SEARCH_DTYPE):
    """Median over targets of the leave-one-out coefficient of determination of ridge (see the module notes).

    Parameters
    ----------
    train_scores : Tensor, shape (n_rows, r)
        The rows' principal-component scores: centred, mutually orthogonal columns (unwhitened).
    targets : Tensor, shape (n_rows, n_targets)
    search_dtype : torch.dtype or None
        The type of the penalty search (:func:`nrp_plugin.core.ridge.eigen_ridge`); None: the scores' type. The
        leave-one-out predictions of the chosen penalties are in the scores' type either way.

    Returns
    -------
    float
        NaN-skipping median over targets (a constant target has none).
    """
    eigenvalues = (train_scores ** 2).sum(dim=0)
    keep = eigenvalues > 0
    eigenvalues = eigenvalues[keep]
    eigenvectors = train_scores[:, keep] / eigenvalues.sqrt()
    targets = targets.to(train_scores)
    *_, loo = eigen_ridge(eigenvalues, eigenvectors, targets, search_dtype=search_dtype)
    total = ((targets - targets.mean(dim=0)) ** 2).sum(dim=0)
    press = ((targets - loo) ** 2).sum(dim=0)
    r2 = torch.where(total > 0, 1 - press / total.clamp(min=torch.finfo(total.dtype).tiny), float('nan'))
    return float(np.nanmedian(r2.cpu().numpy()))


def best_layers(scores):
    """Per split, the index of the best-scoring layer; ties go to the earlier layer.

    Parameters
    ----------
    scores : array-like, shape (S, n_layers)
        :func:`loo_r2` of every layer on every split's training rows (NaN: never chosen).

    Returns
    -------
    ndarray of int, shape (S,)
    """
    scores = np.where(np.isnan(np.asarray(scores, dtype=float)), -np.inf, np.asarray(scores, dtype=float))
    return np.argmax(scores, axis=1)
