from brainscore_vision import benchmark_registry
from nrp_plugin import references
from .benchmark import synthetic_nrp, synthetic_pls

benchmark_registry['SyntheticMajajHong2015.V4-nrp'] = lambda: synthetic_nrp('V4')
benchmark_registry['SyntheticMajajHong2015.IT-nrp'] = lambda: synthetic_nrp('IT')
benchmark_registry['SyntheticMajajHong2015.V4-pls'] = lambda: synthetic_pls('V4')
benchmark_registry['SyntheticMajajHong2015.IT-pls'] = lambda: synthetic_pls('IT')

BIBTEX = references.ANAND2021
