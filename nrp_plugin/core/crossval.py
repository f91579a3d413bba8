"""Cross-validated data as the mappings see it, and the NRP fitted on it, batched over splits.

Nothing here knows about Brain-Score: :class:`CrossValidatedData` holds plain tensors, one slice per
split, built by :func:`nrp_plugin.brainscore.nrp_metric.prepare` from assemblies (or by hand).
"""
from dataclasses import dataclass

import numpy as np
import torch

from . import network, scoring
from .linear_start import GroupKernels


@dataclass
class CrossValidatedData:
    """Everything a mapping needs for all splits, computed once.

    Attributes
    ----------
    train_inputs, test_inputs : Tensor, shapes (S, n_train, n_inputs) and (S, n_test, n_inputs)
    train_targets, test_targets : Tensor, shapes (S, n_train, n_targets) and (S, n_test, n_targets)
    group_names : list
        One name per input group (a model layer), ``[None]`` for a source without layers.
    group_sizes : list of int
        Width of each group's block of input columns, in column order.
    neuroid_ids : ndarray, shape (n_targets,)
    train_ids, test_ids : list of ndarray
        Stimulus ids of each split's training and test rows.
    kept : ndarray of int, shape (n_groups, S), optional
        Principal components kept per group and split (before padding).
    ridge_prediction : Tensor, shape (S, n_test, n_targets), optional
        The ridge reference's test predictions, when prepared with it.
    ridge_alpha : ndarray, shape (S, n_targets), optional
        Its chosen penalties, relative to the inputs' scale.
    kernels : GroupKernels, optional
        The layers' Gram matrices, from which the NRP's linear path starts at ridge on every component
        (:mod:`nrp_plugin.core.linear_start`); without them it starts at ridge on the inputs.
    """
    train_inputs: torch.Tensor
    test_inputs: torch.Tensor
    train_targets: torch.Tensor
    test_targets: torch.Tensor
    group_names: list
    group_sizes: list
    neuroid_ids: np.ndarray
    train_ids: list
    test_ids: list
    kept: np.ndarray = None
    ridge_prediction: torch.Tensor = None
    ridge_alpha: np.ndarray = None
    kernels: GroupKernels = None

    @property
    def n_splits(self):
        return self.train_inputs.shape[0]


def split_seed(random_state, split):
    """The seed of one split's network: a fixed function of the metric's seed and the split index."""
    return int(np.random.SeedSequence([int(random_state), int(split)]).generate_state(1)[0])


def fit_predict_nrp(train_inputs, train_targets, test_inputs, group_sizes, config, seeds, device,
                    dtype=torch.float32, progress=None, kernels=None):
    """Train one NRP per split on standardised targets and predict the test rows in the targets' units.

    Parameters
    ----------
    train_inputs : Tensor, shape (S, n_train, n_inputs)
    train_targets : Tensor, shape (S, n_train, n_targets)
        Standardised here with each split's training mean and standard deviation.
    test_inputs : Tensor, shape (S, n_test, n_inputs)
    group_sizes : sequence of int
    config : NRPConfig
    seeds : sequence of int, length S
    device : torch.device
    kernels : GroupKernels, optional
        For these fits, with ``new_rows`` the test rows (see :func:`nrp_plugin.core.network.train`).

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64, on the targets' device
    info : dict
        As :func:`nrp_plugin.core.network.train` returns it.
    """
    mean = train_targets.mean(dim=1, keepdim=True)
    std = train_targets.std(dim=1, unbiased=False, keepdim=True).clamp(min=1e-12)
    params, layout, info = network.train(train_inputs, (train_targets - mean) / std, group_sizes, config, seeds,
                                       device, dtype=dtype, progress=progress, linear_kernels=kernels)
    standardised = network.predict(params, layout, test_inputs, device, dtype=dtype).double().to(mean.device)
    if 'linear_start' in info:  # the linear path's fixed part (ridge on the components outside the inputs)
        standardised = standardised + network.new_row_offset(info, test_inputs).to(standardised)
    return standardised * std + mean, info


def fit_nrp(data, config, random_state, device, dtype=torch.float32, progress=None):
    """Train the NRP on every split of ``data`` at once, each split seeded by :func:`split_seed`.

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64, in the targets' units
    info : dict
    """
    seeds = [split_seed(random_state, split) for split in range(data.n_splits)]
    return fit_predict_nrp(data.train_inputs, data.train_targets, data.test_inputs, data.group_sizes, config,
                           seeds, device, dtype=dtype, progress=progress, kernels=data.kernels)


def mean_predictor_mae(data):
    """MAE of predicting each site's training mean on the test rows, shape (S, n_targets)."""
    prediction = data.train_targets.mean(dim=1, keepdim=True).expand_as(data.test_targets)
    return scoring.mae(prediction, data.test_targets)
