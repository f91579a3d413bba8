"""Per-split error measures shared by every mapping (batched over splits)."""
import torch


def mae(prediction, target):
    """Mean absolute error per split and target.

    Parameters
    ----------
    prediction, target : Tensor, shape (S, n_rows, n_targets)

    Returns
    -------
    Tensor, shape (S, n_targets)
    """
    return (prediction - target).abs().mean(dim=1)


def pearson(prediction, target):
    """Pearson r per split and target, with ``scipy.stats.pearsonr``'s rule for constant columns.

    Parameters
    ----------
    prediction, target : Tensor, shape (S, n_rows, n_targets)

    Returns
    -------
    Tensor, shape (S, n_targets)
        NaN where the prediction or the target is constant over the rows (r is undefined there);
        otherwise clipped to [-1, 1].
    """
    p = prediction - prediction.mean(dim=1, keepdim=True)
    t = target - target.mean(dim=1, keepdim=True)
    denominator = (p.pow(2).sum(dim=1) * t.pow(2).sum(dim=1)).sqrt()
    r = ((p * t).sum(dim=1) / denominator).clamp(-1, 1)
    constant = (prediction.amax(dim=1) == prediction.amin(dim=1)) | (target.amax(dim=1) == target.amin(dim=1))
    return torch.where(constant, torch.full_like(r, float('nan')), r)


def r2(prediction, target):
    """Coefficient of determination per split and target (as scikit-learn's ``r2_score``): (S, n_targets)."""
    residual = (target - prediction).pow(2).sum(dim=1)
    total = (target - target.mean(dim=1, keepdim=True)).pow(2).sum(dim=1)
    return 1 - residual / total.clamp(min=1e-30)
