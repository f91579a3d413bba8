"""Brain-Score model plugin: torchvision ResNet50 pruned by global weight magnitude.

``resnet50_prunedNN`` (NN = 00, 10, ..., 80): ImageNet weights (``resnet50-0676ba61.pth``, resolved
by ``nrp_plugin.storage.weights``), with NN% of all Conv2d and Linear weights set to zero by one-shot global
magnitude pruning. ``resnet50_untrained_prunedNN``: the same pruning on a seeded random
initialisation (no download). Each model carries ``metadata`` (pruning mode, target and measured
sparsity) and ``nrp_layers`` (candidate NRP-L1 inputs).

Every sparsity level uses the same fixed region-layer map (no layer selection, no download), so a
score change across levels comes from the pruning, not from a different layer choice.
"""
from nrp_plugin import references, registry
from nrp_plugin.architectures import pruning
from nrp_plugin.brainscore.model_commitment import commit_pytorch_model

MODELS = {model.identifier: model for model in registry.plugin_models('nrp_resnet50_pruned')}
IDENTIFIERS = tuple(MODELS)
IMAGE_SIZE = 224
# The map Brain-Score's layer selection gave for standard ImageNet ResNet50 plugins in-tree
# (e.g. Hojin_Jang_ResNet50_Standard, Zejin_Lu_dvd_baseline_imagenet_resnet50).
REGION_LAYER_MAP = {'V1': 'layer1.0', 'V2': 'layer3.0', 'V4': 'layer3.0', 'IT': 'layer4.0'}
BEHAVIORAL_READOUT_LAYER = 'avgpool'
# Candidate NRP-L1 inputs: the committed block, the stage output before it and the one it belongs to.
NRP_LAYERS = {'V4': ['layer2', 'layer3.0', 'layer3'],
              'IT': ['layer3', 'layer4.0', 'layer4']}
LAYERS = ['layer1.0', 'layer2', 'layer3.0', 'layer3', 'layer4.0', 'layer4', 'avgpool']


def facts(identifier):
    """The registered facts of ``identifier`` (:mod:`nrp_plugin.registry`): weights, sparsity, plot family."""
    if identifier not in MODELS:
        raise ValueError(f"Unknown identifier {identifier!r}; this plugin provides {IDENTIFIERS}")
    return MODELS[identifier]


def _commit(identifier, network, metadata):
    metadata = dict(metadata, plot_family=facts(identifier.removesuffix('_finetuned')).plot_family)
    return commit_pytorch_model(identifier, network, LAYERS, REGION_LAYER_MAP, NRP_LAYERS, metadata=metadata,
                                image_size=IMAGE_SIZE, behavioral_readout_layer=BEHAVIORAL_READOUT_LAYER,
                                channels_last=True)


def get_model(identifier, weights_path=None):
    """The one-shot pruned BrainModel for a registered ``identifier``."""
    model = facts(identifier)
    network, metadata = pruning.pruned_resnet50(model.sparsity, pretrained=model.pretrained, weights_path=weights_path)
    return _commit(identifier, network, metadata)


def get_finetuned_model(identifier, imagenet_dir=None, weights_path=None, **finetune_kwargs):
    """A pruned model fine-tuned on ImageNet with its zero mask fixed (not registered; opt-in).

    Its identifier is ``<identifier>_finetuned`` so Brain-Score's caches never mix it with the
    one-shot model. ``imagenet_dir`` (or ``$NRP_IMAGENET_DIR``) must hold ``train/<class>/<image>``;
    without it :class:`nrp_plugin.architectures.pruning.FineTuneError` is raised before any work.
    ``finetune_kwargs`` go to :func:`nrp_plugin.architectures.pruning.finetune_pruned`.
    """
    model = facts(identifier)
    pruning.imagenet_train_dir(imagenet_dir)  # fail early, before building anything
    network, metadata = pruning.pruned_resnet50(model.sparsity, pretrained=model.pretrained, weights_path=weights_path)
    summary = pruning.finetune_pruned(network, network.pruning_masks, imagenet_dir=imagenet_dir, **finetune_kwargs)
    metadata.update(pruning='fine-tuned', finetuned=True, finetune_steps=summary['steps'],
                    finetune_final_loss=summary['final_loss'], measured_sparsity=summary['measured_sparsity'],
                    zero_weights=round(summary['measured_sparsity'] * metadata['prunable_weights']))
    return _commit(f'{identifier}_finetuned', network, metadata)


def get_layers(identifier):
    return list(LAYERS)


def get_bibtex(identifier):
    """The BibTeX ``brainscore_vision.load_model_bibtex`` returns for every identifier of this plugin."""
    if identifier not in IDENTIFIERS:
        raise ValueError(f"Unknown identifier {identifier!r}; this plugin provides {IDENTIFIERS}")
    return references.ANAND2021 + '\n\n' + references.HE2016
