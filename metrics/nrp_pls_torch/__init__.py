from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import pls_torch_metric

metric_registry['pls_torch'] = pls_torch_metric

BIBTEX = references.SCHRIMPF2018
