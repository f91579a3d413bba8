"""The hidden teacher: a fixed random convolutional network and the readout that turns it into sites.

The network (:class:`TeacherNet`) has four stages, ``v1`` -> ``v2`` -> ``v4`` -> ``it``. Its first
stage is a fixed bank of Gabor and colour-opponent filters; the later stages have random zero-mean
kernels drawn from a seeded numpy generator. The ``v4`` stage output (16 channels x 2 x 2 = 64
features) drives the synthetic V4 sites, the ``it`` stage output (32 channels, globally pooled) the
IT sites. Images reach it exactly as Brain-Score feeds a ``PytorchWrapper`` model: in batches of 64,
through :func:`preprocess_images`, which does what Brain-Score's ``load_preprocess_images(paths,
image_size=TEACHER_IMAGE_SIZE)`` does. The teacher as a Brain-Score model is
:func:`nrp_plugin.brainscore.teacher_model.teacher_brain_model`.

Each region's sites read a small population of hidden *subunits* (:class:`Readout`; 16 per region),
as IT and V4 population responses are dominated by a few shared tuning dimensions. Subunit ``k``
reads a random linear combination ``w_k`` of its stage's standardised features (V4: a Gaussian
receptive field on the 2 x 2 grid times a sparse channel mix; IT: a sparse channel mix), and
:func:`site_responses` passes the subunits through a known nonlinearity whose strength is
``nonlinearity`` in [0, 1]:

    u_k   = z(w_k . z(features))                                  (standardised subunit drive)
    a_k   = max(u_k - threshold_k, 0) ** exponent_k               (rectification + expansive power)
    n_k   = a_k / (sigma + mean_j a_j)                            (divisive normalisation by the population)
    l_i   = z(sum_k M_ik u_k),   q_i = z(sum_k M_ik z(n_k))       (site i mixes three subunits, M_ik > 0)
    r_i   = z((1 - nonlinearity) * l_i + nonlinearity * q_i)
    m_i   = baseline_i + gain_i * r_i                             (noise-free mean response)

``z`` standardises over images. Trial responses add Gaussian noise of standard deviation
``noise * noise_factor_i * std(m_i)``. At ``nonlinearity=0`` every ``m_i`` is affine in the features.
"""
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

TEACHER_IMAGE_SIZE = 96
LAYERS = ('v1', 'v2', 'v4', 'it')
REGION_LAYERS = {'V1': 'v1', 'V2': 'v2', 'V4': 'v4', 'IT': 'it'}
BATCH_SIZE = 64  # Brain-Score's ActivationsExtractorHelper default; batches are padded the same way
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_V1_CHANNELS = 24


def seeded_rng(*keys):
    """A numpy Generator seeded by a tuple of non-negative integers (one independent stream per tuple)."""
    return np.random.default_rng(np.random.SeedSequence([int(key) for key in keys]))


def _gabor_bank(size=7):
    """Fixed first-stage filters, shape (24, 3, size, size).

    16 luminance Gabors (4 orientations x 2 spatial frequencies x 2 phases) and 8 colour-opponent
    centre(-surround) filters, each scaled to unit L2 norm.
    """
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    filters = []
    for frequency in (0.16, 0.32):
        sigma = 0.5 / frequency
        for orientation in np.arange(4) * np.pi / 4:
            along = x * np.cos(orientation) + y * np.sin(orientation)
            envelope = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
            for phase in (0.0, np.pi / 2):
                kernel = envelope * np.cos(2 * np.pi * frequency * along + phase)
                kernel -= kernel.mean()
                filters.append(np.stack([kernel] * 3) / 3)
    colors = np.array([[1, -1, 0], [-1, 1, 0], [1, 1, -2], [-1, -1, 2],
                       [1, 0, -1], [0, 1, -1], [1, -1, 0], [-1, -1, 2]], dtype=np.float64)
    center = np.exp(-(x ** 2 + y ** 2) / (2 * 1.2 ** 2))
    surround = np.exp(-(x ** 2 + y ** 2) / (2 * 2.5 ** 2))
    for index, color in enumerate(colors):  # the first four are colour blobs, the last four colour DoGs
        kernel = center / center.sum() - (surround / surround.sum() if index >= 4 else 0.0)
        filters.append(color[:, None, None] * kernel[None])
    bank = np.stack(filters)
    return bank / np.linalg.norm(bank.reshape(len(bank), -1), axis=1)[:, None, None, None]


def _random_kernel(rng, out_channels, in_channels, size):
    """He-scaled random kernel whose weights sum to zero per output channel; shape (out, in, size, size)."""
    kernel = rng.standard_normal((out_channels, in_channels, size, size)) * np.sqrt(2.0 / (in_channels * size ** 2))
    return kernel - kernel.mean(axis=(1, 2, 3), keepdims=True)


class TeacherNet(nn.Module):
    """The fixed random network; input (n, 3, 96, 96) ImageNet-normalised images.

    Stage outputs: ``v1`` (n, 24, 48, 48), ``v2`` (n, 48, 24, 24), ``v4`` (n, 16, 2, 2),
    ``it`` (n, 32, 1, 1). The forward pass returns the ``it`` output.

    Parameters
    ----------
    seed : int
        Seeds the random kernels (``v2``, ``v4``, ``it``); ``v1`` is fixed.
    """

    def __init__(self, seed=0):
        super().__init__()
        self.v1 = nn.Sequential(nn.Conv2d(3, _V1_CHANNELS, 7, stride=2, padding=3), nn.ReLU())
        self.v2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(_V1_CHANNELS, 48, 3, padding=1), nn.ReLU())
        self.v4 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(48, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(6))
        self.it = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        kernels = {'v1': _gabor_bank(),
                   'v2': _random_kernel(seeded_rng(seed, 100, 2), 48, _V1_CHANNELS, 3),
                   'v4': _random_kernel(seeded_rng(seed, 100, 4), 16, 48, 3),
                   'it': _random_kernel(seeded_rng(seed, 100, 5), 32, 16, 3)}
        with torch.no_grad():
            for name, kernel in kernels.items():
                conv = next(module for module in getattr(self, name) if isinstance(module, nn.Conv2d))
                conv.weight.copy_(torch.from_numpy(kernel.astype(np.float32)))
                conv.bias.zero_()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    def forward(self, images):
        return self.it(self.v4(self.v2(self.v1(images))))


def _load_image(path):
    """An image file (or an (h, w, 3) uint8 array) as an RGB PIL image (binary, alpha and palette images pasted onto
    RGB)."""
    if isinstance(path, np.ndarray):
        return Image.fromarray(np.ascontiguousarray(path, dtype=np.uint8))
    with Image.open(path) as image:
        mode = image.mode.upper()
        if 'L' not in mode and 'A' not in mode and 'P' not in mode:
            return image.copy()
        rgb = Image.new('RGB', image.size)
        rgb.paste(image)
        return rgb


def preprocess_images(paths, image_size=TEACHER_IMAGE_SIZE):
    """Images as the teacher reads them: what Brain-Score's ``load_preprocess_images`` returns.

    Each file is read as RGB, resized to ``image_size`` x ``image_size`` (bilinear, antialiased),
    scaled to [0, 1] and normalised with ImageNet's channel means and standard deviations, with
    torchvision's transforms, as Brain-Score's ``imagenet`` preprocessing does
    (``tests/test_teacher_model.py`` checks the two agree value for value).

    Parameters
    ----------
    paths : sequence of path or of ndarray (h, w, 3) uint8
    image_size : int

    Returns
    -------
    ndarray, shape (len(paths), 3, image_size, image_size), float32
    """
    from torchvision import transforms
    transform = transforms.Compose([transforms.Resize((image_size, image_size)), transforms.ToTensor(),
                                    transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
    return np.stack([transform(_load_image(path)).numpy() for path in paths])


def teacher_features(paths, seed=0, layers=('v4', 'it')):
    """Stage outputs for image files, computed on the CPU exactly as Brain-Score's wrapper does.

    Paths are processed in batches of 64, the last batch padded by repeating its last path, each batch
    preprocessed by :func:`preprocess_images` and run through :class:`TeacherNet`; outputs are flattened in
    C order (channel, y, x), as ``PytorchWrapper`` flattens them.

    Parameters
    ----------
    paths : sequence of str, or of ndarray (h, w, 3) uint8 (images already rendered)
    seed : int
        The teacher seed.
    layers : sequence of str

    Returns
    -------
    dict
        ``{layer: ndarray of shape (len(paths), n_features), float32}``.
    """
    model = TeacherNet(seed).cpu()
    captured = {}
    hooks = [getattr(model, layer).register_forward_hook(
        lambda _module, _input, output, name=layer: captured.__setitem__(name, output)) for layer in layers]
    outputs = {layer: [] for layer in layers}
    paths = [path if isinstance(path, np.ndarray) else str(path) for path in paths]
    try:
        for start in range(0, len(paths), BATCH_SIZE):
            batch = paths[start:start + BATCH_SIZE]
            n_real = len(batch)
            batch = batch + [batch[-1]] * (BATCH_SIZE - n_real)
            images = torch.stack([torch.from_numpy(image) for image in preprocess_images(batch)])
            with torch.no_grad():
                model(images)
            for layer in layers:
                outputs[layer].append(captured[layer][:n_real].reshape(n_real, -1).numpy().copy())
    finally:
        for hook in hooks:
            hook.remove()
    return {layer: np.concatenate(values).astype(np.float32) for layer, values in outputs.items()}


def feature_shape(layer):
    """(channels, height, width) of a stage output."""
    return {'v1': (_V1_CHANNELS, 48, 48), 'v2': (48, 24, 24), 'v4': (16, 2, 2), 'it': (32, 1, 1)}[layer]


N_SUBUNITS = {'V4': 16, 'IT': 16}
SUBUNITS_PER_SITE = 3


@dataclass
class Readout:
    """The hidden parameters of one region's subunits and sites.

    Attributes
    ----------
    region : str
    subunit_weights : ndarray, shape (n_subunits, n_features)
        Linear readout of the standardised stage features by each subunit.
    threshold, exponent : ndarray, shape (n_subunits,)
        Rectification threshold (in units of the subunit drive's standard deviation) and power.
    mixing : ndarray, shape (n_sites, n_subunits)
        Non-negative weights by which each site sums the subunits (``SUBUNITS_PER_SITE`` non-zero per row).
    baseline, gain : ndarray, shape (n_sites,)
        Mean response level and standard deviation of the noise-free response over images.
    noise_factor : ndarray, shape (n_sites,)
        Per-site multiplier of the region's trial-noise level (log-normal, median exactly 1).
    rf_x, rf_y : ndarray, shape (n_sites,)
        Receptive-field centre on the stage's grid (cells): the mixing-weighted mean of the subunits'.
    """
    region: str
    subunit_weights: np.ndarray
    threshold: np.ndarray
    exponent: np.ndarray
    mixing: np.ndarray
    baseline: np.ndarray
    gain: np.ndarray
    noise_factor: np.ndarray
    rf_x: np.ndarray
    rf_y: np.ndarray

    def subunits_of(self, site):
        """Indices of the subunits site ``site`` sums."""
        return np.flatnonzero(self.mixing[site])


def draw_readout(region, n_sites, rng, noise_spread):
    """Draw the hidden readout of ``n_sites`` sites of ``region`` ('V4' or 'IT').

    Parameters
    ----------
    region : {'V4', 'IT'}
    n_sites : int
    rng : numpy.random.Generator
    noise_spread : float
        Standard deviation of the log of the per-site noise multiplier.

    Returns
    -------
    Readout
    """
    channels, height, width = feature_shape(REGION_LAYERS[region])
    n_subunits = N_SUBUNITS[region]
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float64)
    weights = np.zeros((n_subunits, channels, height, width))
    centres = np.zeros((n_subunits, 2))
    n_mixed = 4 if region == 'V4' else 8
    for subunit in range(n_subunits):
        channel_weights = rng.normal(0.0, 0.15, channels)
        chosen = rng.choice(channels, n_mixed, replace=False)
        channel_weights[chosen] += rng.normal(0.0, 1.0, n_mixed)
        if height * width > 1:
            cx, cy = rng.uniform(0.0, width - 1), rng.uniform(0.0, height - 1)
            sigma = rng.uniform(0.5, 1.0)
            spatial = np.exp(-((grid_x - cx) ** 2 + (grid_y - cy) ** 2) / (2 * sigma ** 2))
        else:
            spatial = np.ones((height, width))
        spatial = spatial / spatial.sum()
        centres[subunit] = (spatial * grid_x).sum(), (spatial * grid_y).sum()
        weights[subunit] = channel_weights[:, None, None] * spatial[None]
    mixing = np.zeros((n_sites, n_subunits))
    for site in range(n_sites):
        chosen = rng.choice(n_subunits, SUBUNITS_PER_SITE, replace=False)
        mixing[site, chosen] = rng.uniform(0.5, 1.5, SUBUNITS_PER_SITE)
    rf = (mixing @ centres) / mixing.sum(axis=1, keepdims=True)
    median_gain = 0.25 if region == 'V4' else 0.2
    noise_factor = np.exp(rng.normal(0.0, noise_spread, n_sites))
    noise_factor /= np.median(noise_factor)  # the median site has exactly the region's noise level
    return Readout(region=region, subunit_weights=weights.reshape(n_subunits, -1),
                   threshold=rng.uniform(-0.5, 0.5, n_subunits), exponent=rng.uniform(1.0, 2.0, n_subunits),
                   mixing=mixing, baseline=rng.uniform(0.05, 0.35, n_sites),
                   gain=median_gain * np.exp(rng.normal(0.0, 0.3, n_sites)),
                   noise_factor=noise_factor, rf_x=rf[:, 0], rf_y=rf[:, 1])


def _standardize(values, axis=0):
    std = values.std(axis=axis, keepdims=True)
    return (values - values.mean(axis=axis, keepdims=True)) / np.where(std > 0, std, 1.0)


def subunit_drive(features, readout):
    """Standardised linear drive of every subunit.

    Parameters
    ----------
    features : ndarray, shape (n_images, n_features)
    readout : Readout

    Returns
    -------
    ndarray, shape (n_images, n_subunits), float64
        Zero mean and unit variance over images per subunit.
    """
    standardized = _standardize(features.astype(np.float64))
    return _standardize(standardized @ readout.subunit_weights.T)


def site_responses(features, readout, nonlinearity):
    """Noise-free mean responses.

    Parameters
    ----------
    features : ndarray, shape (n_images, n_features)
        The stage output driving the region.
    readout : Readout
    nonlinearity : float
        In [0, 1]; 0 makes the responses an affine function of ``features``.

    Returns
    -------
    ndarray, shape (n_images, n_sites), float64
    """
    drive = subunit_drive(features, readout)
    rectified = np.maximum(drive - readout.threshold, 0.0) ** readout.exponent
    pool = rectified.mean(axis=1, keepdims=True)
    sigma = max(float(np.median(pool)), 1e-6)
    normalized = _standardize(rectified / (sigma + pool))
    linear_part = _standardize(drive @ readout.mixing.T)
    nonlinear_part = _standardize(normalized @ readout.mixing.T)
    blended = (1.0 - nonlinearity) * linear_part + nonlinearity * nonlinear_part
    return readout.baseline + readout.gain * _standardize(blended)


def trial_responses(expected, noise_sd, n_repetitions, rng):
    """Noisy single-trial responses.

    Parameters
    ----------
    expected : ndarray, shape (n_images, n_sites)
    noise_sd : ndarray, shape (n_sites,)
    n_repetitions : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_images, n_repetitions, n_sites), float32
    """
    noise = rng.standard_normal((expected.shape[0], n_repetitions, expected.shape[1]))
    return (expected[:, None, :] + noise * noise_sd[None, None, :]).astype(np.float32)
