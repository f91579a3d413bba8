"""This package's registered models, and what is known of each without building it.

The model plugin folders (``models/nrp_*``) register these identifiers and build the networks; they take
their facts from here, and so does the application (the result cache's key, the plots' grouping), which
never parses an identifier. A model that is not listed (an in-tree Brain-Score model, a ``torchvision:`` or
``file.py:function`` spec) has no facts here: its weights are identified once it is built.
"""
from dataclasses import dataclass

from .storage.weights import WeightSpec

__all__ = ['CORNET_S_WEIGHTS', 'MODELS', 'ModelFacts', 'RESNET50_WEIGHTS', 'RESNET50_SPARSITIES', 'declared_weights',
           'facts', 'plugin_models']

CORNET_S_WEIGHTS = WeightSpec(
    name='cornet_s',
    filename='cornet_s_epoch43.pth.tar',
    url='https://brainscore-storage.s3.amazonaws.com/brainscore-vision/models/cornet_s/cornet_s_epoch43.pth.tar',
    algorithm='sha1',
    digest='a4bfd8eda33b45fd945da1b972ab0b7cad38d60f',
    env_var='NRP_CORNET_S_WEIGHTS',
    alternative="'cornet_s_untrained' (same architecture, seeded random weights, no download)",
    # where Brain-Score's own CORnet-S plugin stores the same file
    extra_locations=('BRAINSCORE_HOME|~/.brain-score|brainscore-vision/models/cornet_s/cornet_s_epoch43.pth.tar',),
)

RESNET50_WEIGHTS = WeightSpec(
    name='resnet50',
    filename='resnet50-0676ba61.pth',
    url='https://download.pytorch.org/models/resnet50-0676ba61.pth',
    algorithm='sha256',
    digest='0676ba61',
    env_var='NRP_RESNET50_WEIGHTS',
    alternative=("'resnet50_untrained_prunedNN' (NN = 00, 10, ..., 80: same architecture and pruning, seeded random "
                 "weights, no download)"),
)

#: The pruned ResNet50s' target sparsities, in percent
RESNET50_SPARSITIES = tuple(range(0, 90, 10))


@dataclass(frozen=True)
class ModelFacts:
    """What is known of a registered model before it is built.

    Attributes
    ----------
    identifier : str
    plugin : str
        The model plugin folder that registers it.
    weights : WeightSpec or None
        The published weight file it loads (accepted only with its published hash), or None for a seeded
        initialisation (its seed is fixed in the plugin's code).
    sparsity : float or None
        The share of prunable weights set to zero (the target; the built model's ``metadata`` holds the measured
        value).
    plot_family : str or None
        Models plotted together against their sparsity.
    """
    identifier: str
    plugin: str
    weights: WeightSpec = None
    sparsity: float = None
    plot_family: str = None

    @property
    def pretrained(self):
        return self.weights is not None


def _models():
    models = [ModelFacts('cornet_s', 'nrp_cornet_s', CORNET_S_WEIGHTS),
              ModelFacts('cornet_s_untrained', 'nrp_cornet_s'),
              ModelFacts('SyntheticMajajHong2015-teacher', 'nrp_synthetic_teacher')]
    for level in RESNET50_SPARSITIES:
        models.append(ModelFacts(f'resnet50_pruned{level:02d}', 'nrp_resnet50_pruned', RESNET50_WEIGHTS, level / 100,
                                 'ResNet50 (ImageNet weights)'))
        models.append(ModelFacts(f'resnet50_untrained_pruned{level:02d}', 'nrp_resnet50_pruned', None, level / 100,
                                 'ResNet50 (untrained)'))
    return {model.identifier: model for model in models}


#: Every model this package registers, by identifier
MODELS = _models()


def plugin_models(plugin):
    """The :class:`ModelFacts` of every model a plugin folder registers, in registration order."""
    return [model for model in MODELS.values() if model.plugin == plugin]


def facts(identifier):
    """The :class:`ModelFacts` of a registered identifier of this package, or None."""
    return MODELS.get(identifier)


def declared_weights(identifier):
    """The identity of a registered model's weights, known without building it; None for other models.

    A published file is only ever accepted when its hash equals the published one
    (:mod:`nrp_plugin.storage.weights`), so that hash identifies the weights; an untrained model is a seeded
    initialisation whose seed lives in the (fingerprinted) code.
    """
    model = facts(identifier)
    if model is None:
        return None
    if model.weights is None:
        return {'kind': 'seeded initialisation', 'seed': 'fixed in the fingerprinted code'}
    return {'kind': 'published file', 'file': model.weights.filename, model.weights.algorithm: model.weights.digest}
