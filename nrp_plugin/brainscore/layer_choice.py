"""Which model layers the mappings read, chosen without ever reading a scored image.

In order of preference:

1. A model that carries ``nrp_layers`` (a dict region -> list of layer names) is read as is; this
   package's models set it, with a committed region-layer map.
2. A layer model (a ``ModelCommitment``, with ``layers`` and ``activations_model``) whose region is committed
   gives its committed layer (the ``-pls`` benchmarks' layer) and, for the NRP, that layer's window: it and its
   immediate neighbours in the model's ``layers`` list (up to three layers, each one NRP-L1 block).
3. A layer model whose region is not committed (``torchvision:...`` and ``file.py:function`` specs, in-tree
   models without a stored map) is never committed on the scored images:

   - where a set of images disjoint from the scored ones has recorded responses (a *selection set*: the
     synthetic world's public images for ``SyntheticMajajHong2015``, MajajHong2015's public images for the
     private family ``MajajHong2015``), :func:`select_on` records every candidate layer on it and chooses the
     best-scoring one, which the family's benchmarks apply for their own call only (:func:`committed`): the
     model's map is left as it was, so another family never inherits a layer chosen on its scored images;
   - otherwise (``MajajHong2015public`` scores the public images themselves) the layer is chosen inside each
     cross-validation split, on that split's training stimuli only (:func:`nested_choice`), and each split
     reads its own layer (``-pls``) or window (``-nrp``).

4. Any other BrainModel feeds what it records for the region.

Both ways score a layer the same way (:func:`nrp_plugin.core.layer_scores.loo_r2`: the median over
sites of the leave-one-out R² of ridge on every principal component of the layer, exact and from the rows given
alone) and keep the best; ties go to the earlier layer. Brain-Score's own ``ModelCommitment`` would instead select on
``MajajHong2015public`` (the images that family scores) with a PCA fitted on downloaded ImageNet images.
"""
import contextlib
import logging

import numpy as np
import torch

from ..core.layer_scores import best_layers, loo_r2
from ..core.reduction import block_sources, group_slices, split_components
from .source_layers import input_blocks, source_groups
from .splits import CrossValidationSpec, build_splits, split_indices
from .validation import align

_logger = logging.getLogger(__name__)


def layer_map(candidate):
    """The region-layer map of a ``ModelCommitment``-like model, or None."""
    inner = getattr(candidate, 'layer_model', None)
    return getattr(inner, 'region_layer_map', None)


def is_layer_model(candidate):
    return hasattr(candidate, 'activations_model') and hasattr(candidate, 'layers') and layer_map(candidate) is not None


def is_committed(candidate, region):
    mapping = layer_map(candidate)
    return mapping is not None and dict.__contains__(mapping, region)


def committed_layer(candidate, region):
    layer = dict.__getitem__(layer_map(candidate), region)
    return layer[0] if isinstance(layer, (list, tuple)) else layer


def window(layers, layer):
    """``layer`` and its immediate neighbours in ``layers`` (just ``layer`` when it is not in the list)."""
    layers = list(layers)
    if layer not in layers:
        return [layer]
    index = layers.index(layer)
    return layers[max(0, index - 1):index + 2]


def windows(candidate):
    """Every candidate layer of a layer model and its window (:func:`window`), in the model's order."""
    layers = [str(layer) for layer in candidate.layers]
    return {layer: tuple(window(layers, layer)) for layer in layers}


def _named_blocks(source, layers=None):
    """The source's layer names, its input blocks (one per layer, in the same order) and the ``layers`` asked for
    (all by default), checked to be among them."""
    groups = source_groups(source)
    blocks = input_blocks(source, groups)
    names = [str(name) for name in group_slices(groups)[0]]
    if groups is None:  # one layer: its name, when the source has a layer coordinate
        names = [str(np.asarray(source['layer'].values)[0]) if 'layer' in source.coords else '']
    layers = names if layers is None else [str(layer) for layer in layers]
    missing = [layer for layer in layers if layer not in names]
    if missing:
        raise ValueError(f"The source lacks the candidate layers {missing} (it has {names}); record every candidate.")
    return names, blocks, layers


class LayerScorer:
    """Every candidate layer's principal components on one set of selection images, computed once, so that any
    number of response sets can be scored and the best layer chosen as :func:`select_on` chooses it (each layer's
    :func:`~nrp_plugin.core.layer_scores.loo_r2` on every selection image, the best kept, ties to the earlier).

    Parameters
    ----------
    source : NeuroidAssembly
        The candidate layers recorded on the selection images (features or Gram form, a Gram layer's columns those
        images; :func:`nrp_plugin.brainscore.source_layers.restrict` cuts one out of a larger recording).
    layers : sequence of str, optional
        The candidates, in the model's order; all of the source's layers by default.
    device : str

    Attributes
    ----------
    layers : list of str
    stimulus_ids : ndarray of str, shape (n_images,)
        The row order that responses given to :meth:`scores` and :meth:`choose` must follow.
    """

    def __init__(self, source, layers=None, device='cpu'):
        names, blocks, self.layers = _named_blocks(source, layers)
        self.stimulus_ids = np.asarray(source['stimulus_id'].values).astype(str)
        rows = torch.arange(len(self.stimulus_ids), device=device)
        empty = torch.zeros(0, dtype=torch.long, device=device)
        self.device = device
        self._components = []
        for layer in self.layers:
            source_block, = block_sources([blocks[names.index(layer)]], device=device)
            self._components.append(split_components(source_block, rows, empty)[0])

    def scores(self, responses):
        """Each layer's median leave-one-out R² on ``responses``, shape (n_layers,).

        Parameters
        ----------
        responses : array-like, shape (n_images, n_sites)
            In the order of :attr:`stimulus_ids`.
        """
        values = torch.as_tensor(np.ascontiguousarray(responses, dtype=np.float64), device=self.device)
        if values.shape[0] != len(self.stimulus_ids):
            raise ValueError(f'{values.shape[0]} response rows for {len(self.stimulus_ids)} selection images')
        return np.asarray([loo_r2(components, values) for components in self._components])

    def choose(self, responses):
        """The best layer on ``responses`` and every layer's score: ``(layer, {layer: score})``."""
        scores = self.scores(responses)
        return self.layers[int(best_layers(scores[None])[0])], dict(zip(self.layers, map(float, scores)))


def layer_scores(source, target, train_rows, layers=None, device='cpu'):
    """:func:`~nrp_plugin.core.layer_scores.loo_r2` of every layer of ``source`` on each set of rows.

    Parameters
    ----------
    source : NeuroidAssembly
        The candidate layers (``layer`` coordinate), in features or Gram form
        (:mod:`nrp_plugin.brainscore.source_layers`).
    target : NeuroidAssembly
        Responses to the same stimuli (aligned by ``stimulus_id``).
    train_rows : list of ndarray of int
        Rows of ``target`` each score is computed on (per split, its training stimuli).
    layers : list of str, optional
        The layers to score, in this order; all of the source's by default.

    Returns
    -------
    names : list of str
    scores : ndarray, shape (len(train_rows), len(names))
    """
    source, target, source_rows = align(source, target, stratification_coord=None)
    names, blocks, layers = _named_blocks(source, layers)
    values = torch.as_tensor(np.asarray(target.values, dtype=np.float64), device=device)
    source_rows = torch.as_tensor(source_rows, device=device)
    empty = torch.zeros(0, dtype=torch.long, device=device)
    scores = np.zeros((len(train_rows), len(layers)))
    for column, layer in enumerate(layers):
        source_block, = block_sources([blocks[names.index(layer)]], device=device)
        for index, rows in enumerate(train_rows):
            rows = torch.as_tensor(np.asarray(rows), device=device)
            train_scores, _, _ = split_components(source_block, source_rows[rows], empty)
            scores[index, column] = loo_r2(train_scores, values[rows])
        del source_block
    return layers, scores


def nested_choice(source, target, windows, spec=CrossValidationSpec(), device='cpu'):
    """Choose, inside each of the target's cross-validation splits and on its training stimuli only, the best
    candidate layer; the split reads that layer's window.

    Parameters
    ----------
    source : NeuroidAssembly
        Every candidate layer recorded on the target's stimuli.
    target : NeuroidAssembly
    windows : dict of str -> sequence of str
        Each candidate layer (in the model's order) and the input layers it stands for.
    spec : CrossValidationSpec
        The splits the mapping will be scored on (Brain-Score's by default).

    Returns
    -------
    list of dict, one per split
        ``layer`` (the chosen candidate), ``layers`` (its window), ``scores`` (every candidate's score on the
        split's training stimuli), ``windows``.
    """
    aligned_target = align(source, target, spec.stratification_coord)[1]
    splits = split_indices(aligned_target['stimulus_id'].values, build_splits(aligned_target, spec))
    candidates = [str(layer) for layer in windows]
    names, scores = layer_scores(source, aligned_target, [train for train, _ in splits], candidates, device)
    chosen = best_layers(scores)
    windows = {str(layer): [str(name) for name in value] for layer, value in windows.items()}
    return [dict(layer=names[best], layers=windows[names[best]], scores=dict(zip(names, map(float, row))),
                 windows=windows) for best, row in zip(chosen, scores)]


def record_candidates(candidate, stimuli, layers):
    """Every one of ``layers`` recorded on ``stimuli``, out of core where the model allows it (one pass of the
    network, wide layers as Gram matrices), else with the model's own extractor."""
    from .out_of_core import OutOfCoreActivations, supports_out_of_core
    extractor = candidate.activations_model
    if not isinstance(extractor, OutOfCoreActivations) and supports_out_of_core(extractor):
        extractor = OutOfCoreActivations(extractor)
    return extractor(stimuli, layers=list(layers))


def select_on(candidate, region, selection_stimuli, selection_assembly, visual_degrees, name):
    """The best-scoring layer of ``region`` on a selection set (every candidate layer recorded on its images).

    The choice is kept on the model (``layer_selections``, keyed by the set's ``name`` and the region), so the
    ``-pls`` and ``-nrp`` benchmarks of one family share it; it is never written into the model's region-layer map,
    so a benchmark that scores the selection images themselves cannot inherit it (:func:`committed` applies it for
    one benchmark's call).

    Returns
    -------
    dict
        ``layer``, ``scores`` (every candidate's) and ``stimuli`` (the selection set's identifier).
    """
    selections = getattr(candidate, 'layer_selections', None)
    if not isinstance(selections, dict):
        selections = {}
        candidate.layer_selections = selections
    if (name, region) in selections:
        return selections[name, region]
    from brainscore_vision.benchmark_helpers.screen import place_on_screen
    stimuli = place_on_screen(selection_stimuli, target_visual_degrees=candidate.visual_degrees(),
                              source_visual_degrees=visual_degrees)
    layers = [str(layer) for layer in candidate.layers]
    activations = record_candidates(candidate, stimuli, layers)
    try:  # the region's sites (a level of the neuroid index is not in ``.coords`` in every xarray version)
        target = selection_assembly.sel(region=region)
    except (KeyError, ValueError):
        raise ValueError(f"The selection set's responses have no sites of region {region!r}; give an assembly with "
                         f"a 'region' coordinate on 'neuroid'.") from None
    names, scores = layer_scores(activations, target, [np.arange(target.sizes['presentation'])], layers)
    best = names[int(best_layers(scores)[0])]
    _logger.info('chose %s for %s on %s (median leave-one-out R2 %s)', best, region, name,
                 ', '.join(f'{layer}: {value:.3f}' for layer, value in zip(names, scores[0])))
    selections[name, region] = dict(layer=best, scores=dict(zip(names, map(float, scores[0]))),
                                    stimuli=str(getattr(selection_stimuli, 'identifier', None)))
    return selections[name, region]


@contextlib.contextmanager
def committed(candidate, region, layer):
    """``region`` committed to ``layer`` in the model's region-layer map for the duration, then as it was."""
    mapping = layer_map(candidate)
    had = dict.__contains__(mapping, region)
    previous = dict.__getitem__(mapping, region) if had else None
    dict.__setitem__(mapping, region, layer)
    try:
        yield
    finally:
        if had:
            dict.__setitem__(mapping, region, previous)
        else:
            dict.__delitem__(mapping, region)


def nrp_layers(candidate, region):
    """The layers whose activations feed the NRP for a committed ``region`` (see the module docstring)."""
    chosen = getattr(candidate, 'nrp_layers', None)
    if isinstance(chosen, dict) and region in chosen:
        return list(chosen[region])
    if not is_layer_model(candidate) or not is_committed(candidate, region):
        return None
    return window(candidate.layers, committed_layer(candidate, region))
