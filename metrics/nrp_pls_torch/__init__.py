from brainscore_vision import metric_registry
from nrp_plugin import references
from nrp_plugin.brainscore.pls_metric import PLSTorchMetric

metric_registry['pls_torch'] = lambda *args, **kwargs: PLSTorchMetric(*args, **kwargs)

BIBTEX = references.SCHRIMPF2018
