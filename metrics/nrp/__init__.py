from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import nrp_metric

metric_registry['nrp'] = nrp_metric

BIBTEX = references.ANAND2021
