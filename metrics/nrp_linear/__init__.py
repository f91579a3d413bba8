from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import nrp_linear_metric

metric_registry['nrp_linear'] = nrp_linear_metric

BIBTEX = references.ANAND2021
