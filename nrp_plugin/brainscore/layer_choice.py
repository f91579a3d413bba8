"""Which model layers feed the NRP, and committing a region's layer offline.

Candidate layers for the NRP benchmarks, in order of preference:

1. A model that carries ``nrp_layers`` (a dict region -> list of layer names) is read as is; this
   package's models set it.
2. A layer model (a ``ModelCommitment``, with ``layers`` and ``activations_model``) feeds the layer
   it commits for the region together with its immediate neighbours in the model's ``layers`` list
   (up to three layers, each one NRP-L1 block).
3. Any other BrainModel feeds what it records for the region (one block).

A ``ModelCommitment`` built without a region-layer map would select its layer on
``MajajHong2015public`` with a PCA fitted on ImageNet images, both downloaded. Offline,
:func:`commit_region` chooses it instead on a selection set (the synthetic world's public images,
never the scored ones): each layer's activations are mapped linearly (least squares on 128 principal
components, 3 splits stratified on ``category_name``) and the layer with the highest median Pearson r
is committed.
"""
import logging

import numpy as np

from .nrp_metric import LinearErrorMetric

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


def commit_region(candidate, region, selection_stimuli, selection_assembly, visual_degrees):
    """Commit ``region`` to the best-predicting layer on a selection set, if not committed yet.

    Returns
    -------
    str or None
        The committed layer, or None when the candidate is no layer model.
    """
    if not is_layer_model(candidate):
        return None
    if is_committed(candidate, region):
        return committed_layer(candidate, region)
    from brainscore_vision.benchmark_helpers.screen import place_on_screen
    stimuli = place_on_screen(selection_stimuli, target_visual_degrees=candidate.visual_degrees(),
                              source_visual_degrees=visual_degrees)
    activations = candidate.activations_model(stimuli, layers=list(candidate.layers))
    metric = LinearErrorMetric(crossvalidation_kwargs=dict(splits=3, stratification_coord='category_name'))
    scores = {}
    for layer in candidate.layers:
        source = activations[{'neuroid': np.asarray(activations['layer'].values) == layer}]
        scores[layer] = metric(source, selection_assembly).attrs['pearson']
    best = max(candidate.layers, key=lambda layer: scores[layer])
    _logger.info('committed %s to %s on the selection set (median r %s)', region, best,
                 ', '.join(f'{layer}: {value:.3f}' for layer, value in scores.items()))
    dict.__setitem__(layer_map(candidate), region, best)
    return best


def nrp_layers(candidate, region):
    """The layers whose activations feed the NRP for ``region`` (see the module docstring)."""
    chosen = getattr(candidate, 'nrp_layers', None)
    if isinstance(chosen, dict) and region in chosen:
        return list(chosen[region])
    if not is_layer_model(candidate):
        return None
    layers = list(candidate.layers)
    layer = committed_layer(candidate, region)
    if layer not in layers:
        return [layer]
    index = layers.index(layer)
    return layers[max(0, index - 1):index + 2]
