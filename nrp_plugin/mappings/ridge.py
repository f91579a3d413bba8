"""Ridge on every non-zero principal component of every layer, each site's penalty by leave-one-out."""
import numpy as np
import torch

from ..core.ridge import RELATIVE_ALPHAS, fit_predict_dual_ridge
from .base import Mapping


class Ridge(Mapping):
    """Ridge on every non-zero principal component of every layer of a split, each layer scaled to unit total
    variance (for one layer: ridge on its raw centred features), each site's penalty chosen by exact leave-one-out
    on the split's training stimuli (:func:`nrp_plugin.core.ridge.fit_predict_ridge`, what scikit-learn's
    ``RidgeCV`` computes). Reports ``alpha_at_edge``: the share of (split, site) penalties at the grid's edge."""
    name = 'ridge'
    title = 'ridge'
    linear = True
    reads = 'components'
    description = ("ridge on every non-zero principal component of every layer (each layer scaled to unit total "
                   "variance), each site's penalty by leave-one-out")

    def fit_split(self, pieces):
        # the kernel of the concatenated components, each layer divided by the root of its total variance
        train_kernel = sum(gram / total.clamp(min=1e-12) for gram, _, total in pieces.layer_grams())
        cross_kernel = sum(cross / total.clamp(min=1e-12) for _, cross, total in pieces.layer_grams())
        prediction, alpha = fit_predict_dual_ridge(train_kernel, pieces.train_targets, cross_kernel)
        return torch.as_tensor(prediction), {'relative_alpha': alpha}

    def figures(self, fit):
        alphas = np.stack([split['relative_alpha'] for split in fit.splits])
        at_edge = np.isclose(alphas, RELATIVE_ALPHAS[0]) | np.isclose(alphas, RELATIVE_ALPHAS[-1])
        return {'alpha_at_edge': float(at_edge.mean())}
