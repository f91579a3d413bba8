from brainscore_vision import model_registry

from .model import get_model

BIBTEX = """@misc{nrp_plugin_synthetic_teacher,
  title={SyntheticMajajHong2015 teacher: the fixed random network that generates the synthetic world},
  note={nrp_plugin, docs/synthetic_world.md},
  year={2025}
}"""

model_registry['SyntheticMajajHong2015-teacher'] = lambda: get_model('SyntheticMajajHong2015-teacher')
