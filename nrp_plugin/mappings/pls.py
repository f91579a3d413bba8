"""Brain-Score's PLS regression (25 components, no scaling) on the layers' features, in kernel form."""
import torch

from ..core.crossval import per_layer_subset
from ..pls import cross_validated_pls
from .base import Mapping, MappingFit

#: Brain-Score's ``pls`` metric keeps 25 components
N_COMPONENTS = 25


class PLS(Mapping):
    """PLS regression with 25 components and no scaling, as Brain-Score's ``pls`` metric fits it, on the
    concatenated features of each split's layers (read through the sum of the layers' Gram matrices,
    :func:`nrp_plugin.pls.cross_validated_pls`). Brain-Score's standard, its ``-pls`` benchmarks, fits it on the
    region's one committed layer; the comparison table takes PLS's figures from there."""
    name = 'pls'
    title = 'PLS'
    linear = True
    reads = 'kernels'
    description = "Brain-Score's PLS regression (25 components)"
    standard_benchmark = 'pls'

    def __init__(self, n_components=N_COMPONENTS):
        self.n_components = int(n_components)

    def options(self):
        return {'n_components': self.n_components}

    def fit(self, data):
        if data.kernels is None:
            raise ValueError("PLS reads the layers' Gram matrices; prepare the data with with_kernels=True.")

        def fit(key, splits, train_x, train_y, test_x, sizes, kernels):
            gram = sum(kernels.grams)
            n_rows = gram.shape[0]
            device = gram.device
            targets = torch.zeros((n_rows, train_y.shape[-1]), dtype=gram.dtype, device=device)
            masks = torch.zeros((len(splits), n_rows), dtype=torch.bool, device=device)
            for index in range(len(splits)):  # only the training rows' targets: the rest is never read
                rows = kernels.rows[index].to(device)
                targets[rows] = train_y[index].to(device=device, dtype=gram.dtype)
                masks[index, rows] = True
            predictions, _ = cross_validated_pls(gram, targets, masks, [rows.to(device) for rows in kernels.new_rows],
                                                 self.n_components)
            return torch.stack(predictions), {}

        prediction, _ = per_layer_subset(data, [(layers,) for layers in data.split_layers()], fit)
        return MappingFit(prediction, [{} for _ in range(data.n_splits)])
