"""The works this package's plugins cite, as BibTeX (one entry each, used by every plugin folder)."""

ANAND2021 = """@article{anand2021quantifying,
  title = {Quantifying the Brain Predictivity of Artificial Neural Networks With Nonlinear Response Mapping},
  author = {Anand, Aditi and Sen, Sanchari and Roy, Kaushik},
  journal = {Frontiers in Computational Neuroscience},
  volume = {15},
  pages = {609721},
  year = {2021},
  doi = {10.3389/fncom.2021.609721}
}"""

MAJAJHONG2015 = """@article{majajhong2015simple,
  title = {Simple Learned Weighted Sums of Inferior Temporal Neuronal Firing Rates Accurately Predict Human Core Object Recognition Performance},
  author = {Majaj, Najib J. and Hong, Ha and Solomon, Ethan A. and DiCarlo, James J.},
  journal = {Journal of Neuroscience},
  volume = {35},
  number = {39},
  pages = {13402--13418},
  year = {2015}
}"""

SCHRIMPF2018 = """@article{schrimpf2018brain,
  title = {Brain-Score: Which Artificial Neural Network for Object Recognition is most Brain-Like?},
  author = {Schrimpf, Martin and Kubilius, Jonas and Hong, Ha and Majaj, Najib J. and Rajalingham, Rishi and Issa, Elias B. and Kar, Kohitij and Bashivan, Pouya and Prescott-Roy, Jonathan and Geiger, Franziska and Schmidt, Kailyn and Yamins, Daniel L. K. and DiCarlo, James J.},
  journal = {bioRxiv},
  pages = {407007},
  year = {2018}
}"""

KUBILIUS2019 = """@inproceedings{kubilius2019brain,
  title = {Brain-Like Object Recognition with High-Performing Shallow Recurrent ANNs},
  author = {Kubilius, Jonas and Schrimpf, Martin and Kar, Kohitij and Rajalingham, Rishi and Hong, Ha and Majaj, Najib J. and Issa, Elias B. and Bashivan, Pouya and Prescott-Roy, Jonathan and Schmidt, Kailyn and Nayebi, Aran and Bear, Daniel and Yamins, Daniel L. K. and DiCarlo, James J.},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  pages = {12785--12796},
  year = {2019}
}"""

HE2016 = """@inproceedings{he2016deep,
  title = {Deep Residual Learning for Image Recognition},
  author = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  booktitle = {IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages = {770--778},
  year = {2016}
}"""

SYNTHETIC_TEACHER = """@misc{nrp_plugin_synthetic_teacher,
  title = {SyntheticMajajHong2015 teacher: the fixed random network that generates the synthetic world},
  note = {nrp_plugin, docs/synthetic_world.md}
}"""
