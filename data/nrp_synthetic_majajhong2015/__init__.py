from brainscore_vision import data_registry, stimulus_set_registry
from nrp_plugin import references

from .loading import load_assembly, load_stimulus_set

BIBTEX = references.MAJAJHONG2015

data_registry['SyntheticMajajHong2015'] = lambda: load_assembly(None)
data_registry['SyntheticMajajHong2015.public'] = lambda: load_assembly('public')
data_registry['SyntheticMajajHong2015.private'] = lambda: load_assembly('private')

stimulus_set_registry['SyntheticMajajHong2015'] = lambda: load_stimulus_set(None)
stimulus_set_registry['SyntheticMajajHong2015.public'] = lambda: load_stimulus_set('public')
stimulus_set_registry['SyntheticMajajHong2015.private'] = lambda: load_stimulus_set('private')
