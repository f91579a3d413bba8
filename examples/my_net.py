"""A small CNN to score without writing a plugin:

    nrp-plugin compare --models examples/my_net.py:build torchvision:resnet18 --benchmarks SyntheticMajajHong2015

``build()`` takes no arguments and returns the network, or, as here, a dict that also names the layers
Brain-Score may record (names from ``model.named_modules()``). Optional keys: ``'preprocessing'``
(``paths -> array``) and ``'image_size'`` (224 by default, with Brain-Score's ImageNet normalisation).
nrp-plugin seeds torch's random generator (seed 0) before calling it, so the weights are reproducible.
"""
from torch import nn


class SmallCNN(nn.Module):
    """Four convolution stages (32-64-128-256 channels), each halving the image, then a linear readout."""

    def __init__(self, num_classes=1000):
        super().__init__()

        def stage(in_channels, out_channels):
            return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1),
                                 nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True), nn.MaxPool2d(2))

        self.stage1, self.stage2 = stage(3, 32), stage(32, 64)
        self.stage3, self.stage4 = stage(64, 128), stage(128, 256)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return self.fc(self.pool(x).flatten(1))


def build():
    """The network and its candidate layers, one per stage."""
    return {'model': SmallCNN(), 'layers': ['stage1', 'stage2', 'stage3', 'stage4', 'pool']}
