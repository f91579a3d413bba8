from nrp_plugin.brainscore.nrp_metric import LinearErrorMetric


def nrp_linear_metric(*args, **kwargs):
    """The paper's linear baseline under the NRP protocol; see ``nrp_plugin.brainscore.nrp_metric.LinearErrorMetric``."""
    return LinearErrorMetric(*args, **kwargs)
