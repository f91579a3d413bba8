"""Partial least squares as Brain-Score's ``pls`` metric fits it (scikit-learn's NIPALS, 25 components),
computed from the stimulus-by-stimulus kernel and batched over cross-validation splits. No Brain-Score import.
"""
from .estimator import TorchPLSRegression
from .kernel_pls import KernelPLSFit, cross_validated_pls, fit_kernel_pls, predict_kernel_pls

__all__ = ['KernelPLSFit', 'TorchPLSRegression', 'cross_validated_pls', 'fit_kernel_pls', 'predict_kernel_pls']
