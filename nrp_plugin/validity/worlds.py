"""Seeded generated worlds for validating neural-response mappings (NRP, ridge, least squares, MLP).

A world is a set of stimuli described by a hidden latent ``z`` (n_stimuli x rank, standard normal).
A model "layer" sees the latent through its own linear image plus isotropic feature noise:

    X_l = z @ diag(s_l) @ Q_l.T * c_l + feature_noise * sqrt(signal variance per column) * E_l

``Q_l`` (width x rank) has orthonormal columns drawn at random, so every layer is a different
rotation of the latent into its own feature space. ``s_l`` sets the layer's spectrum: ``'flat'`` (every
latent direction carried equally) or ``'power'`` (direction ``i`` carried with weight
``(i + 1) ** -spectrum_exponent``, a fast-decaying, CNN-like spectrum). With several layers each
layer gives its large weights to a different subset of latent directions (a per-layer permutation),
so the layers are complementary. ``c_l`` scales the layer's signal so its columns have unit mean
signal variance; feature noise is given relative to that.

Recorded sites respond to the latent (never to the features directly) through a ``truth``:

- ``'linear'``: ``z @ W``;
- ``'relu_square'``: rectified square, ``relu(z @ W) ** 2``;
- ``'tanh'``: saturating, ``tanh(2 * z @ W)``;
- ``'sigmoid_gate'``: ``sigmoid(3 * z @ W - 1.5)``, a sparse, saturating gate;
- ``'product'``: products of two linear drives, ``(z @ W1) * (z @ W2)``;
- ``'divisive'``: divisive normalisation, ``relu(z @ W) ** 2 / (0.5 + mean_sites relu(z @ W) ** 2)``;
- ``'mixed'``: half the sites linear, half rectified square.

Each site's noise-free signal is standardised over stimuli (unit variance, zero mean), then Gaussian
response noise with standard deviation ``response_noise`` is added. The noise floor of a world, the
MAE of a perfect predictor of the signal, is ``E|noise| = response_noise * sqrt(2 / pi)``
(:attr:`World.floor`).

Everything is drawn from ``numpy.random.default_rng(seed)``, so a spec always gives the same world.

Every world of :data:`WORLDS` has the seed the package's defaults were developed on. :meth:`WorldSpec.with_seed`
draws the same design at another seed (fresh latent, layers, truth and noise; the name records the seed, e.g.
``dense_lin@seed101``): :data:`VALIDATION_SEEDS` to choose among settings, :data:`TEST_SEEDS` only to report on
what was chosen (docs/validity.md, "Development and held-out worlds").
"""
from dataclasses import asdict, dataclass, field, replace

import numpy as np

#: Held-out seeds on which settings are compared and chosen; never those of :data:`WORLDS`.
VALIDATION_SEEDS = (101, 102)
#: Held-out seeds on which chosen settings are reported; never used to choose anything.
TEST_SEEDS = (201, 202)
#: How a world's name records the seed it is drawn at (:meth:`WorldSpec.with_seed`)
SEED_MARK = '@seed'

TRUTHS = ('linear', 'relu_square', 'tanh', 'sigmoid_gate', 'product', 'divisive', 'mixed')
SPECTRA = ('flat', 'power')


@dataclass(frozen=True)
class WorldSpec:
    """Parameters of one synthetic world.

    Attributes
    ----------
    name : str
        With ``@seed<k>`` appended when the world is drawn at another seed than its design's
        (:meth:`with_seed`).
    n_stimuli : int
        Number of stimuli (rows).
    rank : int
        Dimension of the latent.
    widths : tuple of int
        Feature columns of each layer (one group per layer).
    spectrum : {'flat', 'power'}
    spectrum_exponent : float
        Decay exponent of the ``'power'`` spectrum (ignored when flat).
    feature_noise : float
        Feature noise standard deviation relative to the per-column signal standard deviation.
    response_noise : float
        Response noise standard deviation; each site's signal has unit variance.
    truth : str
        One of :data:`TRUTHS`.
    n_sites : int
    seed : int
    cheap : bool
        Whether the world belongs to the cheap subset run in tests.
    """
    name: str
    n_stimuli: int = 300
    rank: int = 8
    widths: tuple = (200,)
    spectrum: str = 'flat'
    spectrum_exponent: float = 1.0
    feature_noise: float = 1.0
    response_noise: float = 0.3
    truth: str = 'linear'
    n_sites: int = 40
    seed: int = 0
    cheap: bool = False

    def __post_init__(self):
        if self.truth not in TRUTHS:
            raise ValueError(f"truth={self.truth!r} is not one of {TRUTHS}.")
        if self.spectrum not in SPECTRA:
            raise ValueError(f"spectrum={self.spectrum!r} is not one of {SPECTRA}.")
        if self.rank < 1 or self.n_stimuli < 2 or self.n_sites < 1 or not self.widths:
            raise ValueError(f"Invalid world {self!r}.")

    @property
    def design(self):
        """The name without the seed mark: the world's design in :data:`WORLDS`."""
        return self.name.split(SEED_MARK)[0]

    def with_seed(self, seed):
        """The same design drawn at ``seed``: new latent, layers, truth and noise, named ``<design>@seed<seed>``.

        Parameters
        ----------
        seed : int
            A non-negative integer.

        Returns
        -------
        WorldSpec
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is not a non-negative integer; draw a world at seed 0, 1, 2, ...")
        return replace(self, name=f'{self.design}{SEED_MARK}{int(seed)}', seed=int(seed))

    def to_dict(self):
        values = asdict(self)
        values['widths'] = 'x'.join(str(width) for width in self.widths)
        return values


@dataclass
class World:
    """A generated world.

    Attributes
    ----------
    spec : WorldSpec
    features : ndarray, shape (n_stimuli, sum(widths)), float32
    groups : ndarray of str, shape (sum(widths),)
        The layer of every feature column.
    responses : ndarray, shape (n_stimuli, n_sites), float64
        Noisy responses (signal + noise).
    signal : ndarray, shape (n_stimuli, n_sites), float64
        Noise-free responses.
    latent : ndarray, shape (n_stimuli, rank)
    """
    spec: WorldSpec
    features: np.ndarray
    groups: np.ndarray
    responses: np.ndarray
    signal: np.ndarray
    latent: np.ndarray = field(repr=False)

    @property
    def floor(self):
        """Expected MAE of the noise-free signal, ``E|noise|``."""
        return float(self.spec.response_noise * np.sqrt(2 / np.pi))


def _spectrum(spec, rng, layer):
    rank = spec.rank
    if spec.spectrum == 'flat':
        weights = np.ones(rank)
    else:
        weights = (np.arange(rank) + 1.0) ** -spec.spectrum_exponent
    # each layer favours a different subset of latent directions
    return weights[rng.permutation(rank)] if layer > 0 else weights


def _layer(spec, latent, width, layer, rng):
    n_stimuli, rank = latent.shape
    weights = _spectrum(spec, rng, layer)
    if width >= rank:
        basis, _ = np.linalg.qr(rng.standard_normal((width, rank)))
    else:
        basis = rng.standard_normal((width, rank)) / np.sqrt(rank)
    signal = (latent * weights) @ basis.T
    signal *= 1.0 / np.sqrt(np.mean(signal.var(axis=0)))  # unit mean signal variance per column
    noise = rng.standard_normal((n_stimuli, width)) * spec.feature_noise
    return (signal + noise).astype(np.float32)


def _standardise(values):
    values = values - values.mean(axis=0)
    return values / np.maximum(values.std(axis=0), 1e-12)


def _signal(spec, latent, rng):
    n_sites, rank = spec.n_sites, spec.rank
    drive = lambda: latent @ (rng.standard_normal((rank, n_sites)) / np.sqrt(rank))
    relu = lambda x: np.maximum(x, 0)
    if spec.truth == 'linear':
        values = drive()
    elif spec.truth == 'relu_square':
        values = relu(drive()) ** 2
    elif spec.truth == 'tanh':
        values = np.tanh(2 * drive())
    elif spec.truth == 'sigmoid_gate':
        values = 1 / (1 + np.exp(-(3 * drive() - 1.5)))
    elif spec.truth == 'product':
        values = drive() * drive()
    elif spec.truth == 'divisive':
        energy = relu(drive()) ** 2
        values = energy / (0.5 + energy.mean(axis=1, keepdims=True))
    elif spec.truth == 'mixed':
        values = drive()
        half = n_sites // 2
        values[:, half:] = relu(values[:, half:]) ** 2
    else:  # pragma: no cover - guarded in WorldSpec
        raise ValueError(spec.truth)
    return _standardise(values)


def generate(spec):
    """Draw the world of ``spec`` (deterministic in ``spec.seed``)."""
    rng = np.random.default_rng(spec.seed)
    latent = rng.standard_normal((spec.n_stimuli, spec.rank))
    blocks, groups = [], []
    for layer, width in enumerate(spec.widths):
        blocks.append(_layer(spec, latent, width, layer, rng))
        groups.append(np.full(width, f'layer{layer}'))
    signal = _signal(spec, latent, rng)
    responses = signal + spec.response_noise * rng.standard_normal(signal.shape)
    return World(spec, np.concatenate(blocks, axis=1), np.concatenate(groups), responses, signal, latent)


def _worlds():
    W = WorldSpec
    return [
        # --- cheap subset: dense and PCA paths, linear and nonlinear truths, small n ---
        W('dense_lin', n_stimuli=300, rank=8, widths=(64,), feature_noise=0.5, truth='linear', seed=1, cheap=True),
        W('dense_relusq', n_stimuli=300, rank=8, widths=(100,), feature_noise=0.5, truth='relu_square', seed=2,
          cheap=True),
        W('pca_lin_pow', n_stimuli=300, rank=16, widths=(2000,), spectrum='power', feature_noise=1.0,
          truth='linear', seed=3, cheap=True),
        W('pca_relusq', n_stimuli=400, rank=8, widths=(1000,), feature_noise=1.0, truth='relu_square',
          seed=4, cheap=True),
        W('two_layer_tanh', n_stimuli=400, rank=8, widths=(64, 500), spectrum='power', feature_noise=0.5,
          truth='tanh', seed=5, cheap=True),
        # --- full sweep ---
        W('dense50_lin_r4', n_stimuli=300, rank=4, widths=(50,), feature_noise=1.0, response_noise=0.5,
          truth='linear', seed=11),
        W('dense128_product', n_stimuli=600, rank=6, widths=(128,), feature_noise=0.3, truth='product', seed=12),
        W('lin_r64_flat', n_stimuli=1000, rank=64, widths=(3000,), feature_noise=1.0, truth='linear', seed=13),
        W('lin_r32_pow_3L', n_stimuli=600, rank=32, widths=(200, 1000, 5000), spectrum='power',
          spectrum_exponent=1.0, feature_noise=1.0, truth='linear', seed=14),
        W('lin_wide20k', n_stimuli=500, rank=16, widths=(20000,), spectrum='power', spectrum_exponent=1.5,
          feature_noise=3.0, response_noise=0.5, truth='linear', seed=15),
        W('lin_bign_pow', n_stimuli=2560, rank=32, widths=(4000,), spectrum='power', feature_noise=2.0,
          truth='linear', n_sites=100, seed=16),
        W('relusq_r16_3L', n_stimuli=1000, rank=16, widths=(300, 2000, 2000), spectrum='power',
          feature_noise=1.0, truth='relu_square', seed=17),
        W('sigmoid_r8', n_stimuli=800, rank=8, widths=(1500,), feature_noise=2.0, truth='sigmoid_gate', seed=18),
        W('product_r4_wide', n_stimuli=1000, rank=4, widths=(20000,), spectrum='power', spectrum_exponent=1.0,
          feature_noise=2.0, truth='product', seed=19),
        W('divisive_r12_2L', n_stimuli=1200, rank=12, widths=(800, 3000), spectrum='power', feature_noise=1.0,
          truth='divisive', seed=20),
        W('tanh_r32_noisy', n_stimuli=600, rank=32, widths=(2000,), feature_noise=3.0, response_noise=1.0,
          truth='tanh', seed=21),
        W('mixed_bign', n_stimuli=2560, rank=16, widths=(500, 3000), spectrum='power', spectrum_exponent=1.5,
          feature_noise=1.0, truth='mixed', n_sites=100, seed=22),
        W('relusq_r64', n_stimuli=1500, rank=64, widths=(5000,), spectrum='power', spectrum_exponent=0.5,
          feature_noise=1.0, truth='relu_square', seed=23),
    ]


WORLDS = _worlds()
CHEAP_WORLDS = [spec for spec in WORLDS if spec.cheap]


def world_by_name(name):
    """The :class:`WorldSpec` called ``name`` in :data:`WORLDS`; ``'<name>@seed<k>'`` is that world drawn at seed
    ``k`` (:meth:`WorldSpec.with_seed`)."""
    design, mark, seed = name.partition(SEED_MARK)
    for spec in WORLDS:
        if spec.name == design:
            if not mark:
                return spec
            if not seed.isdigit():
                raise KeyError(f"{name!r}: the seed after {SEED_MARK!r} must be a non-negative integer, "
                               f"e.g. {design}{SEED_MARK}101.")
            return spec.with_seed(int(seed))
    raise KeyError(f"{design!r} is not a world of the validity sweep; worlds are {[spec.name for spec in WORLDS]}.")
