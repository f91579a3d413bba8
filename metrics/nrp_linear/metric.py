from nrp_plugin.metrics import LinearErrorMetric


def nrp_linear_metric(*args, **kwargs):
    """The paper's linear baseline under the NRP protocol; see ``nrp_plugin.metrics.LinearErrorMetric``."""
    return LinearErrorMetric(*args, **kwargs)
