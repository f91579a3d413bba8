from nrp_plugin.metrics import NRPErrorMetric


def nrp_metric(*args, **kwargs):
    """Cross-validated NRP-error (lower is better); see ``nrp_plugin.metrics.NRPErrorMetric``."""
    return NRPErrorMetric(*args, **kwargs)
