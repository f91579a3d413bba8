"""CORnet-S (Kubilius, Schrimpf et al. 2018/2019), written from the paper's description.

Four areas mapped onto the ventral stream and a linear decoder:

* ``V1``: 7x7 convolution, stride 2 (64 channels), batch norm, ReLU; 3x3 max pooling, stride 2;
  3x3 convolution (64 channels), batch norm, ReLU.
* ``V2``, ``V4``, ``IT`` (128, 256, 512 channels), the same circuit each: a 1x1 input convolution
  (``conv_input``) sets the area's width; then the area runs for 2, 4 and 2 time steps. Each step
  takes the previous step's output (the area's input enters only once: no input "gate" over time)
  through a bottleneck: 1x1 convolution expanding the channels 4x, 3x3 convolution (stride 2 on the
  first step only), 1x1 convolution back, each followed by its own batch norm per time step
  (``norm1_t``, ``norm2_t``, ``norm3_t``: batch norm is not shared over time) and ReLUs
  (``nonlin1``, ``nonlin2``; ``nonlin3`` after the sum). The step's result is added to a skip path:
  on the first step a 1x1 stride-2 convolution with batch norm (``skip``, ``norm_skip``) of the
  area's input, later the previous step's output itself.
* ``decoder``: global average pooling, flatten, linear 512 -> 1000, identity ``output``.

Convolutions carry no bias (batch norm follows each). Module names match the published checkpoint
``cornet_s_epoch43.pth.tar`` after its ``module.`` prefix is removed.

Time steps and hooks
--------------------
Each area's ``output`` module (an identity) is called exactly once per forward pass, on the final
time step's result. A forward hook on ``V2.output``, ``V4.output`` or ``IT.output`` therefore fires
once and sees the area's final state, whatever the hook does with repeated calls. Modules inside
the circuit (``conv1``, ``conv2``, ``norm1_0``, ...) run once per time step (the shared ones) or once
per pass (the per-step batch norms); Brain-Score's ``PytorchWrapper`` keeps the *last* call of a
hooked module, i.e. again the final time step.
"""
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

AREAS = ('V1', 'V2', 'V4', 'IT')
CHANNELS = OrderedDict([('V1', 64), ('V2', 128), ('V4', 256), ('IT', 512)])
TIME_STEPS = OrderedDict([('V1', 1), ('V2', 2), ('V4', 4), ('IT', 2)])
EXPANSION = 4
NUM_CLASSES = 1000
DEFAULT_SEED = 0


class StridedConv2d(nn.Conv2d):
    """A convolution whose stride can be chosen per call (the recurrent 3x3 convolution).

    Calling the module (rather than ``F.conv2d`` on its weight) keeps forward hooks working on
    every time step.
    """

    def forward(self, x, stride=None):
        stride = self.stride if stride is None else stride
        return F.conv2d(x, self.weight, self.bias, stride, self.padding, self.dilation, self.groups)


class V1Area(nn.Module):
    """The feed-forward first area."""

    def __init__(self, out_channels=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, out_channels, kernel_size=7, stride=2, padding=3, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.nonlin1 = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.nonlin2 = nn.ReLU()
        self.output = nn.Identity()

    def forward(self, x):
        x = self.nonlin1(self.norm1(self.conv1(x)))
        x = self.pool(x)
        x = self.nonlin2(self.norm2(self.conv2(x)))
        return self.output(x)


class RecurrentArea(nn.Module):
    """V2, V4 or IT: an input convolution, then ``times`` passes through a shared bottleneck circuit."""

    def __init__(self, in_channels, out_channels, times, expansion=EXPANSION):
        super().__init__()
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        self.times = times
        hidden = out_channels * expansion
        self.conv_input = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.skip = nn.Conv2d(out_channels, out_channels, kernel_size=1, stride=2, bias=False)
        self.norm_skip = nn.BatchNorm2d(out_channels)
        self.conv1 = nn.Conv2d(out_channels, hidden, kernel_size=1, bias=False)
        self.nonlin1 = nn.ReLU()
        self.conv2 = StridedConv2d(hidden, hidden, kernel_size=3, stride=2, padding=1, bias=False)
        self.nonlin2 = nn.ReLU()
        self.conv3 = nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False)
        self.nonlin3 = nn.ReLU()
        self.output = nn.Identity()
        for step in range(times):  # batch norm is not shared over time
            self.add_module(f'norm1_{step}', nn.BatchNorm2d(hidden))
            self.add_module(f'norm2_{step}', nn.BatchNorm2d(hidden))
            self.add_module(f'norm3_{step}', nn.BatchNorm2d(out_channels))

    def step(self, state, step):
        """One time step: the bottleneck on ``state`` plus the skip path; returns the new state."""
        if step == 0:
            residual = self.norm_skip(self.skip(state))
            stride = 2
        else:
            residual = state
            stride = 1
        x = self.nonlin1(getattr(self, f'norm1_{step}')(self.conv1(state)))
        x = self.nonlin2(getattr(self, f'norm2_{step}')(self.conv2(x, stride=stride)))
        x = getattr(self, f'norm3_{step}')(self.conv3(x))
        return self.nonlin3(x + residual)

    def forward(self, x, return_steps=False):
        state = self.conv_input(x)
        steps = []
        for step in range(self.times):
            state = self.step(state, step)
            if return_steps:
                steps.append(state)
        out = self.output(state)  # called once: hooks on `output` see the final time step
        return (out, steps) if return_steps else out


class Decoder(nn.Module):
    """Average over space, then a linear read-out to the 1000 ImageNet classes."""

    def __init__(self, in_features=512, num_classes=NUM_CLASSES):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_features, num_classes)
        self.output = nn.Identity()

    def forward(self, x):
        return self.output(self.linear(self.flatten(self.avgpool(x))))


class CORnetS(nn.Module):
    """CORnet-S: ``V1 -> V2 -> V4 -> IT -> decoder``; returns the (N, 1000) logits."""

    def __init__(self, times=None, num_classes=NUM_CLASSES):
        super().__init__()
        times = dict(TIME_STEPS, **(times or {}))
        self.V1 = V1Area(CHANNELS['V1'])
        self.V2 = RecurrentArea(CHANNELS['V1'], CHANNELS['V2'], times['V2'])
        self.V4 = RecurrentArea(CHANNELS['V2'], CHANNELS['V4'], times['V4'])
        self.IT = RecurrentArea(CHANNELS['V4'], CHANNELS['IT'], times['IT'])
        self.decoder = Decoder(CHANNELS['IT'], num_classes)

    def forward(self, x):
        for area in AREAS:
            x = getattr(self, area)(x)
        return self.decoder(x)

    def time_steps(self):
        """``{area: number of time steps}``."""
        return OrderedDict((area, getattr(getattr(self, area), 'times', 1)) for area in AREAS)


def initialize(model, seed=DEFAULT_SEED):
    """Seeded initialisation (He-normal convolutions, unit batch norms, small uniform decoder).

    The global torch random state is left untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()
            elif isinstance(module, nn.Linear):
                bound = 1.0 / module.in_features ** 0.5
                nn.init.uniform_(module.weight, -bound, bound)
                nn.init.uniform_(module.bias, -bound, bound)
    return model


def cornet_s_untrained(seed=DEFAULT_SEED):
    """CORnet-S with seeded random weights (the same seed gives the same weights)."""
    with torch.random.fork_rng(devices=[]):  # construction draws default inits from the global RNG too
        model = CORnetS()
    return initialize(model, seed=seed).eval()


def state_dict_from_checkpoint(checkpoint):
    """The model state dict inside a CORnet-S checkpoint, without the ``module.`` prefix.

    Accepts the published layout ``{'state_dict': {'module.V1.conv1.weight': ...}, ...}`` as well as a
    bare state dict, with or without the ``module.`` (``DataParallel``) prefix.
    """
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict):
        raise ValueError(f"A CORnet-S checkpoint must be a dict holding a state dict, got {type(checkpoint).__name__}")
    prefix = 'module.'
    return OrderedDict((key[len(prefix):] if key.startswith(prefix) else key, value)
                       for key, value in checkpoint.items())


def load_cornet_s_weights(model, path):
    """Load a CORnet-S checkpoint file into ``model`` (strictly: every key must match)."""
    from ..storage.weights import WeightsError, load_checkpoint
    state = state_dict_from_checkpoint(load_checkpoint(path))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{path} does not fit this CORnet-S architecture: {error}") from None
    return model


def cornet_s_pretrained(weights_path=None, allow_download=None):
    """Pretrained CORnet-S (``cornet_s_epoch43.pth.tar``), resolved by :mod:`nrp_plugin.storage.weights`.

    Parameters
    ----------
    weights_path : path, optional
        An explicit checkpoint; otherwise ``$NRP_CORNET_S_WEIGHTS``, the caches, then a download.
    allow_download : bool, optional
        Passed to :func:`nrp_plugin.storage.weights.resolve_weights`.
    """
    from .. import registry
    from ..storage.weights import resolve_weights
    path = resolve_weights(registry.CORNET_S_WEIGHTS, path=weights_path, allow_download=allow_download)
    model = CORnetS()
    load_cornet_s_weights(model, path)
    model.weights_path = str(path)
    return model.eval()
