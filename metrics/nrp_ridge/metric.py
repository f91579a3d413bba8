from nrp_plugin.brainscore.nrp_metric import RidgeErrorMetric


def nrp_ridge_metric(*args, **kwargs):
    """Cross-validated ridge MAE under the NRP protocol (lower is better); see
    ``nrp_plugin.brainscore.nrp_metric.RidgeErrorMetric``."""
    return RidgeErrorMetric(*args, **kwargs)
