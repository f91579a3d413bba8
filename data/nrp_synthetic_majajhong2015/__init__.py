from brainscore_vision import data_registry, stimulus_set_registry

from .loading import load_assembly, load_stimulus_set

BIBTEX = """@article{majajhong2015simple,
  title={Simple learned weighted sums of inferior temporal neuronal firing rates accurately predict human core object recognition performance},
  author={Majaj, Najib J and Hong, Ha and Solomon, Ethan A and DiCarlo, James J},
  journal={Journal of Neuroscience},
  volume={35},
  number={39},
  pages={13402--13418},
  year={2015},
  publisher={Soc Neuroscience}
}"""

data_registry['SyntheticMajajHong2015'] = lambda: load_assembly(None)
data_registry['SyntheticMajajHong2015.public'] = lambda: load_assembly('public')
data_registry['SyntheticMajajHong2015.private'] = lambda: load_assembly('private')

stimulus_set_registry['SyntheticMajajHong2015'] = lambda: load_stimulus_set(None)
stimulus_set_registry['SyntheticMajajHong2015.public'] = lambda: load_stimulus_set('public')
stimulus_set_registry['SyntheticMajajHong2015.private'] = lambda: load_stimulus_set('private')
