"""Least squares with an intercept on the NRP's prepared inputs."""
from ..core import least_squares
from ..core.crossval import per_layer_subset
from .base import Mapping, MappingFit


class LeastSquares(Mapping):
    """Least squares with an intercept on each split's NRP inputs (its input layers' kept components, as scaled),
    batched over splits (:func:`nrp_plugin.core.least_squares.fit_predict`). On the paper configuration's inputs
    (every component, unscaled) it is least squares on the layers' centred activations, the paper's linear
    baseline."""
    name = 'least_squares'
    title = 'LSQ (NRP inputs)'
    linear = True
    reads = 'inputs'
    description = ("least squares with an intercept on the NRP's prepared inputs (per-layer principal components "
                   "chosen on each split's training stimuli), not on the layers' activations as the paper's linear "
                   "baseline was")

    def fit(self, data):
        prediction, _ = per_layer_subset(
            data, [(layers,) for layers in data.split_layers()],
            lambda key, splits, train_x, train_y, test_x, sizes, kernels: (
                least_squares.fit_predict(train_x, train_y, test_x), {}))
        return MappingFit(prediction, [{} for _ in range(data.n_splits)])
