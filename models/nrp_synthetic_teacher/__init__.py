from brainscore_vision import model_registry
from nrp_plugin import references

from .model import get_model

BIBTEX = references.SYNTHETIC_TEACHER

model_registry['SyntheticMajajHong2015-teacher'] = lambda: get_model('SyntheticMajajHong2015-teacher')
