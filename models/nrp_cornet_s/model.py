"""Brain-Score model plugin: CORnet-S written from its paper (``nrp_plugin.architectures.cornet_s``).

``cornet_s`` loads the published ``cornet_s_epoch43.pth.tar`` through ``nrp_plugin.weights``
(``$NRP_CORNET_S_WEIGHTS``, caches, then a download); ``cornet_s_untrained`` is the same
architecture with seeded random weights and needs no file.

Region commitments follow CORnet-S's anatomical mapping: each area's ``output`` module, which the
recurrent areas call once, on their final time step. No layer selection is run.
"""
import functools

from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

from nrp_plugin.architectures import cornet_s as architecture

IDENTIFIERS = ('cornet_s', 'cornet_s_untrained')
IMAGE_SIZE = 224
VISUAL_DEGREES = 8
REGION_LAYER_MAP = {'V1': 'V1.output', 'V2': 'V2.output', 'V4': 'V4.output', 'IT': 'IT.output'}
BEHAVIORAL_READOUT_LAYER = 'decoder.avgpool'
# Candidate layers fed to the NRP benchmarks as NRP-L1 blocks: the committed area and its neighbours.
NRP_LAYERS = {'V4': ['V2.output', 'V4.output', 'IT.output'],
              'IT': ['V4.output', 'IT.output', 'decoder.avgpool']}
LAYERS = ['V1.output', 'V2.output', 'V4.output', 'IT.output', 'decoder.avgpool']


def get_model(identifier, weights_path=None):
    """The BrainModel for ``identifier`` (a ``ModelCommitment`` with ``nrp_layers`` and ``metadata``)."""
    if identifier not in IDENTIFIERS:
        raise ValueError(f"Unknown identifier {identifier!r}; this plugin provides {IDENTIFIERS}")
    if identifier == 'cornet_s':
        network = architecture.cornet_s_pretrained(weights_path=weights_path)
        metadata = {'pretrained': True, 'weights': network.weights_path}
    else:
        network = architecture.cornet_s_untrained(seed=architecture.DEFAULT_SEED)
        metadata = {'pretrained': False, 'weights': f'seeded initialisation (seed={architecture.DEFAULT_SEED})',
                    'seed': architecture.DEFAULT_SEED}
    metadata.update({'architecture': 'CORnet-S', 'time_steps': dict(network.time_steps()),
                     'region_layer_map': dict(REGION_LAYER_MAP),
                     'nrp_layers': {region: list(layers) for region, layers in NRP_LAYERS.items()}})
    preprocessing = functools.partial(load_preprocess_images, image_size=IMAGE_SIZE)
    wrapper = PytorchWrapper(identifier=identifier, model=network, preprocessing=preprocessing)
    wrapper.image_size = IMAGE_SIZE
    model = ModelCommitment(identifier=identifier, activations_model=wrapper, layers=list(LAYERS),
                            behavioral_readout_layer=BEHAVIORAL_READOUT_LAYER,
                            region_layer_map=dict(REGION_LAYER_MAP), visual_degrees=VISUAL_DEGREES)
    model.nrp_layers = {region: list(layers) for region, layers in NRP_LAYERS.items()}
    model.metadata = metadata
    return model


def get_layers(identifier):
    return list(LAYERS)
