"""The one place this package reaches into Brain-Score's activations extractor.

Recording a network out of core (:mod:`nrp_plugin.brainscore.out_of_core`) needs what Brain-Score's
``PytorchWrapper`` keeps private: the torch network (``_model``) and its ``ActivationsExtractorHelper``
(``_extractor``) with the batch size, the hooks a benchmark may have registered, the per-batch function that
preprocesses, runs and hooks one batch exactly as Brain-Score does (``_get_batch_activations``), the probed
input resolution and the microsaccade helper. :class:`Extractor` reads them, and nothing else in the package
does; ``tests/test_brainscore_adapter.py`` checks each against the installed Brain-Score, so a Brain-Score
release that renames one fails there, by name, instead of deep inside a recording.
"""
import torch

__all__ = ['Extractor', 'network_of']


class Extractor:
    """What the out-of-core recording reads of a Brain-Score ``PytorchWrapper``.

    Parameters
    ----------
    wrapper : brainscore_vision.model_helpers.activations.pytorch.PytorchWrapper
    """

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self._helper = getattr(wrapper, '_extractor', None)

    @classmethod
    def supports(cls, wrapper):
        """Whether ``wrapper`` is a ``PytorchWrapper`` whose batches can be recorded here."""
        helper = getattr(wrapper, '_extractor', None)
        return (isinstance(getattr(wrapper, '_model', None), torch.nn.Module)
                and callable(getattr(helper, '_get_batch_activations', None)) and hasattr(helper, '_batch_size'))

    @property
    def network(self):
        """The torch network."""
        return self.wrapper._model

    @property
    def identifier(self):
        return getattr(self.wrapper, 'identifier', None)

    @property
    def batch_size(self):
        return int(self._helper._batch_size)

    @property
    def resolution(self):
        """The input resolution Brain-Score probed from the preprocessing (None when unknown)."""
        return getattr(self._helper, '_resolution', None)

    @property
    def has_hooks(self):
        """Whether a benchmark registered stimulus-set or batch hooks (those requests go to Brain-Score's path)."""
        return bool(self._helper._batch_activations_hooks) or bool(self._helper._stimulus_set_hooks)

    @property
    def has_microsaccades(self):
        """Whether the extractor records microsaccade coordinates with its activations."""
        return getattr(self._helper, '_microsaccade_helper', None) is not None

    def apply_stimulus_set_hooks(self, stimulus_set):
        for hook in self._helper._stimulus_set_hooks.copy().values():
            stimulus_set = hook(stimulus_set)
        return stimulus_set

    def batch(self, paths, layers):
        """Brain-Score's activations of one batch of image files: ``{layer: array (n, ...)}``, preprocessed, run
        and hooked exactly as its extractor does (batch hooks applied)."""
        batch = self._helper._get_batch_activations(list(paths), layer_names=list(layers),
                                                     batch_size=self.batch_size)
        for hook in self._helper._batch_activations_hooks.copy().values():
            batch = hook(batch)
        return batch


def network_of(model):
    """The torch network of a Brain-Score model wrapped by a ``PytorchWrapper`` (its ``activations_model``), or
    None."""
    extractor = getattr(model, 'activations_model', model)
    network = getattr(extractor, '_model', None)
    return network if isinstance(network, torch.nn.Module) else None
