"""Brain-Score model plugin: CORnet-S written from its paper (``nrp_plugin.architectures.cornet_s``).

``cornet_s`` loads the published ``cornet_s_epoch43.pth.tar`` through ``nrp_plugin.storage.weights``
(``$NRP_CORNET_S_WEIGHTS``, caches, then a download); ``cornet_s_untrained`` is the same
architecture with seeded random weights and needs no file.

Region commitments follow CORnet-S's anatomical mapping: each area's ``output`` module, which the
recurrent areas call once, on their final time step. No layer selection is run.
"""
from nrp_plugin import references, registry
from nrp_plugin.architectures import cornet_s as architecture
from nrp_plugin.brainscore.model_commitment import commit_pytorch_model

IDENTIFIERS = tuple(model.identifier for model in registry.plugin_models('nrp_cornet_s'))
IMAGE_SIZE = 224
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
    if registry.facts(identifier).pretrained:
        network = architecture.cornet_s_pretrained(weights_path=weights_path)
        metadata = {'pretrained': True, 'weights': network.weights_path}
    else:
        network = architecture.cornet_s_untrained(seed=architecture.DEFAULT_SEED)
        metadata = {'pretrained': False, 'weights': f'seeded initialisation (seed={architecture.DEFAULT_SEED})',
                    'seed': architecture.DEFAULT_SEED}
    metadata.update({'architecture': 'CORnet-S', 'time_steps': dict(network.time_steps())})
    return commit_pytorch_model(identifier, network, LAYERS, REGION_LAYER_MAP, NRP_LAYERS, metadata=metadata,
                                image_size=IMAGE_SIZE, behavioral_readout_layer=BEHAVIORAL_READOUT_LAYER)


def get_layers(identifier):
    return list(LAYERS)


def get_bibtex(identifier):
    """The BibTeX ``brainscore_vision.load_model_bibtex`` returns for every identifier of this plugin."""
    if identifier not in IDENTIFIERS:
        raise ValueError(f"Unknown identifier {identifier!r}; this plugin provides {IDENTIFIERS}")
    return references.KUBILIUS2019
