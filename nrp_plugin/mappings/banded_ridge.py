"""Banded ridge: ridge on every component of every layer with one weight per layer."""
import numpy as np
import torch

from ..core.linear_start import layer_weightings
from .base import Mapping


class BandedRidge(Mapping):
    """Ridge on every non-zero principal component of every layer with one weight per layer: ridge in the kernel
    ``sum_g w_g K_g / total_g`` (each layer's centred kernel scaled to unit total variance, as ridge's, then weighed
    by ``w_g``), each site's layer weighting among :func:`nrp_plugin.core.linear_start.layer_weightings` (equal
    weights, then each layer 10 times heavier or lighter than the others) and penalty chosen together by exact
    leave-one-out on the split's training stimuli. Equal weights are ridge: a site keeps them unless another
    weighting's leave-one-out error is lower, and with one layer banded ridge is ridge. Every weighting's fit comes
    from one eigendecomposition (:meth:`nrp_plugin.mappings.SplitPieces.ridge`), the equal one shared with ridge.
    Reports ``layer_weights``: per split, each layer's weight (summing to 1; mean over sites)."""
    name = 'banded_ridge'
    title = 'banded ridge'
    linear = True
    per_split_figures = ('layer_weights',)
    reads = 'components'
    description = ("ridge on every non-zero principal component of every layer with one weight per layer (each "
                   "site's layer weighting, among equal weights and each layer 10 times heavier or lighter, and its "
                   "penalty by leave-one-out on each split's training stimuli)")

    def fit_split(self, pieces):
        weightings = layer_weightings(len(pieces.components))
        fits = [pieces.ridge(weighting) for weighting in weightings]
        errors = torch.stack([fit['loo_error'].cpu() for fit in fits])
        best = errors.argmin(dim=0)  # of equal errors, the first weighting (the equal one first)
        predictions = torch.stack([fit['prediction'] for fit in fits])
        sites = torch.arange(predictions.shape[2], device=predictions.device)
        prediction = predictions[best.to(predictions.device), :, sites].T
        chosen = best.numpy()
        weights = weightings[chosen].T  # (n_layers, n_targets)
        alphas = np.stack([fit['relative_alpha'] for fit in fits])[chosen, np.arange(len(chosen))]
        return prediction, dict(layer_weights=weights / weights.sum(axis=0, keepdims=True), relative_alpha=alphas)

    def figures(self, fit):
        return {'layer_weights': [np.asarray(split['layer_weights']).mean(axis=1).tolist() for split in fit.splits]}
