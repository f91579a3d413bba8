from brainscore_vision import metric_registry
from .metric import nrp_metric

metric_registry['nrp'] = nrp_metric

BIBTEX = """@article{anand2021quantifying,
  title={Quantifying the brain predictivity of artificial neural networks with nonlinear response mapping},
  author={Anand, Aditi and Sen, Sanchari and Roy, Kaushik},
  journal={Frontiers in Computational Neuroscience},
  volume={14},
  pages={609721},
  year={2021}
}"""
