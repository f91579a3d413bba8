"""Nested grid search over the NRP's input layers, layer sizes and learning rate.

Anand, Sen & Roy (2021) choose the NRP's input layers, NRP-L1/NRP-L2 sizes and learning rate by grid
search (their Fig. 3A shows the error against the L1/L2 sizes). Here the search is nested inside the
cross-validation so that it never sees a test image: for every outer split,

1. an inner validation part (``inner_validation_fraction`` of the outer training stimuli, drawn with
   a seed fixed per split) is carved from the outer *training* rows only;
2. every grid configuration is trained on the rest of the outer training rows and its mean absolute
   error (MAE, in the targets' units, mean over neuroids) is measured on the inner validation part;
3. the configuration with the lowest inner-validation MAE is retrained on all outer training rows and
   evaluated on the outer test rows, exactly as the plain metric evaluates its fixed configuration.

All outer splits of one configuration train together as one batch (:func:`nrp_plugin.core.combination.train`).
A layer subset keeps the columns of the chosen groups of the prepared inputs; those were reduced with
a PCA fitted on each split's outer training rows only, so the subset selection adds no leak.

Use it through the metric, ``NRPErrorMetric(search=SearchGrid.default())``, or on prepared data with
:func:`nested_search`; :func:`nrp_plugin.search.summary.write_search_summary` writes the validation table and the L1 x L2 heat-map.
"""
from dataclasses import replace

import numpy as np
import torch

from ..core import scoring
from ..core.crossval import fit_nrp_per_split, fit_predict_nrp, layer_columns
from .grid import SearchGrid


def inner_seed(random_state, split):
    """Seed of one split's inner validation carve-out and inner networks (fixed per split)."""
    return int(np.random.SeedSequence([int(random_state), int(split), 7919]).generate_state(1)[0])


def _layer_subset(group_names, group_sizes, layers, kernels):
    """``(select, sizes, kernels)`` of a layer subset: a column selector for the inputs, the groups' widths and
    the kernels of those groups (None without kernels). ``layers == (None,)`` keeps every group."""
    if layers == (None,):
        return (lambda t: t), list(group_sizes), kernels
    columns, sizes, indices = layer_columns(group_names, group_sizes, layers)
    return (lambda t: t[..., columns.to(t.device)]), sizes, None if kernels is None else kernels.take(groups=indices)


def configuration(base, l1, l2, rate):
    """``base`` with NRP-L1 and NRP-L2 sizes ``l1``, ``l2`` and learning rate ``rate``."""
    return replace(base, l1_size=int(l1), l2_size=int(l2), learning_rate=float(rate))


def _take(tensor, rows):
    return torch.stack([tensor[s][torch.as_tensor(r, dtype=torch.long, device=tensor.device)]
                        for s, r in enumerate(rows)])


def select_configurations(pool_inputs, pool_targets, train_rows, group_names, group_sizes, grid, base_config,
                          random_state=0, device='cpu', progress=None, pool_kernels=None):
    """Choose one configuration per outer split using only that split's outer training rows.

    Parameters
    ----------
    pool_inputs : Tensor, shape (S, n_pool, n_inputs)
        Prepared inputs of split ``s``'s stimuli (the rows given in ``train_rows[s]`` are its outer
        training stimuli; any other row is never read).
    pool_targets : Tensor, shape (S, n_pool, n_targets)
    train_rows : list of S int arrays, all of one length
        Rows of the pool that are split ``s``'s outer training stimuli.
    group_names, group_sizes : as in :class:`nrp_plugin.core.crossval.CrossValidatedData`
    grid : SearchGrid
    base_config : NRPConfig
        Everything but ``l1_size``, ``l2_size`` and ``learning_rate`` is taken from it.
    pool_kernels : GroupKernels, optional
        The layers' Gram matrices for the linear path, ``rows`` (S, n_pool) giving each pool row's index in
        them (:mod:`nrp_plugin.core.linear_start`).

    Returns
    -------
    choices : list of S dicts
        ``layers``, ``l1_size``, ``l2_size``, ``learning_rate``, ``validation_mae``.
    table : list of dicts, one per configuration
        ``layers``, ``l1_size``, ``l2_size``, ``learning_rate``, ``validation_mae`` (mean over splits),
        ``split_validation_mae`` (per split), ``best_epoch`` (per split).
    """
    n_splits = pool_inputs.shape[0]
    rows = [np.asarray(r, dtype=int) for r in train_rows]
    if len(rows) != n_splits or len({len(r) for r in rows}) != 1:
        raise ValueError("train_rows needs one index array per split, all of the same length.")
    n_train = len(rows[0])
    n_validation = max(1, int(round(grid.inner_validation_fraction * n_train)))
    if n_train - n_validation < 4:
        raise ValueError(f"{n_train} training stimuli are too few for an inner validation part of "
                         f"{grid.inner_validation_fraction}.")
    fit_rows, validation_rows, seeds = [], [], []
    for split, r in enumerate(rows):
        seed = inner_seed(random_state, split)
        order = np.random.default_rng(seed).permutation(n_train)
        validation_rows.append(r[order[:n_validation]])
        fit_rows.append(r[order[n_validation:]])
        seeds.append(seed)
    fit_x, fit_y = _take(pool_inputs, fit_rows), _take(pool_targets, fit_rows)
    val_x, val_y = _take(pool_inputs, validation_rows), _take(pool_targets, validation_rows)
    inner_kernels = None
    if pool_kernels is not None:
        inner_kernels = pool_kernels.with_rows(_take(pool_kernels.rows, fit_rows), _take(pool_kernels.rows,
                                                                                         validation_rows))
    table = []
    configurations = grid.configurations(group_names)
    for index, (layers, l1, l2, rate) in enumerate(configurations):
        select, sizes, kernels = _layer_subset(group_names, group_sizes, layers, inner_kernels)
        config = configuration(base_config, l1, l2, rate)
        prediction, info = fit_predict_nrp(select(fit_x), fit_y, select(val_x), sizes, config, seeds, device,
                                           kernels=kernels)
        per_split = scoring.mae(prediction, val_y.double()).mean(dim=1).cpu().numpy()
        table.append(dict(layers=[str(name) for name in layers if name is not None], l1_size=int(l1),
                          l2_size=int(l2), learning_rate=float(rate), validation_mae=float(per_split.mean()),
                          split_validation_mae=[float(v) for v in per_split],
                          best_epoch=[int(e) for e in info['best_epoch']]))
        if progress is not None:
            progress(index + 1, len(configurations), table[-1])
    choices = []
    for split in range(n_splits):
        best = min(table, key=lambda row: row['split_validation_mae'][split])
        choices.append(dict(layers=list(best['layers']), l1_size=best['l1_size'], l2_size=best['l2_size'],
                            learning_rate=best['learning_rate'],
                            validation_mae=best['split_validation_mae'][split]))
    return choices, table


def choice_key(choice):
    """A hashable identity of a chosen configuration: (layers, L1, L2, learning rate)."""
    return tuple(choice['layers']), choice['l1_size'], choice['l2_size'], choice['learning_rate']


def fit_chosen(data, choices, base_config, random_state, device):
    """Retrain each split's chosen configuration on all its outer training rows; test predictions.

    Splits that chose the same configuration train as one batch. Each split's network is seeded with
    :func:`nrp_plugin.core.crossval.split_seed`, as in the plain metric.
    """
    split_choices = [(choice['layers'] or (None,), configuration(base_config, choice['l1_size'], choice['l2_size'],
                                                          choice['learning_rate'])) for choice in choices]
    prediction, info = fit_nrp_per_split(data, split_choices, random_state, device)
    return prediction, info['best_epoch']


def nested_search(data, grid, base_config, random_state=0, device='cpu', progress=None):
    """Run the nested search on prepared data (:class:`nrp_plugin.core.crossval.CrossValidatedData`).

    The inner search is given, per split, a pool of that split's stimuli (outer training rows first,
    then outer test rows) and the indices of the outer training rows only.

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64
    choices, table : see :func:`select_configurations`
    best_epoch : ndarray, shape (S,)
    """
    grid = SearchGrid.coerce(grid)
    pool_inputs = torch.cat([data.train_inputs, data.test_inputs], dim=1)
    pool_targets = torch.cat([data.train_targets, data.test_targets], dim=1)
    n_train = data.train_inputs.shape[1]
    train_rows = [np.arange(n_train) for _ in range(data.n_splits)]
    pool_kernels = None
    if data.kernels is not None:
        pool_rows = torch.cat([data.kernels.rows, data.kernels.new_rows], dim=1)
        pool_kernels = data.kernels.with_rows(pool_rows, pool_rows[:, :0])
    choices, table = select_configurations(pool_inputs, pool_targets, train_rows, data.group_names,
                                           data.group_sizes, grid, base_config, random_state, device, progress,
                                           pool_kernels=pool_kernels)
    prediction, best_epoch = fit_chosen(data, choices, base_config, random_state, device)
    return prediction, choices, table, best_epoch
