import warnings

from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric


def nrp_least_squares_metric(*args, **kwargs):
    """Least squares on the NRP inputs, under the NRP protocol; see
    ``nrp_plugin.brainscore.nrp_metric.LeastSquaresErrorMetric``."""
    return LeastSquaresErrorMetric(*args, **kwargs)


def nrp_linear_metric(*args, **kwargs):
    """The former identifier of ``nrp_least_squares`` (deprecated)."""
    warnings.warn("The metric 'nrp_linear' is now 'nrp_least_squares'; load_metric('nrp_linear') will be removed.",
                  FutureWarning, stacklevel=2)
    return LeastSquaresErrorMetric(*args, **kwargs)
