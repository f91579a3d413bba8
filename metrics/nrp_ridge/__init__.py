from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import nrp_ridge_metric

metric_registry['nrp_ridge'] = nrp_ridge_metric

BIBTEX = references.ANAND2021
