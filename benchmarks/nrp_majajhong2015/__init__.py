from brainscore_vision import benchmark_registry
from nrp_plugin import references
from .benchmark import majajhong_nrp, synthetic_nrp, synthetic_pls

benchmark_registry['MajajHong2015.V4-nrp'] = lambda: majajhong_nrp('V4', 'private')
benchmark_registry['MajajHong2015.IT-nrp'] = lambda: majajhong_nrp('IT', 'private')
benchmark_registry['MajajHong2015public.V4-nrp'] = lambda: majajhong_nrp('V4', 'public')
benchmark_registry['MajajHong2015public.IT-nrp'] = lambda: majajhong_nrp('IT', 'public')

benchmark_registry['SyntheticMajajHong2015.V4-nrp'] = lambda: synthetic_nrp('V4')
benchmark_registry['SyntheticMajajHong2015.IT-nrp'] = lambda: synthetic_nrp('IT')
benchmark_registry['SyntheticMajajHong2015.V4-pls'] = lambda: synthetic_pls('V4')
benchmark_registry['SyntheticMajajHong2015.IT-pls'] = lambda: synthetic_pls('IT')

BIBTEX = references.ANAND2021
