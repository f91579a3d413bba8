"""What determines a synthetic world: :class:`WorldConfig`, its presets and the calibrated trial noise.

The design constants shared by generation, the on-disk cache and the Brain-Score views live here too:
the regions, the ceilings the noise is calibrated to, which variations each access family holds, and
the time bin the responses stand for.
"""
import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import images

IDENTIFIER = 'SyntheticMajajHong2015'
GENERATOR_VERSION = 2  # bump when generation changes, so old caches are not reused
REGIONS = ('V4', 'IT')
TARGET_CEILINGS = {'V4': 0.89, 'IT': 0.82}  # MajajHong2015 private internal-consistency ceilings
ACCESS_VARIATIONS = {'public': (0, 3), 'private': (6,)}
TIME_BIN = (70, 170)
MIN_PRIVATE_PER_OBJECT = 10
PRESET_ENV = 'NRP_SYNTHETIC_PRESET'
#: Environment variable: the ``seed`` of the world the data plugin loads (the preset's own when unset)
SEED_ENV = 'NRP_SYNTHETIC_SEED'


def noise_for_ceiling(ceiling, n_repetitions):
    """Trial-noise level (noise sd / signal sd) whose expected split-half ceiling is ``ceiling``.

    With ``n`` repetitions split into halves of ``n / 2``, a site whose trial noise is ``k`` times
    its signal's standard deviation has half-to-half correlation ``r = 1 / (1 + 2 k^2 / n)``;
    Brain-Score reports the Spearman-Brown corrected ``2 r / (1 + r)``. This inverts that.

    Parameters
    ----------
    ceiling : float
        In (0, 1).
    n_repetitions : int

    Returns
    -------
    float
    """
    half_correlation = ceiling / (2.0 - ceiling)
    return math.sqrt((1.0 / half_correlation - 1.0) * n_repetitions / 2.0)


def _normalize_counts(value):
    if isinstance(value, dict):
        value = value.items()
    try:
        pairs = tuple(sorted((int(variation), int(count)) for variation, count in value))
    except (TypeError, ValueError):
        raise ValueError(f"images_per_object={value!r} must be (variation, count) pairs or a dict "
                         f"{{variation: count}}, e.g. ((0, 1), (3, 4), (6, 10)).") from None
    return pairs


@dataclass(frozen=True)
class WorldConfig:
    """Everything that determines a synthetic world.

    Attributes
    ----------
    seed : int
        Seeds objects, poses, backgrounds, readouts and trial noise.
    teacher_seed : int
        Seeds the teacher network's random kernels. The registered model
        ``SyntheticMajajHong2015-teacher`` is the teacher with seed 0.
    nonlinearity : float
        Strength in [0, 1] of the sites' nonlinearity (0: responses are affine in the teacher features).
    n_repetitions : int
        Trials per image (>= 2, for split-half ceilings); with ``min_repetitions``, the most trials an image has.
    min_repetitions : int or None
        ``None``: every image has ``n_repetitions`` trials. Otherwise each image's number of trials is drawn
        (seeded) uniformly between ``min_repetitions`` and ``n_repetitions``, as recordings keep different
        numbers of repetitions for different images.
    image_size : int
        PNG width and height in pixels (32 to 1024).
    images_per_object : tuple of (int, int)
        ``(variation, count)`` pairs; variations among 0, 3, 6; variation 6 (the private split) needs
        at least 10 images per object.
    n_v4, n_it : int
        Number of V4 and IT sites.
    noise_v4, noise_it : float or None
        Trial-noise standard deviation as a multiple of each site's signal standard deviation over the
        private images (times a per-site log-normal factor). ``None`` picks the level whose expected
        ceiling is MajajHong2015's (V4 0.89, IT 0.82) at ``n_repetitions``.
    noise_spread : float
        Standard deviation of the log of the per-site noise factor (>= 0).
    """
    seed: int = 0
    teacher_seed: int = 0
    nonlinearity: float = 1.0
    n_repetitions: int = 30
    min_repetitions: int = None
    image_size: int = 256
    images_per_object: tuple = ((0, 1), (3, 4), (6, 10))
    n_v4: int = 88
    n_it: int = 168
    noise_v4: float = None
    noise_it: float = None
    noise_spread: float = 0.3

    def __post_init__(self):
        object.__setattr__(self, 'images_per_object', _normalize_counts(self.images_per_object))
        self._validate()
        for name in ('seed', 'teacher_seed', 'n_repetitions', 'image_size', 'n_v4', 'n_it'):
            object.__setattr__(self, name, int(getattr(self, name)))
        if self.min_repetitions is not None:
            object.__setattr__(self, 'min_repetitions', int(self.min_repetitions))  # numpy integers -> JSON-ready ints
        for name in ('nonlinearity', 'noise_spread'):
            object.__setattr__(self, name, float(getattr(self, name)))

    def _validate(self):
        def integer(name, low, high=None):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
                    high is not None and value > high):
                bound = f'between {low} and {high}' if high is not None else f'>= {low}'
                raise ValueError(f"WorldConfig.{name}={value!r} is invalid: use an integer {bound}.")

        integer('seed', 0)
        integer('teacher_seed', 0)
        integer('n_repetitions', 2)
        if self.min_repetitions is not None:
            integer('min_repetitions', 2, self.n_repetitions)
        integer('image_size', 32, 1024)
        integer('n_v4', 1)
        integer('n_it', 1)
        if isinstance(self.nonlinearity, bool) or not isinstance(self.nonlinearity, (int, float)) \
                or not 0.0 <= self.nonlinearity <= 1.0:
            raise ValueError(f"WorldConfig.nonlinearity={self.nonlinearity!r} is invalid: use a number in [0, 1] "
                             f"(0 = purely linear world, 1 = fully nonlinear).")
        for name in ('noise_v4', 'noise_it'):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not value >= 0 or math.isinf(value)):
                raise ValueError(f"WorldConfig.{name}={value!r} is invalid: use a finite number >= 0 "
                                 f"(noise sd / signal sd), or None for MajajHong2015-like ceilings.")
        if not isinstance(self.noise_spread, (int, float)) or not 0.0 <= self.noise_spread <= 2.0:
            raise ValueError(f"WorldConfig.noise_spread={self.noise_spread!r} is invalid: use a number in [0, 2].")
        counts = dict(self.images_per_object)
        if len(counts) != len(self.images_per_object):
            raise ValueError(f"WorldConfig.images_per_object={self.images_per_object!r} names a variation twice; "
                             f"give each variation once.")
        unknown = set(counts) - set(images.VARIATIONS)
        if unknown:
            raise ValueError(f"WorldConfig.images_per_object has unknown variation(s) {sorted(unknown)}; "
                             f"use variations among {images.VARIATIONS}.")
        if any(count < 1 for count in counts.values()):
            raise ValueError(f"WorldConfig.images_per_object={self.images_per_object!r}: every count must be >= 1; "
                             f"leave a variation out instead of giving it 0 images.")
        if counts.get(6, 0) < MIN_PRIVATE_PER_OBJECT:
            raise ValueError(f"WorldConfig.images_per_object gives variation 6 (the private split) "
                             f"{counts.get(6, 0)} images per object; use at least {MIN_PRIVATE_PER_OBJECT}, "
                             f"so Brain-Score's 10% stratified test split holds one image of each of the 64 objects.")

    @classmethod
    def preset(cls, name='default', **overrides):
        """A named configuration.

        Parameters
        ----------
        name : {'default', 'majajhong', 'linear'}
            ``'default'``: 320 public (1 + 4 per object at variations 0 and 3) and 640 private images
            (10 per object at variation 6), 30 repetitions; generated in well under a minute.
            ``'majajhong'``: the real design, 3,200 public (10 + 40 per object) and 2,560 private
            (40 per object) images, between 25 and 50 repetitions per image. ``'linear'``: ``'default'`` with nonlinearity 0.
        **overrides
            Fields to change.

        Returns
        -------
        WorldConfig
        """
        presets = {'default': {},
                   'majajhong': dict(images_per_object=((0, 10), (3, 40), (6, 40)), n_repetitions=50,
                                     min_repetitions=25),
                   'linear': dict(nonlinearity=0.0)}
        if name not in presets:
            raise ValueError(f"Unknown WorldConfig preset {name!r}; choose one of {sorted(presets)}.")
        unknown = set(overrides) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(f"Unknown WorldConfig field(s) {sorted(unknown)}; "
                             f"fields are {[field.name for field in fields(cls)]}.")
        return cls(**{**presets[name], **overrides})

    def noise(self, region):
        """The trial-noise level of ``region`` ('V4' or 'IT'), resolving ``None`` to the calibrated level."""
        value = {'V4': self.noise_v4, 'IT': self.noise_it}[region]
        return float(value) if value is not None else noise_for_ceiling(TARGET_CEILINGS[region], self.n_repetitions)

    def n_sites(self, region):
        """The number of sites of ``region`` ('V4' or 'IT')."""
        return {'V4': self.n_v4, 'IT': self.n_it}[region]

    def to_dict(self):
        """JSON-ready fields, with noise levels resolved."""
        values = asdict(self)
        values['images_per_object'] = [list(pair) for pair in self.images_per_object]
        values['noise_v4'], values['noise_it'] = self.noise('V4'), self.noise('IT')
        if values['min_repetitions'] is None:  # left out, so worlds of equal repetitions keep their hash
            del values['min_repetitions']
        return values

    def repetition_counts(self, n_images):
        """Trials of each image, shape (n_images,): drawn (seeded) when ``min_repetitions`` is set."""
        if self.min_repetitions is None:
            return np.full(n_images, self.n_repetitions, dtype=int)
        rng = np.random.default_rng([self.seed, 6])
        return rng.integers(self.min_repetitions, self.n_repetitions + 1, size=n_images)

    def config_hash(self):
        """16 hex digits identifying the generated data (fields plus the generator version)."""
        payload = json.dumps({'config': self.to_dict(), 'generator_version': GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha1(payload.encode('utf-8')).hexdigest()[:16]


def seed_from_environment():
    """``$NRP_SYNTHETIC_SEED`` as an integer, or None when it is unset or empty.

    Raises
    ------
    ValueError
        When it is not a non-negative integer.
    """
    text = os.environ.get(SEED_ENV, '').strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{SEED_ENV}={text!r} is not a non-negative integer; set it to the world's seed "
                         f"(e.g. {SEED_ENV}=201) or unset it for the preset's own world.")
    return int(text)


def preset_from_environment():
    """The world the data plugin loads: the preset ``$NRP_SYNTHETIC_PRESET`` (``'default'`` when unset), drawn at
    ``seed=$NRP_SYNTHETIC_SEED`` when that is set (new objects, images, poses, sites and trial noise; the teacher,
    ``teacher_seed``, and the design are the preset's)."""
    seed = seed_from_environment()
    return WorldConfig.preset(os.environ.get(PRESET_ENV) or 'default', **({} if seed is None else {'seed': seed}))
