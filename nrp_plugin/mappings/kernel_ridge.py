"""RBF kernel ridge on the NRP's prepared inputs."""
import torch

from ..core.crossval import per_layer_subset
from ..core.kernel_references import BANDWIDTH_ROWS, rbf_kernel_ridge
from ..core.ridge import SEARCH_DTYPE
from .base import Mapping, MappingFit


class KernelRidge(Mapping):
    """Kernel ridge with a Gaussian (RBF) kernel on each split's NRP inputs
    (:func:`nrp_plugin.core.kernel_references.rbf_kernel_ridge`): one bandwidth per split, chosen by exact
    leave-one-out on a fixed subset of the split's training stimuli, and each site's penalty by exact leave-one-out on
    all of them, from one eigendecomposition of the full kernel (the penalty search in
    :data:`nrp_plugin.core.ridge.SEARCH_DTYPE`). Reports ``bandwidth``: per split, the chosen factor of
    the median squared distance between training stimuli.

    Parameters
    ----------
    bandwidth_rows : int or None
        The most training stimuli the bandwidth is chosen on; None: all of them (one decomposition per bandwidth).
    """
    name = 'kernel_ridge'
    title = 'kernel ridge (RBF)'
    linear = False
    per_split_figures = ('bandwidth',)
    reads = 'inputs'
    description = ("kernel ridge with a Gaussian kernel on the NRP's prepared inputs (the bandwidth by leave-one-out "
                   "on a fixed subset of each split's training stimuli, each site's penalty by leave-one-out on all "
                   "of them)")

    def __init__(self, bandwidth_rows=BANDWIDTH_ROWS):
        self.bandwidth_rows = bandwidth_rows

    def options(self):
        return {} if self.bandwidth_rows == BANDWIDTH_ROWS else {'bandwidth_rows': self.bandwidth_rows}

    def fit(self, data):
        infos = {}

        def fit(key, splits, train_x, train_y, test_x, sizes, kernels):
            predictions = []
            for index, split in enumerate(splits):
                prediction, infos[split] = rbf_kernel_ridge(train_x[index], train_y[index], test_x[index],
                                                            bandwidth_rows=self.bandwidth_rows,
                                                            search_dtype=SEARCH_DTYPE)
                predictions.append(prediction)
            return torch.stack(predictions), {}

        prediction, _ = per_layer_subset(data, [(layers,) for layers in data.split_layers()], fit)
        return MappingFit(prediction, [infos[split] for split in range(data.n_splits)])

    def figures(self, fit):
        return {'bandwidth': [float(split['bandwidth']) for split in fit.splits]}
