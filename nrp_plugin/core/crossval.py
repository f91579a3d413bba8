"""Cross-validated data as the mappings see it, and the NRP fitted on it, batched over splits.

Nothing here knows about Brain-Score: :class:`CrossValidatedData` holds plain tensors, one slice per
split, built by :func:`nrp_plugin.brainscore.nrp_metric.prepare` from assemblies (or by hand).
"""
from dataclasses import dataclass

import numpy as np
import torch

from . import combination, network, scoring
from .kernels import GroupKernels


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
    kernels : GroupKernels, optional
        The layers' Gram matrices, from which the NRP's linear path starts at ridge on every component
        (:mod:`nrp_plugin.core.linear_start`); without them it starts at ridge on the inputs.
    layer_choice : list of dict, optional
        Per split, the input layers chosen on its training rows when the groups are candidate layers rather than
        the inputs (``layer``, the best-scoring layer; ``layers``, the NRP's input layers; ``scores``, every
        candidate's score; ``windows``, every candidate's input layers): the mappings then read only each
        split's ``layers``.
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
    kernels: GroupKernels = None
    layer_choice: list = None

    @property
    def n_splits(self):
        return self.train_inputs.shape[0]

    def split_layers(self):
        """Per split, the input layers its mappings read: ``layer_choice``'s, else every group."""
        if self.layer_choice is None:
            return [tuple(self.group_names)] * self.n_splits
        return [tuple(choice['layers']) for choice in self.layer_choice]


def layer_columns(group_names, group_sizes, layers):
    """Column indices of ``layers`` (group names, in the given order) in the inputs, each one's width and group index.

    ``layers == (None,)`` or all the groups in order: every column.
    """
    names = [None if name is None else str(name) for name in group_names]
    offsets = np.concatenate([[0], np.cumsum(group_sizes)]).astype(int)
    indices = [names.index(None if name is None else str(name)) for name in layers]
    columns = np.concatenate([np.arange(offsets[index], offsets[index + 1]) for index in indices])
    return torch.as_tensor(columns), [int(group_sizes[index]) for index in indices], indices


def per_layer_subset(data, keys, fit):
    """Run ``fit`` once per distinct ``keys[s]`` on the splits that share it, on their layers' columns only.

    Parameters
    ----------
    data : CrossValidatedData
    keys : list of tuple, one per split
        ``keys[s][0]`` is the split's input layers (group names); the rest (e.g. a configuration) only groups.
    fit : callable
        ``fit(key, splits, train_inputs, train_targets, test_inputs, group_sizes, kernels)`` on the splits' slices
        (kernels None without ``data.kernels``); returns ``(prediction (len(splits), n_test, n_targets), info)``.

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64, on the targets' device
    infos : list of (splits, info)
    """
    prediction = torch.zeros(data.test_targets.shape, dtype=torch.float64)
    groups = {}
    for split, key in enumerate(keys):
        groups.setdefault(key, []).append(split)
    infos = []
    for key, splits in groups.items():
        index = torch.as_tensor(splits)
        pick = lambda tensor: tensor[index.to(tensor.device)]
        columns, sizes, groups_used = layer_columns(data.group_names, data.group_sizes, key[0])
        select = lambda tensor: tensor[..., columns.to(tensor.device)]
        kernels = None if data.kernels is None else data.kernels.take(fits=splits, groups=groups_used)
        predicted, info = fit(key, splits, select(pick(data.train_inputs)), pick(data.train_targets),
                              select(pick(data.test_inputs)), sizes, kernels)
        prediction[index] = predicted.double().cpu()
        infos.append((splits, info))
    return prediction.to(data.test_targets.device), infos


def split_seed(random_state, split):
    """The seed of one split's network: a fixed function of the metric's seed and the split index."""
    return int(np.random.SeedSequence([int(random_state), int(split)]).generate_state(1)[0])


def fit_predict_nrp(train_inputs, train_targets, test_inputs, group_sizes, config, seeds, device,
                    dtype=torch.float32, progress=None, kernels=None):
    """Train one NRP per split (on standardised targets unless ``config.standardize_targets`` is False) and predict
    the test rows in the targets' units.

    Parameters
    ----------
    train_inputs : Tensor, shape (S, n_train, n_inputs)
    train_targets : Tensor, shape (S, n_train, n_targets)
        Standardised here with each split's training mean and standard deviation (see ``config``).
    test_inputs : Tensor, shape (S, n_test, n_inputs)
    group_sizes : sequence of int
    config : NRPConfig
    seeds : sequence of int, length S
    device : torch.device
    kernels : GroupKernels, optional
        For these fits, with ``new_rows`` the test rows (see :func:`nrp_plugin.core.combination.train`).

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64, on the targets' device
    info : dict
        As :func:`nrp_plugin.core.combination.train` returns it.
    """
    mean = train_targets.mean(dim=1, keepdim=True)
    std = train_targets.std(dim=1, unbiased=False, keepdim=True).clamp(min=1e-12)
    if not config.standardize_targets:  # train on the targets as they are
        mean, std = torch.zeros_like(mean), torch.ones_like(std)
    params, layout, info = combination.train(train_inputs, (train_targets - mean) / std, group_sizes, config,
                                           seeds, device, dtype=dtype, progress=progress, linear_kernels=kernels)
    standardised = network.predict(params, layout, test_inputs, device, dtype=dtype).double().to(mean.device)
    if 'linear_start' in info:  # the linear path's fixed part (ridge on the components outside the inputs)
        standardised = standardised + combination.new_row_offset(info, test_inputs).to(standardised)
    return standardised * std + mean, info


def fit_nrp(data, config, random_state, device, dtype=torch.float32, progress=None):
    """Train the NRP on every split of ``data``, each split seeded by :func:`split_seed`, on its input layers
    (:meth:`CrossValidatedData.split_layers`; splits with the same layers train as one batch).

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64, in the targets' units
    info : dict
        As :func:`nrp_plugin.core.combination.train` reports it, its per-split entries (``best_epoch``, ``mix``,
        ``paper_best_epoch``, ``linear_start``'s ``every``, ``banded`` and ``validation_mse``) in split order.
    """
    if data.layer_choice is None:
        seeds = [split_seed(random_state, split) for split in range(data.n_splits)]
        return fit_predict_nrp(data.train_inputs, data.train_targets, data.test_inputs, data.group_sizes, config,
                               seeds, device, dtype=dtype, progress=progress, kernels=data.kernels)
    return fit_nrp_per_split(data, [(layers, config) for layers in data.split_layers()], random_state, device,
                             dtype=dtype)


def fit_nrp_per_split(data, choices, random_state, device, dtype=torch.float32):
    """Train each split's own configuration on its own input layers; splits that share both train as one batch.

    Parameters
    ----------
    choices : list of (tuple of str, NRPConfig), one per split

    Returns
    -------
    prediction, info : as :func:`fit_nrp`
    """
    def fit(key, splits, train_inputs, train_targets, test_inputs, sizes, kernels):
        seeds = [split_seed(random_state, split) for split in splits]
        return fit_predict_nrp(train_inputs, train_targets, test_inputs, sizes, key[1], seeds, device, dtype=dtype,
                               kernels=kernels)
    prediction, infos = per_layer_subset(data, [(tuple(layers), config) for layers, config in choices], fit)
    return prediction, merge_split_info(infos, data.n_splits)


def merge_split_info(infos, n_splits):
    """The per-split entries of several fits' ``info`` (each for some of the splits) in split order."""
    merged = {}

    def place(name, splits, values, container):
        values = np.asarray(values.cpu() if torch.is_tensor(values) else values)
        if name not in container:
            container[name] = np.zeros((n_splits,) + values.shape[1:], dtype=values.dtype)
        container[name][splits] = values

    for splits, info in infos:
        for name in ('best_epoch', 'mix', 'paper_best_epoch'):
            if name in info:
                place(name, splits, info[name], merged)
        if 'linear_start' in info:
            start = merged.setdefault('linear_start', {})
            for name in ('every', 'banded', 'validation_mse'):
                place(name, splits, info['linear_start'][name], start)
    return merged


def mean_predictor_mae(data):
    """MAE of predicting each site's training mean on the test rows, shape (S, n_targets)."""
    prediction = data.train_targets.mean(dim=1, keepdim=True).expand_as(data.test_targets)
    return scoring.mae(prediction, data.test_targets)
