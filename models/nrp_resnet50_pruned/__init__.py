from brainscore_vision import model_registry

from .model import get_model

model_registry['resnet50_pruned00'] = lambda: get_model('resnet50_pruned00')
model_registry['resnet50_pruned10'] = lambda: get_model('resnet50_pruned10')
model_registry['resnet50_pruned20'] = lambda: get_model('resnet50_pruned20')
model_registry['resnet50_pruned30'] = lambda: get_model('resnet50_pruned30')
model_registry['resnet50_pruned40'] = lambda: get_model('resnet50_pruned40')
model_registry['resnet50_pruned50'] = lambda: get_model('resnet50_pruned50')
model_registry['resnet50_pruned60'] = lambda: get_model('resnet50_pruned60')
model_registry['resnet50_pruned70'] = lambda: get_model('resnet50_pruned70')
model_registry['resnet50_pruned80'] = lambda: get_model('resnet50_pruned80')
model_registry['resnet50_untrained_pruned00'] = lambda: get_model('resnet50_untrained_pruned00')
model_registry['resnet50_untrained_pruned10'] = lambda: get_model('resnet50_untrained_pruned10')
model_registry['resnet50_untrained_pruned20'] = lambda: get_model('resnet50_untrained_pruned20')
model_registry['resnet50_untrained_pruned30'] = lambda: get_model('resnet50_untrained_pruned30')
model_registry['resnet50_untrained_pruned40'] = lambda: get_model('resnet50_untrained_pruned40')
model_registry['resnet50_untrained_pruned50'] = lambda: get_model('resnet50_untrained_pruned50')
model_registry['resnet50_untrained_pruned60'] = lambda: get_model('resnet50_untrained_pruned60')
model_registry['resnet50_untrained_pruned70'] = lambda: get_model('resnet50_untrained_pruned70')
model_registry['resnet50_untrained_pruned80'] = lambda: get_model('resnet50_untrained_pruned80')

BIBTEX = """@article{AnandSenRoy2021NRP,
  title = {Quantifying the Brain Predictivity of Artificial Neural Networks With Nonlinear Response Mapping},
  author = {Anand, Aditi and Sen, Sanchari and Roy, Kaushik},
  journal = {Frontiers in Computational Neuroscience},
  volume = {15},
  year = {2021},
  doi = {10.3389/fncom.2021.609721}
}

@inproceedings{He2016ResNet,
  title = {Deep Residual Learning for Image Recognition},
  author = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  booktitle = {IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages = {770--778},
  year = {2016}
}"""
