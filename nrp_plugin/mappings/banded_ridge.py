"""Banded ridge: ridge on every component of every layer with one penalty per layer (himalaya)."""
import numpy as np

from ..core.kernel_references import banded_ridge
from .base import Mapping


class BandedRidge(Mapping):
    """Ridge on every non-zero principal component of every layer with one penalty per layer
    (:func:`nrp_plugin.core.kernel_references.banded_ridge`, himalaya's multiple-kernel ridge): the layers' weights
    and each site's penalty chosen by cross-validation on each split's training stimuli. Reports ``layer_weights``:
    per split, each layer's weight (mean over sites)."""
    name = 'banded_ridge'
    title = 'banded ridge'
    linear = True
    per_split_figures = ('layer_weights',)
    reads = 'components'
    description = ("ridge on every non-zero principal component of every layer with one penalty per layer "
                   "(himalaya's multiple-kernel ridge; the layers' weights and each site's penalty by 3-fold "
                   "cross-validation on each split's training stimuli)")

    def fit_split(self, pieces):
        kernels = [(gram, cross, train.shape[1])
                   for (gram, cross, _), (train, _, _) in zip(pieces.layer_grams(), pieces.components)]
        prediction, info = banded_ridge(kernels, pieces.train_targets)
        return prediction, info

    def figures(self, fit):
        return {'layer_weights': [np.asarray(split['layer_weights']).mean(axis=1).tolist() for split in fit.splits]}
