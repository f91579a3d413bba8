from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import nrp_banded_ridge_metric

metric_registry['nrp_banded_ridge'] = nrp_banded_ridge_metric

BIBTEX = references.ANAND2021
