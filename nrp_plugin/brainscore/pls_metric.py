"""Brain-Score's ``pls`` metric, computed with the kernel-form torch PLS of :mod:`nrp_plugin.pls.kernel_pls`.

Semantics are those of ``brainscore_vision.load_metric('pls')`` (``CrossRegressedCorrelation`` with
``PLSRegression(n_components=25, scale=False)`` and Pearson r): the same splits, drawn from the
target's ``stimulus_id`` stratified on ``object_name`` (:func:`nrp_plugin.brainscore.splits.build_splits`);
the source aligned to the target by ``stimulus_id``; per split a fit on the training stimuli, a
prediction of the test stimuli and Pearson r per neuroid; the median over neuroids per split and the
mean over splits. The Score carries ``raw`` (split x neuroid r, neuroids ordered by ``neuroid_id``
as Brain-Score orders them) and ``error`` (standard deviation over splits, ddof=0, over sqrt of
the number of splits).

Two deliberate differences in what is accepted: the source needs no ``object_name`` coordinate
(Brain-Score asserts one; the splits only use the target's), and extra dimensions of size 1 (e.g. a
single ``time_bin``) are squeezed away. ``crossvalidation_kwargs`` are read by
:class:`nrp_plugin.brainscore.splits.CrossValidationSpec` (``splits``, ``train_size``,
``stratification_coord``, ``random_state``); other keys raise a ValueError.

What differs is the cost: the activations are read once, in feature chunks, into the
stimulus-by-stimulus kernel, and all splits are fitted from that kernel together, on the GPU when
one is visible.
"""
import math

import numpy as np
import torch
from brainscore_core.metrics import Metric, Score
from brainscore_core.supported_data_standards.brainio.assemblies import walk_coords

from ..core.device import resolve_device
from ..core.kernels import as_tensor, gram_matrix
from ..inference import HeldOut, combine_splits
from ..pls import cross_validated_pls
from ..core import scoring
from .source_layers import input_blocks, source_groups
from .splits import CrossValidationSpec, build_splits, split_indices
from .validation import align, check_stratification, coord_values

__all__ = ['PLSTorchMetric']

DEFAULT_COMPONENTS = 25


def blocks_kernel(blocks, device, dtype=torch.float64, gram_dtype=None, chunk_size=None):
    """The uncentred stimulus-by-stimulus kernel of all the blocks' features (:func:`input_blocks`), in their row
    order: the sum of the layers' Gram matrices (PLS without scaling reads the concatenated features only
    through it). Each entry is the dot product of two stimuli's features: no other stimulus enters it.
    """
    kernel = None
    for block in blocks:
        if block.kind == 'gram':
            part = as_tensor(block.values).to(device=device, dtype=dtype)
        else:
            part = gram_matrix(block.values, center=False, device=device, dtype=dtype, gram_dtype=gram_dtype,
                               chunk_size=chunk_size)
        kernel = part if kernel is None else kernel + part
    return kernel


class PLSTorchMetric(Metric):
    """Cross-validated PLS-Pearson predictivity (Brain-Score's ``pls``), with torch and kernel PLS.

    Parameters
    ----------
    n_components : int, default=25
    crossvalidation_kwargs : dict, optional
        As Brain-Score's metric takes it (``splits``, ``train_size``, ``stratification_coord``,
        ``random_state``); Brain-Score's defaults otherwise.
    device : {'auto', 'cpu', 'cuda'} or torch.device, default='auto'
    dtype : torch.dtype, default=torch.float64
        Compute type (see :mod:`nrp_plugin.pls.kernel_pls`); float64 agrees with ``pls`` to rounding,
        float32 less closely (docs/speed.md).
    solver : {'nipals', 'eigh'}, default='nipals'
        ``'nipals'`` replays scikit-learn's power iteration (r within ~1e-9 of ``pls``); ``'eigh'`` takes
        the exact dominant direction and so differs from ``pls`` by scikit-learn's own convergence
        error (docs/speed.md).
    max_iter, tol : int, float
        scikit-learn's power-iteration settings.
    split_batch_size : int, optional
        Splits fitted at once (all by default); lower it to bound memory.
    gram_dtype : torch.dtype, optional
        Type of the feature-chunk products that form the kernel (``dtype`` by default);
        ``torch.float32`` speeds up the dominant cost on a CPU (docs/speed.md).
    chunk_size : int, optional
        Features read per chunk when forming the kernel (about 64 MiB chunks by default).

    Notes
    -----
    Calling the metric returns a Score (the mean over splits of the median over neuroids of Pearson
    r) with attrs ``raw`` (split x neuroid r) and ``error`` (SEM over splits), and the mean absolute
    error of the same test predictions: ``mae`` (mean over neuroids, then splits), ``mae_error`` (SEM
    over splits) and ``mae_raw`` (split x neuroid), as the NRP metric measures its mappings. Peak
    memory beyond the activations is the n x n kernel plus a few (splits x n x targets) arrays,
    independent of the number of features apart from one feature chunk.
    """

    def __init__(self, n_components=DEFAULT_COMPONENTS, crossvalidation_kwargs=None, device='auto',
                 dtype=torch.float64, solver='nipals', max_iter=500, tol=1e-6, split_batch_size=None,
                 gram_dtype=None, chunk_size=None):
        if not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise ValueError(f"n_components={n_components!r} must be a positive integer.")
        self.n_components = int(n_components)
        self.crossvalidation_kwargs = crossvalidation_kwargs
        self.spec = CrossValidationSpec.from_kwargs(crossvalidation_kwargs)
        self.device = device
        self.dtype = dtype
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.split_batch_size = split_batch_size
        self.gram_dtype = gram_dtype
        self.chunk_size = chunk_size

    def __call__(self, source, target):
        """Score ``source`` (stimuli x model units) against ``target`` (stimuli x recording sites).

        Parameters
        ----------
        source : NeuroidAssembly, shape (n_stimuli, n_features)
        target : NeuroidAssembly, shape (n_stimuli, n_neuroids)

        Returns
        -------
        Score
        """
        target, indices, predictions = self.split_predictions(source, target)
        target_values = np.asarray(target.values, dtype=np.float64)
        r = np.stack([scoring.pearson(prediction.double().cpu()[None],
                                      torch.from_numpy(target_values[test])[None])[0].numpy()
                      for prediction, (_, test) in zip(predictions, indices)])
        # the same predictions' mean absolute error, the NRP metric's measure (split x neuroid)
        mae = np.stack([np.abs(prediction.double().cpu().numpy() - target_values[test]).mean(axis=0)
                        for prediction, (_, test) in zip(predictions, indices)])
        score = self._package(r, target, mae)
        score.attrs['heldout'] = self.heldout(target, indices, predictions)
        return score

    def heldout(self, target, indices, predictions):
        """The held-out predictions with the targets, per split, test stimulus and site
        (:class:`nrp_plugin.inference.HeldOut`, mapping ``'pls'``), for intervals that resample the images and the
        sites."""
        ids = np.asarray(target['stimulus_id'].values)
        values = np.asarray(target.values, dtype=np.float64)
        sites = coord_values(target, 'neuroid_id')
        sites = np.arange(target.sizes['neuroid']) if sites is None else np.asarray(sites)
        return HeldOut(np.stack([ids[test] for _, test in indices]), sites,
                       np.stack([values[test] for _, test in indices]),
                       {'pls': np.stack([prediction.double().cpu().numpy() for prediction in predictions])},
                       len(ids), self.spec.train_size)

    def split_predictions(self, source, target):
        """Each split's test predictions, without a Score.

        Returns
        -------
        target : NeuroidAssembly
            The aligned target (its rows are what ``indices`` index).
        indices : list of (ndarray of int, ndarray of int)
            Train and test rows of ``target`` per split.
        predictions : list of Tensor, each (n_test, n_targets)
        """
        # NaN/inf in the source show on the kernel's diagonal, read below without a full-size temporary
        source, target, source_rows = align(source, target, self.spec.stratification_coord,
                                            check_source_values=False)
        check_stratification(target, self.spec.splits, self.spec.train_size, self.spec.stratification_coord)
        blocks = input_blocks(source, source_groups(source))
        n_features = sum(block.width for block in blocks)
        if self.n_components > n_features:
            raise ValueError(f"n_components={self.n_components} exceeds the source's {n_features} "
                             f"features (scikit-learn's PLSRegression refuses this too).")
        device = resolve_device(self.device)
        target_ids = np.asarray(target['stimulus_id'].values)
        indices = split_indices(target_ids, build_splits(target, self.spec))
        # the kernel of the source rows in the target's stimulus order, read chunk by chunk
        rows = torch.as_tensor(source_rows, device=device)
        K = blocks_kernel(blocks, device, self.dtype, self.gram_dtype, self.chunk_size)[rows][:, rows]
        finite = torch.isfinite(torch.diagonal(K))
        if not bool(finite.all()):
            bad = torch.nonzero(~finite).flatten().cpu().numpy()
            raise ValueError(f"The source assembly contains NaN/inf values for {len(bad)} stimuli (e.g. "
                             f"{list(target_ids[bad][:3])}); remove or impute them before scoring.")
        Y = torch.as_tensor(np.asarray(target.values, dtype=np.float64), device=device, dtype=self.dtype)
        train_masks = torch.zeros((len(indices), len(target_ids)), dtype=torch.bool, device=device)
        for split, (train, _) in enumerate(indices):
            train_masks[split, torch.as_tensor(train, device=device)] = True
        predictions, _ = cross_validated_pls(
            K, Y, train_masks, [test for _, test in indices], self.n_components, solver=self.solver,
            max_iter=self.max_iter, tol=self.tol, split_batch_size=self.split_batch_size)
        return target, indices, predictions

    @staticmethod
    def _package(r, target, mae=None):
        """Score of ``r`` (splits x neuroids), laid out as Brain-Score's ``pls`` lays it out.

        ``mae`` (splits x neuroids, same order as ``r``), when given, adds attrs ``mae`` (mean over
        neuroids, then over splits), ``mae_error`` (SEM over splits, as ``error``) and ``mae_raw``.
        """
        order = np.arange(target.sizes['neuroid'])
        if coord_values(target, 'neuroid_id') is not None:
            order = np.argsort(np.asarray(target['neuroid_id'].values), kind='stable')
        coords = {coord: ('neuroid', np.asarray(values)[order]) for coord, dims, values in walk_coords(target)
                  if dims == ('neuroid',)}
        coords['split'] = np.arange(r.shape[0])
        raw = Score(r[:, order], coords=coords, dims=['split', 'neuroid'])
        per_split = raw.median(dim='neuroid')
        score = Score(per_split.mean(dim='split').values)
        score.attrs[Score.RAW_VALUES_KEY] = raw
        score.attrs['error'] = per_split.std(dim='split') / math.sqrt(len(per_split['split']))
        if mae is not None:
            mae_raw = Score(np.asarray(mae, dtype=float)[:, order], coords=coords, dims=['split', 'neuroid'])
            mae_split = mae_raw.values.mean(axis=1)
            score.attrs['mae'] = float(mae_split.mean())
            score.attrs['mae_error'] = float(mae_split.std() / math.sqrt(len(mae_split)))
            score.attrs['mae_raw'] = mae_raw
        return score


def combine_split_scores(runs, split_layers):
    """One Score from several runs of a cross-validated metric on the same splits, each split from its own run.

    Parameters
    ----------
    runs : dict of str -> Score
        Per layer, the metric's Score (Brain-Score's ``pls`` or ``pls_torch``: ``raw`` split x neuroid r, and for
        ``pls_torch`` ``mae_raw``), all over the same splits and neuroids.
    split_layers : list of str
        Per split, the run whose figures it keeps.

    Returns
    -------
    Score
        Aggregated as Brain-Score's metric aggregates one run: the median over neuroids per split, the mean over
        splits, ``error`` the SEM over splits; ``raw`` (and ``mae``, ``mae_error``, ``mae_raw`` when every run
        has them) are the splits' own rows.
    """
    first = runs[split_layers[0]].attrs[Score.RAW_VALUES_KEY]
    rows = [runs[layer].attrs[Score.RAW_VALUES_KEY].isel(split=split).values for split, layer in enumerate(split_layers)]
    coords = {coord: (dims, values) for coord, dims, values in walk_coords(first) if dims != ('split',)}
    coords['split'] = np.arange(len(split_layers))
    raw = Score(np.stack(rows), coords=coords, dims=list(first.dims))
    per_split = raw.median(dim='neuroid')
    score = Score(per_split.mean(dim='split').values)
    score.attrs[Score.RAW_VALUES_KEY] = raw
    score.attrs['error'] = per_split.std(dim='split') / math.sqrt(len(split_layers))
    if all('mae_raw' in run.attrs for run in runs.values()):
        mae = np.stack([runs[layer].attrs['mae_raw'].isel(split=split).values
                        for split, layer in enumerate(split_layers)])
        mae_raw = Score(mae, coords=coords, dims=list(first.dims))
        mae_split = mae.mean(axis=1)
        score.attrs['mae'] = float(mae_split.mean())
        score.attrs['mae_error'] = float(mae_split.std() / math.sqrt(len(mae_split)))
        score.attrs['mae_raw'] = mae_raw
    if all('heldout' in run.attrs for run in runs.values()):
        score.attrs['heldout'] = combine_splits({layer: run.attrs['heldout'] for layer, run in runs.items()},
                                                split_layers)
    score.attrs['split_layer'] = list(split_layers)
    return score
