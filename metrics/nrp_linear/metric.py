from nrp_plugin.brainscore.nrp_metric import LinearErrorMetric


def nrp_linear_metric(*args, **kwargs):
    """Least squares on the NRP inputs, under the NRP protocol; see ``nrp_plugin.brainscore.nrp_metric.LinearErrorMetric``."""
    return LinearErrorMetric(*args, **kwargs)
