"""Per-split error measures shared by the metrics (all batched over splits)."""


def mae(prediction, target):
    """Mean absolute error per split and target: shape (S, n_targets)."""
    return (prediction - target).abs().mean(dim=1)


def pearson(prediction, target):
    """Pearson r per split and target: shape (S, n_targets)."""
    p = prediction - prediction.mean(dim=1, keepdim=True)
    t = target - target.mean(dim=1, keepdim=True)
    denominator = (p.pow(2).sum(dim=1) * t.pow(2).sum(dim=1)).sqrt()
    return (p * t).sum(dim=1) / denominator.clamp(min=1e-30)


def r2(prediction, target):
    """Coefficient of determination per split and target (as scikit-learn's ``r2_score``): (S, n_targets)."""
    residual = (target - prediction).pow(2).sum(dim=1)
    total = (target - target.mean(dim=1, keepdim=True)).pow(2).sum(dim=1)
    return 1 - residual / total.clamp(min=1e-30)
