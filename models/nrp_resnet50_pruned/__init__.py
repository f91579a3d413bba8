from brainscore_vision import model_registry
from nrp_plugin import references

from .model import get_model

model_registry['resnet50_pruned00'] = lambda: get_model('resnet50_pruned00')
model_registry['resnet50_pruned10'] = lambda: get_model('resnet50_pruned10')
model_registry['resnet50_pruned20'] = lambda: get_model('resnet50_pruned20')
model_registry['resnet50_pruned30'] = lambda: get_model('resnet50_pruned30')
model_registry['resnet50_pruned40'] = lambda: get_model('resnet50_pruned40')
model_registry['resnet50_pruned50'] = lambda: get_model('resnet50_pruned50')
model_registry['resnet50_pruned60'] = lambda: get_model('resnet50_pruned60')
model_registry['resnet50_pruned70'] = lambda: get_model('resnet50_pruned70')
model_registry['resnet50_pruned80'] = lambda: get_model('resnet50_pruned80')
model_registry['resnet50_untrained_pruned00'] = lambda: get_model('resnet50_untrained_pruned00')
model_registry['resnet50_untrained_pruned10'] = lambda: get_model('resnet50_untrained_pruned10')
model_registry['resnet50_untrained_pruned20'] = lambda: get_model('resnet50_untrained_pruned20')
model_registry['resnet50_untrained_pruned30'] = lambda: get_model('resnet50_untrained_pruned30')
model_registry['resnet50_untrained_pruned40'] = lambda: get_model('resnet50_untrained_pruned40')
model_registry['resnet50_untrained_pruned50'] = lambda: get_model('resnet50_untrained_pruned50')
model_registry['resnet50_untrained_pruned60'] = lambda: get_model('resnet50_untrained_pruned60')
model_registry['resnet50_untrained_pruned70'] = lambda: get_model('resnet50_untrained_pruned70')
model_registry['resnet50_untrained_pruned80'] = lambda: get_model('resnet50_untrained_pruned80')

BIBTEX = references.ANAND2021 + '\n\n' + references.HE2016
