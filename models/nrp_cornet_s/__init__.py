from brainscore_vision import model_registry
from nrp_plugin import references

from .model import get_model

model_registry['cornet_s'] = lambda: get_model('cornet_s')
model_registry['cornet_s_untrained'] = lambda: get_model('cornet_s_untrained')

BIBTEX = references.KUBILIUS2019
