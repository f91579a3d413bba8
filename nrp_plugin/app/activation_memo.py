"""Reuse a model's activations: each layer is computed once per stimulus set.

A comparison scores a model on a region's ``-pls`` benchmark (its committed layer) and its ``-nrp``
benchmark (several candidate layers), for V4 and IT, all on the same stimuli. Brain-Score would run
the network once per request; :class:`ActivationMemo` runs it once for the union of the layers the
run will ask for (``prefetch``) and answers later requests by selecting layers from memory. A
``PytorchWrapper`` goes out of core instead
(:class:`nrp_plugin.brainscore.out_of_core.OutOfCoreActivations`): the same single pass of the
network, each layer kept as Gram-equivalent coordinates in memory and in an on-disk store between runs.
"""
import numpy as np

from ..brainscore.out_of_core import OutOfCoreActivations, supports_out_of_core


class ActivationMemo:
    """Wrap an activations extractor (e.g. Brain-Score's ``PytorchWrapper``).

    Parameters
    ----------
    extractor : callable
        Called as ``extractor(stimuli, layers=[...], **kwargs)``; returns a presentation x neuroid
        assembly with a ``layer`` coordinate on ``neuroid``.
    prefetch : iterable of str
        Layers to compute together with the first request for a stimulus set.
    """

    def __init__(self, extractor, prefetch=()):
        self._extractor = extractor
        self.prefetch = list(dict.fromkeys(prefetch))
        self._stored = {}  # stimulus-set identifier -> (layers, assembly)

    def __call__(self, stimuli, layers, **kwargs):
        key = getattr(stimuli, 'identifier', None)
        # without require_variance, Brain-Score returns the same activations for any number_of_trials
        if key is None or kwargs.get('require_variance'):
            return self._extractor(stimuli, layers=layers, **kwargs)
        known, assembly = self._stored.get(key, ([], None))
        if not set(layers) <= set(known):
            union = list(dict.fromkeys(list(known) + list(self.prefetch) + list(layers)))
            assembly = self._extractor(stimuli, layers=union, **kwargs)
            self._stored[key] = (union, assembly)
        selected = np.isin(np.asarray(assembly['layer'].values), list(layers))
        return assembly[{'neuroid': selected}]

    def __getattr__(self, name):
        return getattr(self._extractor, name)


def memoize_model(model, prefetch=(), out_of_core=True, store=None, device='auto', progress=False):
    """Route every activations request of a ``ModelCommitment``-like model through one memo.

    A Brain-Score ``PytorchWrapper`` is served out of core (:class:`OutOfCoreActivations`: each layer recorded
    to disk, handed on as Gram-equivalent coordinates, kept in the activation ``store``) unless
    ``out_of_core=False``; any other extractor by an in-memory :class:`ActivationMemo`.

    Returns the memo, or None when the model has no activations extractor to wrap.
    """
    extractor = getattr(model, 'activations_model', None)
    if extractor is None:
        return None
    if out_of_core and supports_out_of_core(extractor):
        memo = OutOfCoreActivations(extractor, prefetch, store=store, device=device, progress=progress)
    else:
        memo = ActivationMemo(extractor, prefetch)
    model.activations_model = memo
    inner = getattr(model, 'layer_model', None)
    while inner is not None:
        if hasattr(inner, 'activations_model'):
            inner.activations_model = memo
        inner = getattr(inner, '_layer_model', None)
    return memo


def model_layers(model, regions):
    """The layers a comparison will read for ``regions``: committed layers and NRP candidates."""
    from ..brainscore.layer_choice import is_committed, is_layer_model, nrp_layers, committed_layer
    wanted = []
    for region in regions:
        if is_layer_model(model) and is_committed(model, region):
            wanted.append(committed_layer(model, region))
            wanted.extend(nrp_layers(model, region) or [])
        chosen = getattr(model, 'nrp_layers', None)
        if isinstance(chosen, dict):
            wanted.extend(chosen.get(region, []))
    return list(dict.fromkeys(wanted))
