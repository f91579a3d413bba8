from nrp_plugin.brainscore.pls_metric import PLSTorchMetric


def pls_torch_metric(*args, **kwargs):
    """Brain-Score's PLS-Pearson metric computed in kernel form with torch, batched over splits (higher is better);
    see ``nrp_plugin.brainscore.pls_metric.PLSTorchMetric``."""
    return PLSTorchMetric(*args, **kwargs)
