"""What Brain-Score sees: the NRP-error metric and its references, the PLS metric, the NRP benchmarks, cross-validation
splits, input checks, ceilings, layer choice, access to MajajHong2015 and the synthetic world's data, and the
out-of-core recording of a network's layers.
"""
from .benchmark import CommittingNeuralBenchmark, NRPBenchmark
from .ceiling import ceiled_nrp_score, noise_floor
from .out_of_core import OutOfCoreActivations
from .nrp_metric import CrossValidatedMetric, LeastSquaresErrorMetric, NRPErrorMetric, prepare
from .pls_metric import PLSTorchMetric
from .splits import CrossValidationSpec, build_splits, split_indices

__all__ = ['CommittingNeuralBenchmark', 'CrossValidatedMetric', 'CrossValidationSpec', 'LeastSquaresErrorMetric',
           'NRPBenchmark', 'NRPErrorMetric',
           'OutOfCoreActivations', 'PLSTorchMetric', 'build_splits', 'ceiled_nrp_score', 'noise_floor', 'prepare', 'split_indices']
