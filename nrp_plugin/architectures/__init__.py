"""Model architectures used by this package's Brain-Score model plugins.

* :mod:`nrp_plugin.architectures.cornet_s`: CORnet-S written from its paper, loading the published
  checkpoint (:func:`~nrp_plugin.architectures.cornet_s.cornet_s_pretrained`); seeded untrained
  variant (:func:`~nrp_plugin.architectures.cornet_s.cornet_s_untrained`).
* :mod:`nrp_plugin.architectures.pruning`: global magnitude pruning of torchvision's ResNet50, with
  an optional masked fine-tune.

Pretrained weight files are resolved by :mod:`nrp_plugin.storage.weights`.
"""
from .cornet_s import CORnetS, cornet_s_pretrained, cornet_s_untrained
from .pruning import global_magnitude_prune, measure_sparsity, pruned_resnet50, resnet50

__all__ = ['CORnetS', 'cornet_s_pretrained', 'cornet_s_untrained', 'global_magnitude_prune', 'measure_sparsity',
           'pruned_resnet50', 'resnet50']
