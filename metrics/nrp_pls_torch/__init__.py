from brainscore_vision import metric_registry
from nrp_plugin.pls_metric import PLSTorchMetric

metric_registry['pls_torch'] = lambda *args, **kwargs: PLSTorchMetric(*args, **kwargs)

BIBTEX = """@article{schrimpf2018brain,
  title={Brain-score: Which artificial neural network for object recognition is most brain-like?},
  author={Schrimpf, Martin and Kubilius, Jonas and Hong, Ha and Majaj, Najib J and Rajalingham, Rishi and Issa, Elias B and Kar, Kohitij and Bashivan, Pouya and Prescott-Roy, Jonathan and Geiger, Franziska and others},
  journal={bioRxiv},
  pages={407007},
  year={2018},
  publisher={Cold Spring Harbor Laboratory}
}"""
