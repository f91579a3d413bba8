"""What a mapping is: an object that fits on every cross-validation split and predicts each split's test rows.

A mapping reads one of three views of the same data (:attr:`Mapping.reads`):

- ``'inputs'``: the NRP's prepared inputs, per layer the principal components kept on each split's training rows
  under one scale (:class:`nrp_plugin.core.crossval.CrossValidatedData`), batched over splits;
- ``'components'``: every non-zero principal component of every layer of one split (:class:`SplitPieces`), handed
  over while the preparation holds that split's components, so no split's full set is ever held beside another's;
- ``'kernels'``: the layers' uncentred Gram matrices over all rows (``CrossValidatedData.kernels``).

Whatever it reads, a mapping returns a :class:`MappingFit`: its predictions of every split's test rows and, per
split, what the fit chose. The measures (MAE, Pearson r, R²) are computed from the predictions by the metric, the
same for every mapping.
"""
from dataclasses import dataclass, field

import torch

from ..core.ridge import eigen_ridge, kernel_eigen, scores_eigen

__all__ = ['READS', 'Mapping', 'MappingFit', 'SplitPieces']

#: The views of the data a mapping may read (:class:`Mapping`).
READS = ('inputs', 'components', 'kernels')


@dataclass
class MappingFit:
    """One mapping fitted on every split.

    Attributes
    ----------
    prediction : Tensor, shape (S, n_test, n_targets), float64
        Each split's predictions of its test rows, in the targets' units.
    splits : list of dict
        Per split, what the fit chose (penalties, weights, epochs, ...); empty dicts when it chose nothing.
    extra : dict
        Whatever else the fit reports for all splits together (e.g. the NRP's search table).
    """
    prediction: torch.Tensor
    splits: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


class Mapping:
    """The base of every mapping (see the module notes).

    Subclasses set the class attributes and implement :meth:`fit` (``reads`` ``'inputs'`` or ``'kernels'``) or
    :meth:`fit_split` (``reads='components'``); :meth:`figures` adds what the mapping reports beyond the shared
    measures. A mapping is registered by its class (:func:`nrp_plugin.mappings.register`) and built by the metric
    with its options.

    Attributes
    ----------
    name : str
        Its key in scores, records and tables (``<name>_mae``, ...).
    title : str
        How tables, legends and plots name it.
    linear : bool
        Whether its predictions are an affine function of what it reads.
    reads : {'inputs', 'components', 'kernels'}
    description : str
        One sentence saying what it is, for legends.
    standard_benchmark : str or None
        ``'pls'`` when the comparison table takes this mapping's figures from Brain-Score's own ``-pls`` benchmark
        (Brain-Score's standard), None when from the NRP benchmark's metric.
    per_split_figures : tuple of str
        The names of what :meth:`figures` reports as one value per split (records keep them as lists, empty when a
        score does not report them).
    """
    name = None
    title = None
    linear = None
    reads = None
    description = ''
    standard_benchmark = None
    per_split_figures = ()

    def fit(self, data):
        """Fit on every split of ``data`` and predict the test rows.

        Parameters
        ----------
        data : CrossValidatedData

        Returns
        -------
        MappingFit
        """
        raise NotImplementedError(f'{type(self).__name__} reads {self.reads!r}: it fits split by split (fit_split)')

    def fit_split(self, pieces):
        """Fit on one split's components and predict its test rows (``reads='components'``).

        Parameters
        ----------
        pieces : SplitPieces

        Returns
        -------
        prediction : Tensor, shape (n_test, n_targets), float64
        info : dict
        """
        raise NotImplementedError(f'{type(self).__name__} reads {self.reads!r}: it fits all splits at once (fit)')

    def figures(self, fit):
        """What the mapping reports beyond the shared measures, as Score attrs without its prefix (JSON-able)."""
        return {}

    def options(self):
        """The settings that change its predictions (they key cached scores); {} for a mapping without any."""
        return {}


class SplitPieces:
    """One split's components of every layer it reads, and what several mappings build from them, each once.

    Ridge and banded ridge are ridge on every component of every layer in the kernel ``sum_g w_g K_g / total_g``
    (``K_g`` the layer's centred kernel on the training rows, ``total_g`` its total variance, ``w`` a layer
    weighting; equal weights are ridge). Each weighting's fit (:meth:`ridge`) is made once per split, from one
    eigendecomposition, and shared: ridge's fit is banded ridge's equal weighting. One layer needs no decomposition
    at all (its components are the kernel's eigenvectors), and no stimulus-by-stimulus kernel is formed for it.

    Parameters
    ----------
    split : int
    components : list of (Tensor, Tensor, Tensor)
        Per layer, ``(train_scores (n_train, r), test_scores (n_test, r), variances (r,))``: every non-zero
        principal component fitted on the split's training rows (centred on them), mutually orthogonal columns.
    train_targets : Tensor, shape (n_train, n_targets)
    search_dtype : torch.dtype, optional
        The type of the ridge fits' penalty search (:func:`nrp_plugin.core.ridge.eigen_ridge`); the components'
        type by default.
    """

    def __init__(self, split, components, train_targets, search_dtype=None):
        self.split = split
        self.components = list(components)
        self.train_targets = train_targets
        self.search_dtype = search_dtype
        self._layers = list(range(len(self.components)))  # each component's index in the split's full set
        self._grams = {}  # shared with every subset (:meth:`subset`)
        self._ridges = {}  # likewise, keyed by the layers and their weighting

    def layer_grams(self):
        """Per layer, ``(train_scores @ train_scores.T, test_scores @ train_scores.T, total variance)``: the layer's
        centred kernel on the training rows, its cross kernel with the test rows and the sum of its components'
        variances. Each formed once per split, for these pieces and every subset of them."""
        for layer, (train, test, variances) in zip(self._layers, self.components):
            if layer not in self._grams:
                self._grams[layer] = (train @ train.T, test @ train.T, variances.sum())
        return [self._grams[layer] for layer in self._layers]

    def subset(self, groups):
        """The same split's pieces for some of its layers (indices into :attr:`components`, in the new order),
        sharing the kernels and ridge fits made once."""
        child = SplitPieces(self.split, [self.components[g] for g in groups], self.train_targets,
                            search_dtype=self.search_dtype)
        child._layers = [self._layers[g] for g in groups]
        child._grams = self._grams
        child._ridges = self._ridges
        return child

    def totals(self):
        """Each layer's total variance on the training rows (the sum of its components' variances), floored at
        1e-12. Shape (n_layers,)."""
        return [variances.sum().clamp(min=1e-12) for _, _, variances in self.components]

    def eigen(self, weights=None):
        """The non-zero eigenvalues and eigenvectors of the training rows' kernel ``sum_g w_g K_g / total_g``.

        One layer: from its component scores, without a decomposition; several: one eigendecomposition of the
        weighted sum of :meth:`layer_grams`.

        Parameters
        ----------
        weights : sequence of float, optional
            One per layer; all ones by default.

        Returns
        -------
        eigenvalues : Tensor, shape (r,)
        eigenvectors : Tensor, shape (n_train, r)
        """
        weights = self._weights(weights)
        if len(self.components) == 1:
            eigenvalues, eigenvectors = scores_eigen(self.components[0][0])
            return eigenvalues * (weights[0] / self.totals()[0]), eigenvectors
        kernel = sum(weight / total * gram
                     for weight, total, (gram, _, _) in zip(weights, self.totals(), self.layer_grams()))
        return kernel_eigen(kernel)

    def ridge(self, weights=None):
        """Ridge on every component of every layer in the kernel of :meth:`eigen`, each training target's penalty
        by exact leave-one-out (:func:`nrp_plugin.core.ridge.eigen_ridge`); made once per split and weighting.

        Parameters
        ----------
        weights : sequence of float, optional
            One per layer; all ones by default (ridge).

        Returns
        -------
        dict
            ``prediction`` (n_test, n_targets), float64, the test rows' predictions; ``relative_alpha``
            (n_targets,), numpy, each target's penalty relative to the kernel's mean non-zero eigenvalue;
            ``loo_error`` (n_targets,), the chosen penalty's leave-one-out mean squared error on the training rows.
        """
        weights = self._weights(weights)
        key = (tuple(self._layers), tuple(float(weight) for weight in weights))
        if key not in self._ridges:
            targets = self.train_targets.to(device=self.components[0][0].device, dtype=torch.float64)
            dual, intercept, alpha, loo_error, _ = eigen_ridge(*self.eigen(weights), targets,
                                                               search_dtype=self.search_dtype)
            # the test rows' kernel with the training rows, applied without forming it:
            # sum_g w_g / total_g * test_g (train_g^T dual)
            prediction = intercept + sum(weight / total * (test @ (train.T @ dual)) for weight, total, (train, test, _)
                                         in zip(weights, self.totals(), self.components))
            self._ridges[key] = dict(prediction=prediction.to(torch.float64), relative_alpha=alpha,
                                     loo_error=loo_error)
        return self._ridges[key]

    def _weights(self, weights):
        if weights is None:
            return [1.0] * len(self.components)
        weights = [float(weight) for weight in weights]
        if len(weights) != len(self.components):
            raise ValueError(f"{len(weights)} layer weights for {len(self.components)} layers.")
        return weights
