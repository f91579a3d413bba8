"""A model assembly's layers as the mappings read them: feature columns, or one layer's Gram matrix.

A source assembly (``presentation x neuroid``) holds one or more layers, told apart by the ``layer``
coordinate on ``neuroid``. Each layer arrives in one of two forms:

- ``basis='unit'`` (or no ``basis`` coordinate): the recorded features, one column per unit;
- ``basis='gram'``: the out-of-core recording's form of a layer wider than the number of stimuli
  (:mod:`nrp_plugin.brainscore.out_of_core`): its uncentred Gram matrix ``X X^T`` over the recorded
  stimuli, one column per stimulus, with the neuroid coordinate ``kernel_stimulus_id`` naming the stimulus of
  each column and ``layer_width`` the layer's number of units.

Every mapping of this package reads a layer only through the Gram matrix of its centred features, so the
two forms give the same scores. :func:`input_blocks` turns either into
:class:`nrp_plugin.core.reduction.InputBlock` s over the source's rows, each Gram matrix's columns put in the
order of those rows.
"""
import numpy as np

from ..core.reduction import InputBlock, feature_blocks, group_slices

__all__ = ['KERNEL_BASIS', 'input_blocks', 'restrict', 'source_group_coords', 'source_groups']

#: The ``basis`` value of a layer handed on as its Gram matrix.
KERNEL_BASIS = 'gram'


def source_groups(source):
    """Group label per source column: the ``layer`` coordinate when it names more than one layer, else None."""
    try:
        layer = source['layer']
    except KeyError:
        return None
    if layer.dims != ('neuroid',):
        return None
    layers = np.asarray(layer.values)
    return layers if len(np.unique(layers)) > 1 else None


def source_group_coords(source, groups, name):
    """Per group, the first value of the neuroid coordinate ``name``; None when the source has no such coordinate."""
    try:
        values = np.asarray(source[name].values)
    except KeyError:
        return None
    _, indices = group_slices(groups)
    return [values[0]] if indices is None else [values[columns[0]] for columns in indices]


def input_blocks(source, groups=None):
    """One :class:`InputBlock` per group of ``source``'s columns, over its rows in their order.

    Parameters
    ----------
    source : NeuroidAssembly, dims (presentation, neuroid)
    groups : array-like, shape (n_columns,) or None
        As :func:`source_groups` returns them.

    Returns
    -------
    list of InputBlock
        Feature columns are views of ``source``'s values; a Gram layer's matrix has its columns reordered to
        the rows' stimuli (a view when they already are).
    """
    _, indices = group_slices(groups)
    widths = source_group_coords(source, groups, 'layer_width')
    blocks = feature_blocks(np.asarray(source.values), groups, widths)
    bases = source_group_coords(source, groups, 'basis') or [None] * len(blocks)
    for index, basis in enumerate(bases):
        if basis == KERNEL_BASIS:
            columns = np.arange(source.sizes['neuroid']) if indices is None else indices[index]
            blocks[index] = InputBlock(_rows_order(source, columns, blocks[index].values), 'gram', blocks[index].width)
    return blocks


def _rows_order(source, columns, part):
    """A Gram layer's matrix with column ``i`` the stimulus of row ``i``."""
    column_ids = np.asarray(source['kernel_stimulus_id'].values)[columns]
    row_ids = np.asarray(source['stimulus_id'].values)
    if len(column_ids) == len(row_ids) and np.array_equal(column_ids, row_ids):
        return part
    position = {stimulus_id: index for index, stimulus_id in enumerate(column_ids)}
    missing = [stimulus_id for stimulus_id in row_ids if stimulus_id not in position]
    if missing:
        raise ValueError(f"A Gram-matrix layer of the source has no column for stimuli {missing[:3]}; it was recorded "
                         f"on other stimuli than the source's rows. Record the model on exactly these stimuli.")
    return part[:, [position[stimulus_id] for stimulus_id in row_ids]]


def restrict(source, stimulus_ids, layers=None):
    """The source on a subset of its stimuli (rows in the order of ``stimulus_ids``) and of its layers.

    A Gram layer keeps only the columns of those stimuli: the uncentred Gram matrix of a subset of the stimuli is the
    matching block of the whole one, so the result is the layer as if recorded on the subset alone.

    Parameters
    ----------
    source : NeuroidAssembly, dims (presentation, neuroid)
    stimulus_ids : sequence of str
        Each among the source's ``stimulus_id`` values.
    layers : sequence of str, optional
        The layers kept (``layer`` coordinate); all by default.

    Returns
    -------
    NeuroidAssembly, shape (len(stimulus_ids), n_kept_columns)
    """
    stimulus_ids = [str(value) for value in stimulus_ids]
    position = {str(value): index for index, value in enumerate(np.asarray(source['stimulus_id'].values))}
    missing = [value for value in stimulus_ids if value not in position]
    if missing:
        raise ValueError(f"The source has no row for stimuli {missing[:3]}; record the model on them first.")
    columns = np.ones(source.sizes['neuroid'], dtype=bool)
    if layers is not None:
        names = np.asarray(source['layer'].values).astype(str)
        unknown = [str(layer) for layer in layers if str(layer) not in set(names)]
        if unknown:
            raise ValueError(f"The source lacks the layers {unknown}; record them first.")
        columns &= np.isin(names, [str(layer) for layer in layers])
    if 'basis' in source.coords:
        gram = np.asarray(source['basis'].values).astype(str) == KERNEL_BASIS
        columns &= ~gram | np.isin(np.asarray(source['kernel_stimulus_id'].values).astype(str), stimulus_ids)
    return source.isel(presentation=[position[value] for value in stimulus_ids], neuroid=np.flatnonzero(columns))
