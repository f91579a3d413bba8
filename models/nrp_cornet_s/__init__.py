from brainscore_vision import model_registry

from .model import get_model

model_registry['cornet_s'] = lambda: get_model('cornet_s')
model_registry['cornet_s_untrained'] = lambda: get_model('cornet_s_untrained')

BIBTEX = """@inproceedings{KubiliusSchrimpf2019CORnet,
  title = {Brain-Like Object Recognition with High-Performing Shallow Recurrent ANNs},
  author = {Kubilius, Jonas and Schrimpf, Martin and Kar, Kohitij and Rajalingham, Rishi and Hong, Ha and
            Majaj, Najib J. and Issa, Elias B. and Bashivan, Pouya and Prescott-Roy, Jonathan and
            Schmidt, Kailyn and Nayebi, Aran and Bear, Daniel and Yamins, Daniel L. K. and DiCarlo, James J.},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  pages = {12785--12796},
  year = {2019},
  url = {https://arxiv.org/abs/1909.06161}
}"""
