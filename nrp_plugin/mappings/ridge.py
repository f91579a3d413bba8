"""Ridge on every non-zero principal component of every layer, each site's penalty by leave-one-out."""
import numpy as np

from ..core.ridge import RELATIVE_ALPHAS
from .base import Mapping


class Ridge(Mapping):
    """Ridge on every non-zero principal component of every layer of a split, each layer scaled to unit total
    variance (for one layer: ridge on its raw centred features), each site's penalty chosen by exact leave-one-out
    on the split's training stimuli (:meth:`nrp_plugin.mappings.SplitPieces.ridge` with equal layer weights, what
    scikit-learn's ``RidgeCV(alpha_per_target=True)`` computes). Reports ``alpha_at_edge``: the share of (split,
    site) penalties at the grid's edge."""
    name = 'ridge'
    title = 'ridge'
    linear = True
    reads = 'components'
    description = ("ridge on every non-zero principal component of every layer (each layer scaled to unit total "
                   "variance), each site's penalty by leave-one-out")

    def fit_split(self, pieces):
        fit = pieces.ridge()
        return fit['prediction'], {'relative_alpha': fit['relative_alpha']}

    def figures(self, fit):
        alphas = np.stack([split['relative_alpha'] for split in fit.splits])
        at_edge = np.isclose(alphas, RELATIVE_ALPHAS[0]) | np.isclose(alphas, RELATIVE_ALPHAS[-1])
        return {'alpha_at_edge': float(at_edge.mean())}
