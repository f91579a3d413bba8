from nrp_plugin.brainscore.nrp_metric import BandedRidgeErrorMetric


def nrp_banded_ridge_metric(*args, **kwargs):
    """Cross-validated banded ridge MAE (one penalty per layer) under the NRP protocol (lower is better); see
    ``nrp_plugin.brainscore.nrp_metric.BandedRidgeErrorMetric``."""
    return BandedRidgeErrorMetric(*args, **kwargs)
