from nrp_plugin.brainscore.nrp_metric import KernelRidgeErrorMetric


def nrp_kernel_ridge_metric(*args, **kwargs):
    """Cross-validated RBF kernel ridge MAE on the NRP inputs, under the NRP protocol (lower is better); see
    ``nrp_plugin.brainscore.nrp_metric.KernelRidgeErrorMetric``."""
    return KernelRidgeErrorMetric(*args, **kwargs)
