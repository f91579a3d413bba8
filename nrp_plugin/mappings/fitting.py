"""Fitting several mappings on the same splits, each shared piece computed once.

The mappings that read every component (:attr:`Mapping.reads` ``'components'``) are fitted split by split while
the input preparation holds that split's components (:class:`SplitFits`, handed to
:func:`nrp_plugin.core.reduction.prepare_blocks` as its ``on_components``); the others are fitted on the prepared
data afterwards (:func:`fit_mappings`).
"""
import torch

from ..core.ridge import SEARCH_DTYPE
from .base import MappingFit, SplitPieces

__all__ = ['SplitFits', 'fit_mappings']


class SplitFits:
    """The fits of the mappings that read every component, made split by split, on one or more sets of inputs.

    Parameters
    ----------
    mappings : list of Mapping
        Those with ``reads='components'``.
    train_targets : Tensor, shape (S, n_train, n_targets)
    split_groups : list of list of int, optional
        Per split, the indices (in the prepared groups' order) of the layers it reads; every group when None.
    input_sets : dict of str -> list of list of int, optional
        Further sets of inputs, by the suffix their fits are named with (``'ridge' + suffix``): per split, the
        group indices each reads (e.g. ``{'_on_layer': [[1], [1], ...]}``, the committed layer alone).
    """

    def __init__(self, mappings, train_targets, split_groups=None, input_sets=None):
        self.mappings = list(mappings)
        self.train_targets = train_targets
        self.input_sets = {'': split_groups, **(input_sets or {})}
        self._fits = {mapping.name + suffix: {} for mapping in self.mappings for suffix in self.input_sets}

    def __bool__(self):
        return bool(self.mappings)

    def __call__(self, split, components):
        """Fit every mapping on one split's components (``prepare_blocks``'s ``on_components``), for each set of
        inputs; each layer's kernels are formed once for all of them, and the ridge fits' penalty search runs in
        :data:`nrp_plugin.core.ridge.SEARCH_DTYPE`."""
        shared = SplitPieces(split, components, self.train_targets[split], search_dtype=SEARCH_DTYPE)
        for suffix, split_groups in self.input_sets.items():
            pieces = shared if split_groups is None else shared.subset(split_groups[split])
            for mapping in self.mappings:
                self._fits[mapping.name + suffix][split] = mapping.fit_split(pieces)

    def result(self, name, device=None):
        """The :class:`MappingFit` of one mapping (name with its inputs' suffix) over every split, splits in order."""
        fits = self._fits[name]
        splits = sorted(fits)
        prediction = torch.stack([torch.as_tensor(fits[split][0], dtype=torch.float64) for split in splits])
        return MappingFit(prediction if device is None else prediction.to(device), [fits[split][1] for split in splits])


def fit_mappings(mappings, data, split_fits=None, suffix=''):
    """Every mapping's fit on the prepared data, in the given order.

    Parameters
    ----------
    mappings : list of Mapping
    data : CrossValidatedData
    split_fits : SplitFits, optional
        Holding the fits of the mappings that read every component (made during the preparation).
    suffix : str
        The set of inputs (``split_fits``' suffix; ``data`` restricted to those inputs): the fits are named
        ``mapping.name + suffix``.

    Returns
    -------
    dict of str -> MappingFit
    """
    fits = {}
    for mapping in mappings:
        name = mapping.name + suffix
        if mapping.reads == 'components':
            if split_fits is None or name not in split_fits._fits:
                raise ValueError(f'{mapping.name} reads every component: prepare the data with its SplitFits.')
            fits[name] = split_fits.result(name, data.test_targets.device)
        else:
            fits[name] = mapping.fit(data)
    return fits
