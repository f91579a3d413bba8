from brainscore_vision import metric_registry
from nrp_plugin import references
from .metric import nrp_least_squares_metric, nrp_linear_metric

metric_registry['nrp_least_squares'] = nrp_least_squares_metric
metric_registry['nrp_linear'] = nrp_linear_metric  # the former identifier, deprecated

BIBTEX = references.ANAND2021
