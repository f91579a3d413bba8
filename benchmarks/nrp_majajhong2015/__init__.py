from brainscore_vision import benchmark_registry
from nrp_plugin import references
from .benchmark import majajhong_nrp

benchmark_registry['MajajHong2015.V4-nrp'] = lambda: majajhong_nrp('V4', 'private')
benchmark_registry['MajajHong2015.IT-nrp'] = lambda: majajhong_nrp('IT', 'private')
benchmark_registry['MajajHong2015public.V4-nrp'] = lambda: majajhong_nrp('V4', 'public')
benchmark_registry['MajajHong2015public.IT-nrp'] = lambda: majajhong_nrp('IT', 'public')

BIBTEX = references.ANAND2021
