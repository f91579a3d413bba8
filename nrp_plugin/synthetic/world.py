"""``SyntheticMajajHong2015``: configuration, generation, on-disk caching and Brain-Score assemblies.

A world is generated once per configuration into ``cache_dir('synthetic') / <config hash>`` (or
``<root>/synthetic/<config hash>``). Generation writes into a private staging directory that is renamed
into place only when complete, so the cache directory is either absent or whole:

    <hash>/world.json        configuration, hash, shapes, generation time
    <hash>/stimuli.csv       one row per image (Brain-Score's StimulusSet CSV layout, ``filename`` column)
    <hash>/images/*.png      the stimuli
    <hash>/neuroids.csv      one row per site: ids, region, animal, arr and its hidden parameters
    <hash>/responses.npy     (n_images, n_repetitions, n_sites) float32 trial responses
    <hash>/expected.npy      (n_images, n_sites) float32 noise-free mean responses
    <hash>/features_V4.npy   (n_images, 64) float32 teacher ``v4`` features
    <hash>/features_IT.npy   (n_images, 32) float32 teacher ``it`` features
    <hash>/subunits.csv      one row per hidden subunit: region, index, threshold, exponent
    <hash>/subunit_weights_V4.npy, subunit_weights_IT.npy   (n_subunits, n_features) subunit readouts
    <hash>/mixing_V4.npy, mixing_IT.npy   (n_sites, n_subunits) how each site sums the subunits
"""
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..storage.cache import atomic_path, atomic_write_text, cache_dir, remove_stale_folders
from . import images as stimuli
from . import teacher

IDENTIFIER = 'SyntheticMajajHong2015'
GENERATOR_VERSION = 2  # bump when generation changes, so old caches are not reused
REGIONS = ('V4', 'IT')
TARGET_CEILINGS = {'V4': 0.89, 'IT': 0.82}  # MajajHong2015 private internal-consistency ceilings
ACCESS_VARIATIONS = {'public': (0, 3), 'private': (6,)}
TIME_BIN = (70, 170)
MIN_PRIVATE_PER_OBJECT = 10
ANIMALS = {'V4': ('synthA', 'synthB'), 'IT': ('synthA', 'synthB')}
ARRAYS = {'V4': ('P',), 'IT': ('M', 'A')}
PRESET_ENV = 'NRP_SYNTHETIC_PRESET'


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


def expected_ceiling(noise, n_repetitions):
    """Inverse of :func:`noise_for_ceiling`: the Spearman-Brown corrected split-half ceiling."""
    half_correlation = 1.0 / (1.0 + 2.0 * noise ** 2 / n_repetitions)
    return 2 * half_correlation / (1 + half_correlation)


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
        unknown = set(counts) - set(stimuli.VARIATIONS)
        if unknown:
            raise ValueError(f"WorldConfig.images_per_object has unknown variation(s) {sorted(unknown)}; "
                             f"use variations among {stimuli.VARIATIONS}.")
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
        return {'V4': self.n_v4, 'IT': self.n_it}[region]

    def to_dict(self):
        """JSON-ready fields, with noise levels resolved."""
        values = asdict(self)
        values['images_per_object'] = [list(pair) for pair in self.images_per_object]
        values['noise_v4'], values['noise_it'] = self.noise('V4'), self.noise('IT')
        if values['min_repetitions'] is None:  # equal repetitions: the worlds generated before the field existed
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


def preset_from_environment():
    """The preset the data plugin loads: ``$NRP_SYNTHETIC_PRESET`` or ``'default'``."""
    return WorldConfig.preset(os.environ.get(PRESET_ENV) or 'default')


# --- generation -----------------------------------------------------------------------------------

def _stimulus_table(config):
    """One row per image, category-major; the order fixes every image's seed."""
    rows = []
    counts = dict(config.images_per_object)
    objects = stimuli.make_objects(config.seed)
    for spec in objects:
        for variation in sorted(counts):
            for k in range(counts[variation]):
                stimulus_id = f'{spec.name}_v{variation}_{k:02d}'
                rows.append(dict(stimulus_id=stimulus_id, object_name=spec.name, category_name=spec.category,
                                 variation=variation, image_file_name=f'{stimulus_id}.png',
                                 filename=f'{stimulus_id}.png'))
    return pd.DataFrame(rows), {spec.name: spec for spec in objects}


def _render_images(config, table, objects, directory):
    poses = []
    for index, row in enumerate(table.itertuples()):
        image, pose = stimuli.render_stimulus(objects[row.object_name], row.variation, config.seed, index,
                                              config.image_size)
        stimuli.save_png(image, directory / row.filename)
        poses.append(pose)
    poses = pd.DataFrame(poses)
    return pd.concat([table, poses], axis=1)


def _neuroid_table(config, readouts, noise_sd):
    rows = []
    for region in REGIONS:
        readout = readouts[region]
        animals, arrays = ANIMALS[region], ARRAYS[region]
        for site in range(config.n_sites(region)):
            animal = animals[site % len(animals)]
            arr = arrays[(site // len(animals)) % len(arrays)]
            rows.append(dict(neuroid_id=f'{region}_{animal}_{arr}_{site:03d}', region=region, animal=animal, arr=arr,
                             subunits=';'.join(str(k) for k in readout.subunits_of(site)),
                             baseline=readout.baseline[site], gain=readout.gain[site],
                             noise_sd=noise_sd[region][site], rf_x=readout.rf_x[site], rf_y=readout.rf_y[site]))
    return pd.DataFrame(rows)


def _save_array(path, array):
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as handle:
            np.save(handle, array)


def _subunit_table(readouts):
    return pd.DataFrame([dict(region=region, subunit=k, threshold=readouts[region].threshold[k],
                              exponent=readouts[region].exponent[k])
                         for region in REGIONS for k in range(len(readouts[region].threshold))])


def generate_into(config, directory):
    """Generate a whole world into ``directory`` (which must exist and be empty).

    Parameters
    ----------
    config : WorldConfig
    directory : path

    Returns
    -------
    dict
        The manifest also written to ``world.json``.
    """
    start = time.time()
    directory = Path(directory)
    image_dir = directory / 'images'
    image_dir.mkdir()
    table, objects = _stimulus_table(config)
    table = _render_images(config, table, objects, image_dir)
    table.to_csv(directory / 'stimuli.csv', index=False)
    layers = [teacher.REGION_LAYERS[region] for region in REGIONS]
    features = teacher.teacher_features([image_dir / name for name in table['filename']], seed=config.teacher_seed,
                                        layers=layers)
    private = table['variation'].isin(ACCESS_VARIATIONS['private']).values
    readouts, expected, responses, noise_sd = {}, [], [], {}
    for index, region in enumerate(REGIONS):
        readout = teacher.draw_readout(region, config.n_sites(region), teacher.seeded_rng(config.seed, 4, index),
                                       config.noise_spread)
        region_features = features[teacher.REGION_LAYERS[region]]
        mean = teacher.site_responses(region_features, readout, config.nonlinearity)
        noise_sd[region] = config.noise(region) * readout.noise_factor * mean[private].std(axis=0)
        trials = teacher.trial_responses(mean, noise_sd[region], config.n_repetitions,
                                         teacher.seeded_rng(config.seed, 5, index))
        readouts[region] = readout
        expected.append(mean.astype(np.float32))
        responses.append(trials)
        _save_array(directory / f'features_{region}.npy', region_features)
        _save_array(directory / f'subunit_weights_{region}.npy', readout.subunit_weights.astype(np.float32))
        _save_array(directory / f'mixing_{region}.npy', readout.mixing.astype(np.float32))
    _save_array(directory / 'expected.npy', np.concatenate(expected, axis=1))
    _save_array(directory / 'responses.npy', np.concatenate(responses, axis=2))
    _neuroid_table(config, readouts, noise_sd).to_csv(directory / 'neuroids.csv', index=False)
    _subunit_table(readouts).to_csv(directory / 'subunits.csv', index=False)
    manifest = dict(identifier=IDENTIFIER, config=config.to_dict(), config_hash=config.config_hash(),
                    generator_version=GENERATOR_VERSION, n_images=len(table),
                    n_sites={region: config.n_sites(region) for region in REGIONS},
                    teacher_layers={region: teacher.REGION_LAYERS[region] for region in REGIONS},
                    teacher_image_size=teacher.TEACHER_IMAGE_SIZE, time_bin=list(TIME_BIN),
                    generation_seconds=round(time.time() - start, 2))
    atomic_write_text(directory / 'world.json', json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _remove_stale_staging(parent, key):
    """Remove staging directories of ``key`` left by processes that no longer run (e.g. killed)."""
    remove_stale_folders(parent, f'.{key}.staging-*', lambda name: int(name.split('staging-')[1].split('-')[0]))


def world_directory(config=None, root=None):
    """Where ``config``'s world is (or would be) cached: ``<root or cache root>/synthetic/<config hash>``."""
    config = config or WorldConfig()
    return cache_dir('synthetic', root=root) / config.config_hash()


def _is_complete(directory, config):
    manifest = directory / 'world.json'
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text(encoding='utf-8')).get('config_hash') == config.config_hash()
    except (OSError, ValueError):
        return False


def ensure_world(config=None, root=None):
    """Generate ``config``'s world unless a complete cached copy exists; return its directory.

    The world is written into ``.<hash>.staging-<pid>-*`` beside its final place and renamed onto
    ``<hash>`` at the end; an exception or interrupt removes the staging directory, so no partial
    world is ever visible. When another process finishes the same world first, its copy is kept.
    """
    config = config or WorldConfig()
    final = world_directory(config, root)
    if _is_complete(final, config):
        return final
    parent, key = final.parent, final.name
    _remove_stale_staging(parent, key)
    if final.exists() and not any(final.iterdir()):
        final.rmdir()
    elif final.exists():  # an incomplete or foreign directory under our hash: replace it
        shutil.rmtree(final)
    staging = Path(tempfile.mkdtemp(prefix=f'.{key}.staging-{os.getpid()}-', dir=parent))
    try:
        generate_into(config, staging)
        try:
            os.replace(staging, final)
        except OSError:
            if not _is_complete(final, config):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


# --- loading --------------------------------------------------------------------------------------

class SyntheticWorld:
    """A generated world on disk, with Brain-Score views of it.

    Attributes
    ----------
    config : WorldConfig
    directory : Path
    manifest : dict
    stimulus_set : StimulusSet
        All images (``identifier`` ``'SyntheticMajajHong2015--<hash>'``).
    assembly : NeuronRecordingAssembly, shape (n_images * n_repetitions, n_sites, 1)
        All trials of all images, dims ``presentation x neuroid x time_bin``.
    """

    def __init__(self, config, directory):
        self.config = config
        self.directory = Path(directory)
        self.manifest = json.loads((self.directory / 'world.json').read_text(encoding='utf-8'))
        from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
        self._all_stimuli = StimulusSet.from_files(self.directory / 'stimuli.csv', self.directory / 'images')
        self.neuroids = pd.read_csv(self.directory / 'neuroids.csv')
        self._cache = {}

    # identifiers ------------------------------------------------------------------------------
    def identifier(self, access=None):
        """``'SyntheticMajajHong2015[.public|.private]--<hash>'``; the hash keeps activation caches apart."""
        suffix = f'.{access}' if access else ''
        return f'{IDENTIFIER}{suffix}--{self.config.config_hash()}'

    def _mask(self, access):
        if access is None:
            return np.ones(len(self._all_stimuli), dtype=bool)
        if access not in ACCESS_VARIATIONS:
            raise ValueError(f"access={access!r} is unknown; use 'public', 'private' or None (all images).")
        return self._all_stimuli['variation'].isin(ACCESS_VARIATIONS[access]).values

    # Brain-Score views -------------------------------------------------------------------------
    def get_stimulus_set(self, access=None):
        """The StimulusSet of ``access`` (None: all images), with ``stimulus_paths`` to the PNG files."""
        key = ('stimuli', access)
        if key not in self._cache:
            self._cache[key] = _stimulus_rows(self._all_stimuli, self._mask(access), self.identifier(access))
        return self._cache[key]

    def stimulus_subset(self, access, n_images):
        """The first ``n_images`` of ``access`` as a new StimulusSet without an identifier, so Brain-Score
        caches no activations of it (for checks on a few images)."""
        stimuli = self.get_stimulus_set(access)
        return _stimulus_rows(stimuli, np.arange(len(stimuli)) < n_images, None)

    def get_assembly(self, access=None):
        """Trial responses of ``access`` as a ``NeuronRecordingAssembly``.

        Returns
        -------
        NeuronRecordingAssembly, shape (n_trials, n_sites, 1)
            One presentation per trial (``n_images * n_repetitions`` of them, or the sum of
            :meth:`repetition_counts` when images have different numbers of trials), ordered
            repetition-major (every image's trial 0, then every image's trial 1 that has one, ...).
            Coords: presentation ``stimulus_id``, ``object_name``, ``category_name``, ``variation``,
            ``image_file_name``, ``ty``, ``tz``, ``s``, ``rxy``, ``rxz``, ``repetition``; neuroid
            ``neuroid_id``, ``region``, ``animal``, ``arr``; time_bin ``time_bin_start``,
            ``time_bin_end``. ``attrs['stimulus_set']`` is :meth:`get_stimulus_set` of ``access``.
        """
        key = ('assembly', access)
        if key not in self._cache:
            responses = np.load(self.directory / 'responses.npy', mmap_mode='r')
            mask = self._mask(access)
            values = np.asarray(responses[mask], dtype=np.float32)  # (images, reps, sites)
            counts = self.repetition_counts(access)
            # repetition-major: every image with a trial r, for r = 0, 1, ...; an image has counts[i] trials
            repetition, image = np.nonzero(np.arange(values.shape[1])[:, None] < counts[None, :])
            self._cache[key] = self._package(values[image, repetition], access, image, repetition)
        return self._cache[key]

    def repetition_counts(self, access=None):
        """Trials recorded for each image of ``access``, in stimulus-set order, shape (n_images,)."""
        return self.config.repetition_counts(len(self._all_stimuli))[self._mask(access)]

    def features(self, region, access=None):
        """The teacher features that drive ``region``, in stimulus-set order.

        Returns
        -------
        ndarray, shape (n_images, n_features), float32
        """
        if region not in REGIONS:
            raise ValueError(f"region={region!r} is unknown; use one of {REGIONS}.")
        return np.load(self.directory / f'features_{region}.npy')[self._mask(access)]

    def teacher_activations(self, regions, access='private'):
        """The teacher features of one or more regions as a model's activations (a ``NeuroidAssembly``).

        Parameters
        ----------
        regions : str or sequence of str
            ``'V4'``, ``'IT'`` or both; each region's stage is one block of columns, in the given order.
        access : {'private', 'public', None}

        Returns
        -------
        NeuroidAssembly, shape (n_images, n_features)
            Presentation coords ``stimulus_id`` and ``object_name``; neuroid coords ``neuroid_id`` and
            ``layer`` (the teacher stage: ``'v4'`` or ``'it'``), ready for the ``nrp`` and ``pls`` metrics.
        """
        from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
        regions = [regions] if isinstance(regions, str) else list(regions)
        blocks = [self.features(region, access) for region in regions]
        layers = [teacher.REGION_LAYERS[region] for region, block in zip(regions, blocks)
                  for _ in range(block.shape[1])]
        stimuli = self.get_stimulus_set(access)
        return NeuroidAssembly(np.concatenate(blocks, axis=1), dims=['presentation', 'neuroid'], coords={
            'stimulus_id': ('presentation', stimuli['stimulus_id'].values),
            'object_name': ('presentation', stimuli['object_name'].values),
            'neuroid_id': ('neuroid', [f'{layer}.{i}' for i, layer in enumerate(layers)]),
            'layer': ('neuroid', layers)})

    def region_assembly(self, region, access='private', average_repetitions=False):
        """One region's responses prepared as Brain-Score's MajajHong2015 benchmark prepares its data.

        Mirrors ``brainscore_vision.benchmarks.majajhong2015.benchmark.load_assembly``: squeeze the time
        bin, ``.sel(region=...)``, re-attach ``region``, put ``presentation`` first and, optionally, average
        the repetitions with Brain-Score's ``average_repetition``.

        Returns
        -------
        NeuronRecordingAssembly, shape (n_presentations, n_sites_of_region)
            ``n_presentations`` is ``n_images * n_repetitions``, or ``n_images`` when averaged.
        """
        if region not in REGIONS:
            raise ValueError(f"region={region!r} is unknown; use one of {REGIONS}.")
        from brainscore_vision.benchmark_helpers.neural_common import average_repetition
        assembly = self.get_assembly(access).squeeze('time_bin')
        attrs = dict(assembly.attrs)
        assembly = assembly.sel(region=region)
        assembly['region'] = 'neuroid', [region] * len(assembly['neuroid'])
        assembly = assembly.transpose('presentation', 'neuroid', ...)
        assembly.attrs.update(attrs)
        if average_repetitions:
            assembly = average_repetition(assembly)
        return assembly

    def public(self):
        """``(stimulus_set, assembly)`` of the public images (variations 0 and 3)."""
        return self.get_stimulus_set('public'), self.get_assembly('public')

    def private(self):
        """``(stimulus_set, assembly)`` of the private images (variation 6)."""
        return self.get_stimulus_set('private'), self.get_assembly('private')

    @property
    def stimulus_set(self):
        return self.get_stimulus_set(None)

    @property
    def assembly(self):
        return self.get_assembly(None)

    def _package(self, values, access, image, repetition):
        from brainscore_core.supported_data_standards.brainio.assemblies import NeuronRecordingAssembly
        stimulus_set = self.get_stimulus_set(access)
        columns = ['stimulus_id', 'object_name', 'category_name', 'variation', 'image_file_name',
                   'ty', 'tz', 's', 'rxy', 'rxz']
        presentation = {column: ('presentation', stimulus_set[column].values[image]) for column in columns}
        presentation['repetition'] = ('presentation', np.asarray(repetition))
        neuroid = {column: ('neuroid', self.neuroids[column].values)
                   for column in ('neuroid_id', 'region', 'animal', 'arr')}
        assembly = NeuronRecordingAssembly(
            np.asarray(values, dtype=np.float32)[:, :, None], dims=['presentation', 'neuroid', 'time_bin'],
            coords={**presentation, **neuroid,
                    'time_bin_start': ('time_bin', [TIME_BIN[0]]), 'time_bin_end': ('time_bin', [TIME_BIN[1]])})
        assembly.attrs['stimulus_set'] = stimulus_set
        assembly.attrs['stimulus_set_identifier'] = stimulus_set.identifier
        assembly.attrs['identifier'] = self.identifier(access)
        return assembly


def _stimulus_rows(stimuli, mask, identifier):
    """The rows of ``stimuli`` under ``mask`` as a StimulusSet with their ``stimulus_paths`` and ``identifier``."""
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    subset = StimulusSet(stimuli[mask].reset_index(drop=True))
    subset.stimulus_paths = {stimulus_id: stimuli.stimulus_paths[stimulus_id] for stimulus_id in subset['stimulus_id']}
    subset.identifier = identifier
    return subset


def load_world(config=None, root=None):
    """Load a synthetic world, generating and caching it first when needed.

    Parameters
    ----------
    config : WorldConfig, optional
        ``WorldConfig()`` (the ``'default'`` preset) when omitted.
    root : path, optional
        Cache root to use instead of ``$NRP_PLUGIN_HOME`` (the world goes to ``<root>/synthetic/<hash>``).

    Returns
    -------
    SyntheticWorld
    """
    config = config if config is not None else WorldConfig()
    if not isinstance(config, WorldConfig):
        raise ValueError(f"config={config!r} is not a WorldConfig; build one with WorldConfig(...) "
                         f"or WorldConfig.preset('default').")
    return SyntheticWorld(config, ensure_world(config, root))
