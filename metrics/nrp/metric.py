from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric


def nrp_metric(*args, **kwargs):
    """Cross-validated NRP-error (lower is better); see ``nrp_plugin.brainscore.nrp_metric.NRPErrorMetric``."""
    return NRPErrorMetric(*args, **kwargs)
