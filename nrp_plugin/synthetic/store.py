"""The on-disk cache of generated worlds, and a world read back from it as plain data.

A world is generated once per configuration into ``cache_dir('synthetic') / <config hash>`` (or
``<root>/synthetic/<config hash>``); :mod:`.generate` lists its files. Generation writes into a private
staging directory that is renamed into place only when complete, so the cache directory is either
absent or whole. :func:`open_world` returns a :class:`StoredWorld`: the configuration, the directory,
the stimulus and site tables (pandas) and the responses and teacher features (numpy). The Brain-Score
views of a world are in :mod:`nrp_plugin.brainscore.synthetic_world`.
"""
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..storage.cache import cache_dir, remove_stale_folders
from .config import ACCESS_VARIATIONS, IDENTIFIER, REGIONS, WorldConfig
from .generate import generate_into

LOCATION_HASH_CHARS = 12


def world_directory(config=None, root=None):
    """Where ``config``'s world is (or would be) cached: ``<root or cache root>/synthetic/<config hash>``."""
    config = config or WorldConfig()
    return cache_dir('synthetic', root=root) / config.config_hash()


def _remove_stale_staging(parent, key):
    """Remove staging directories of ``key`` left by processes that no longer run (e.g. killed)."""
    remove_stale_folders(parent, f'.{key}.staging-*', lambda name: int(name.split('staging-')[1].split('-')[0]))


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

    Parameters
    ----------
    config : WorldConfig, optional
        ``WorldConfig()`` when omitted.
    root : path, optional
        Cache root to use instead of ``$NRP_PLUGIN_HOME``.

    Returns
    -------
    Path
        :func:`world_directory` of ``config``.
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


class StoredWorld:
    """A generated world on disk, read as plain data.

    Parameters
    ----------
    config : WorldConfig
    directory : path
        A complete world of ``config`` (as :func:`ensure_world` returns).

    Attributes
    ----------
    config : WorldConfig
    directory : Path
    manifest : dict
        ``world.json``.
    stimuli : pandas.DataFrame, shape (n_images, n_columns)
        ``stimuli.csv``: one row per image, in generation order (``stimulus_id``, ``object_name``,
        ``category_name``, ``variation``, ``image_file_name``, ``filename``, the pose ``ty``, ``tz``,
        ``s``, ``rxy``, ``rxz``).
    image_paths : dict
        ``{stimulus_id: Path}`` of every image's PNG file.
    neuroids : pandas.DataFrame, shape (n_sites, n_columns)
        ``neuroids.csv``: one row per site, V4 first.

    Raises
    ------
    FileNotFoundError
        When an image named in ``stimuli.csv`` is missing.
    """

    def __init__(self, config, directory):
        self.config = config
        self.directory = Path(directory)
        self.manifest = json.loads((self.directory / 'world.json').read_text(encoding='utf-8'))
        self.stimuli = pd.read_csv(self.directory / 'stimuli.csv')
        image_dir = self.directory / 'images'
        self.image_paths = {stimulus_id: image_dir / filename
                            for stimulus_id, filename in zip(self.stimuli['stimulus_id'], self.stimuli['filename'])}
        missing = [path for path in self.image_paths.values() if not path.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) of the world in {self.directory} are missing, e.g. "
                                    f"{missing[0]}; delete that directory so the world is generated again.")
        self.neuroids = pd.read_csv(self.directory / 'neuroids.csv')

    def identifier(self, access=None):
        """``'SyntheticMajajHong2015[.public|.private]--<config hash>'``: the world's content, the same in every
        cache root."""
        suffix = f'.{access}' if access else ''
        return f'{IDENTIFIER}{suffix}--{self.config.config_hash()}'

    def location_hash(self):
        """The first 12 hex digits of the sha256 of ``str(directory)``: where this copy's image files are."""
        return hashlib.sha256(str(self.directory).encode('utf-8')).hexdigest()[:LOCATION_HASH_CHARS]

    def stimulus_set_identifier(self, access=None):
        """``'<identifier(access)>--at-<location hash>'``: the identifier of this copy's StimulusSets.

        Brain-Score keys its stored activations (``result_caching``) by model and stimulus-set identifier,
        and on reading them back asserts that their image paths are the requesting set's paths. Copies of
        one world in two cache roots have the same images at different paths, so each needs its own key:
        the location hash gives it. The part before the first ``--`` is the registered name, where
        Brain-Score looks up the data plugin's revision.
        """
        return f'{self.identifier(access)}--at-{self.location_hash()}'

    def mask(self, access=None):
        """Which images belong to ``access``.

        Parameters
        ----------
        access : {'public', 'private', None}
            ``None``: all images.

        Returns
        -------
        ndarray of bool, shape (n_images,)
        """
        if access is None:
            return np.ones(len(self.stimuli), dtype=bool)
        if access not in ACCESS_VARIATIONS:
            raise ValueError(f"access={access!r} is unknown; use 'public', 'private' or None (all images).")
        return self.stimuli['variation'].isin(ACCESS_VARIATIONS[access]).values

    def repetition_counts(self, access=None):
        """Trials recorded for each image of ``access``, in stimulus-table order, shape (n_images,)."""
        return self.config.repetition_counts(len(self.stimuli))[self.mask(access)]

    def responses(self, access=None):
        """Trial responses of the images of ``access``.

        Returns
        -------
        ndarray, shape (n_images, n_repetitions, n_sites), float32
            Sites in :attr:`neuroids` order. An image with fewer trials than ``n_repetitions`` (see
            :meth:`repetition_counts`) has its first ``count`` trials recorded; the rest are unused.
        """
        responses = np.load(self.directory / 'responses.npy', mmap_mode='r')
        return np.asarray(responses[self.mask(access)], dtype=np.float32)

    def features(self, region, access=None):
        """The teacher features that drive ``region``, in stimulus-table order.

        Returns
        -------
        ndarray, shape (n_images, n_features), float32
        """
        if region not in REGIONS:
            raise ValueError(f"region={region!r} is unknown; use one of {REGIONS}.")
        return np.load(self.directory / f'features_{region}.npy')[self.mask(access)]


def open_world(config=None, root=None):
    """Open a synthetic world, generating and caching it first when needed.

    Parameters
    ----------
    config : WorldConfig, optional
        ``WorldConfig()`` (the ``'default'`` preset) when omitted.
    root : path, optional
        Cache root to use instead of ``$NRP_PLUGIN_HOME`` (the world goes to ``<root>/synthetic/<hash>``).

    Returns
    -------
    StoredWorld
    """
    config = config if config is not None else WorldConfig()
    if not isinstance(config, WorldConfig):
        raise ValueError(f"config={config!r} is not a WorldConfig; build one with WorldConfig(...) "
                         f"or WorldConfig.preset('default').")
    return StoredWorld(config, ensure_world(config, root))
