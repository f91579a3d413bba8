"""Estimators and numerics: the NRP network and regressor, input reduction, the linear baseline,
error measures, kernels and the one place the compute device is chosen. No Brain-Score import.
"""
from .crossval import CrossValidatedData, fit_nrp, fit_predict_nrp, mean_predictor_mae, split_seed
from .device import resolve_device
from .kernels import gram_matrix
from .network import NRPConfig
from .reduction import DEFAULT_MAX_COMPONENTS, GroupReduction, prepare_splits
from .regressor import NRPRegressor

__all__ = ['CrossValidatedData', 'DEFAULT_MAX_COMPONENTS', 'GroupReduction', 'NRPConfig', 'NRPRegressor',
           'fit_nrp', 'fit_predict_nrp', 'gram_matrix', 'mean_predictor_mae', 'prepare_splits', 'resolve_device',
           'split_seed']
