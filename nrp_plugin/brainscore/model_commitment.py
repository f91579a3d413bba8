"""A torch network as a Brain-Score model: Brain-Score's ``PytorchWrapper`` inside its ``ModelCommitment``.

Every model plugin of this package (and any network scored without a plugin) goes through
:func:`commit_pytorch_model`, so the wrapping, the fixed region-layer map, the NRP's candidate layers
(``nrp_layers``) and the ``metadata`` are set the same way for all of them.
"""
import functools

import torch
from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

from .majajhong import VISUAL_DEGREES  # a model sees MajajHong2015's images at the angle they were shown

IMAGE_SIZE = 224


def commit_pytorch_model(identifier, network, layers, region_layer_map, nrp_layers=None, *, metadata=None,
                         image_size=IMAGE_SIZE, preprocessing=None, visual_degrees=VISUAL_DEGREES,
                         behavioral_readout_layer=None, channels_last=False):
    """Wrap ``network`` for Brain-Score with a fixed region-layer map (no layer selection, no download).

    Parameters
    ----------
    identifier : str
        The model's identifier; Brain-Score's activation cache is keyed on it.
    network : torch.nn.Module
    layers : list of str
        Names of ``network``'s modules Brain-Score may record.
    region_layer_map : dict of str -> str
        The layer committed to each region (``'V1'``, ``'V2'``, ``'V4'``, ``'IT'``).
    nrp_layers : dict of str -> list of str, optional
        The NRP's input layers per region (one NRP-L1 block each); set as the model's ``nrp_layers``.
    metadata : dict, optional
        Facts about the model; ``region_layer_map`` and ``nrp_layers`` are added to it.
    image_size : int
    preprocessing : callable, optional
        ``paths -> array``; by default Brain-Score's ``load_preprocess_images`` at ``image_size``.
    visual_degrees : float
    behavioral_readout_layer : str, optional
    channels_last : bool
        Store the network's convolution weights channels-last, so that its convolutions (and the activations
        Brain-Score records) run in that layout: about 1.4x faster for ResNet50 on a CPU (docs/speed.md), the
        same activations within float32 rounding (tests/test_model_commitment.py). Only for networks that
        never ``view`` a convolution's output (``reshape`` and ``flatten`` are fine).

    Returns
    -------
    ModelCommitment
        With attributes ``nrp_layers`` (when given) and ``metadata``.
    """
    preprocessing = preprocessing or functools.partial(load_preprocess_images, image_size=image_size)
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    wrapper = PytorchWrapper(identifier=identifier, model=network, preprocessing=preprocessing)
    wrapper.image_size = image_size
    model = ModelCommitment(identifier=identifier, activations_model=wrapper, layers=list(layers),
                            behavioral_readout_layer=behavioral_readout_layer,
                            region_layer_map=dict(region_layer_map), visual_degrees=visual_degrees)
    copied = {region: list(names) for region, names in (nrp_layers or {}).items()}
    if nrp_layers is not None:
        model.nrp_layers = copied
    model.metadata = dict(metadata or {}, region_layer_map=dict(region_layer_map), nrp_layers=copied)
    return model
