"""A stand-in for MajajHong2015 in the real files' format, served where Brain-Score reads the real data.

MajajHong2015 comes from S3. Offline, :func:`write_standin` packages a synthetic world (by default the
``'majajhong'`` preset: 3,200 public and 2,560 private 256-px images, 88 V4 and 168 IT sites, 25 to 50
trials per image) with Brain-Score's own packaging functions into the six files its data plugin reads,
each placed where Brain-Score's ``BotoFetcher`` finds an already-fetched file::

    <brainio_home>/<sha1>/assy_dicarlo_MajajHong2015_private.nc   trials of variation 6
    <brainio_home>/<sha1>/stimulus_hvm-private.csv                 one row per private image
    <brainio_home>/<sha1>/stimulus_hvm-private.zip                 the private PNGs
    <brainio_home>/<sha1>/assy_dicarlo_MajajHong2015_public.nc    trials of variations 0 and 3
    <brainio_home>/<sha1>/stimulus_hvm-public.csv
    <brainio_home>/<sha1>/stimulus_hvm-public.zip
    <brainio_home>/standin.json                                    what was written, from which world

``<sha1>`` is the real file's (:data:`nrp_plugin.brainscore.majajhong.FILES`); the stand-in's bytes differ,
so Brain-Score's sha1 check would reject them. :func:`serve_standin` therefore replaces the S3 fetch, and
only it, by a lookup of these files without the check; everything else that runs is Brain-Score's: the
``majajhong2015`` data plugin, ``load_stimulus_set_from_s3`` and ``unzip``, the ``StimulusSetLoader``, the
NetCDF assembly loader that merges the stimulus set in, and the benchmarks' ``load_assembly``.

File contents
-------------
Assembly (``NeuronRecordingAssembly``, presentation x neuroid x time_bin, float32): one presentation per
trial, so an image keeps however many trials the world recorded for it; presentation coords ``stimulus_id``,
``repetition`` (0, 1, ... per image) and ``stimulus`` (the image's row in its stimulus set); neuroid coords
``neuroid_id``, ``region``, ``animal``, ``arr``, ``hemisphere``, ``row``, ``col``, ``x``, ``y``, ``bank``,
``elec``, ``label``; one time bin, ``time_bin_start`` 70 and ``time_bin_end`` 170 (the world's). The
stimulus metadata is not repeated per trial: Brain-Score merges it in from the stimulus set on loading.

Stimulus set (CSV): HvM's columns ``stimulus_id``, ``id``, ``object_name``, ``category_name``,
``background_id``, ``image_file_name``, ``variation``, ``ty``, ``tz``, ``s``, ``rxy``, ``rxz``, ``ryz``,
``rxy_semantic``, ``rxz_semantic``, ``ryz_semantic``, ``size``, plus ``filename`` (the file in the zip,
``<stimulus_id>.png``, written by Brain-Score's packaging).

Derived values (the world has no counterpart; each is a deterministic function of the world):

* stimulus ``id``: the image's 1-based position among all the world's images (HvM numbers its 5,760 so);
* ``background_id``: sha1 of the world's identifier and that position (the background is seeded by them);
* ``ryz``: 0 (the world rotates objects in plane and about the vertical axis only);
  ``rxy_semantic``, ``rxz_semantic``, ``ryz_semantic``: equal to ``rxy``, ``rxz``, ``ryz`` (the world's
  objects have no canonical pose apart from their drawn one);
* ``size``: the image width in pixels, as a float;
* presentation ``stimulus``: the image's row in its stimulus set;
* neuroid ``hemisphere`` ``'L'``; ``row``, ``col`` on a 10 x 10 Utah array without its corners (96
  electrodes), filled in order within each region, animal and array; ``x``, ``y`` the electrode's position
  in mm from the array centre (0.4 mm pitch); ``bank`` ``'A'``, ``'B'``, ``'C'`` (32 electrodes each),
  ``elec`` 1-32 within the bank, ``label`` ``'elec<1-96>'``. A group of more than 96 sites wraps around.

Taken from the world: ``stimulus_id``, ``object_name``, ``category_name``, ``variation``,
``image_file_name``, ``ty``, ``tz``, ``s``, ``rxy``, ``rxz``, the PNGs, the trials, ``neuroid_id``,
``region``, ``animal``, ``arr`` and the time bin. Stimulus and neuroid ids keep the world's spelling (the
real ones are sha1s and ``<animal>_L_<arr>_<row>_<col>``), so every site and image can be traced back.

Writing is atomic per file: the six files are packaged into a staging folder in ``brainio_home``, then
each is moved to a temporary name in its final folder and renamed onto its final name; an exception or an
interrupt before that leaves none of them at a final path, and a previous stand-in intact.
"""
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..storage.cache import atomic_path, atomic_write_text, remove_stale_folders
from .majajhong import FILES

ACCESSES = ('private', 'public')
ASSEMBLY_IDENTIFIER = 'dicarlo.MajajHong2015.{access}'  # packaged as assy_dicarlo_MajajHong2015_<access>.nc
STIMULUS_SET_IDENTIFIER = 'hvm-{access}'  # packaged as stimulus_hvm-<access>.csv and .zip
MANIFEST_NAME = 'standin.json'
STAGING_PREFIX = '.standin-staging-'
HVM_COLUMNS = ('stimulus_id', 'id', 'object_name', 'category_name', 'background_id', 'image_file_name',
               'variation', 'ty', 'tz', 's', 'rxy', 'rxz', 'ryz', 'rxy_semantic', 'rxz_semantic', 'ryz_semantic',
               'size')
NEUROID_COLUMNS = ('neuroid_id', 'region', 'animal', 'arr', 'hemisphere', 'row', 'col', 'x', 'y', 'bank', 'elec',
                   'label')
# a Utah array: 10 x 10 electrodes at 0.4 mm, the four corners unconnected, 96 electrodes in 3 banks of 32
UTAH_GRID = tuple((row, col) for row in range(10) for col in range(10) if not (row in (0, 9) and col in (0, 9)))
UTAH_PITCH_MM = 0.4
UTAH_BANKS = ('A', 'B', 'C')


def standin_paths(brainio_home):
    """Where each stand-in file goes: Brain-Score's cache path for the real file.

    Parameters
    ----------
    brainio_home : path

    Returns
    -------
    dict
        ``{access: {file name: Path}}`` for ``access`` in ``'private'``, ``'public'``; each path is
        ``<brainio_home>/<real sha1>/<real file name>``.
    """
    home = Path(brainio_home).expanduser()
    return {access: {name: home / sha1 / name for name, sha1 in FILES[access]} for access in ACCESSES}


def _world_variations(access):
    from ..synthetic.config import ACCESS_VARIATIONS
    return ACCESS_VARIATIONS[access]


def hvm_stimulus_set(world, access):
    """The StimulusSet Brain-Score's packaging takes for ``access``: HvM's columns, no ``filename``.

    Parameters
    ----------
    world : SyntheticWorld
    access : {'private', 'public'}

    Returns
    -------
    StimulusSet, shape (n_images, 17)
        Columns :data:`HVM_COLUMNS` (see the module docstring for the derived ones), in the world's
        stimulus-set order; ``stimulus_paths`` point at the world's PNGs; ``identifier`` is None.
    """
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    stimuli = world.get_stimulus_set(access)
    everything = world.get_stimulus_set(None)
    position = pd.Index(everything['stimulus_id']).get_indexer(stimuli['stimulus_id'])
    table = pd.DataFrame({column: stimuli[column].values for column in
                          ('stimulus_id', 'object_name', 'category_name', 'image_file_name', 'variation',
                           'ty', 'tz', 's', 'rxy', 'rxz')})
    table['id'] = position + 1
    table['background_id'] = [hashlib.sha1(f'{world.identifier()}:background:{index}'.encode('utf-8')).hexdigest()
                              for index in position]
    table['ryz'] = 0.0
    for axes in ('rxy', 'rxz', 'ryz'):
        table[f'{axes}_semantic'] = table[axes]
    table['size'] = float(world.config.image_size)
    proto = StimulusSet(table[list(HVM_COLUMNS)])
    proto.stimulus_paths = {stimulus_id: stimuli.stimulus_paths[stimulus_id] for stimulus_id in proto['stimulus_id']}
    proto.identifier = None
    return proto


def neuroid_coords(world):
    """The neuroid coordinates of the world's sites, in the world's site order.

    Returns
    -------
    pandas.DataFrame, shape (n_sites, 12)
        Columns :data:`NEUROID_COLUMNS`; ``neuroid_id``, ``region``, ``animal``, ``arr`` are the world's,
        the others are derived (module docstring).
    """
    sites = world.neuroids[['neuroid_id', 'region', 'animal', 'arr']].copy()
    electrode = sites.groupby(['region', 'animal', 'arr'], sort=False).cumcount().values % len(UTAH_GRID)
    grid = np.array(UTAH_GRID)[electrode]
    sites['hemisphere'] = 'L'
    sites['row'], sites['col'] = grid[:, 0], grid[:, 1]
    sites['x'] = (grid[:, 1] - 4.5) * UTAH_PITCH_MM
    sites['y'] = (grid[:, 0] - 4.5) * UTAH_PITCH_MM
    per_bank = len(UTAH_GRID) // len(UTAH_BANKS)
    sites['bank'] = [UTAH_BANKS[k // per_bank] for k in electrode]
    sites['elec'] = electrode % per_bank + 1
    sites['label'] = [f'elec{k + 1}' for k in electrode]
    return sites[list(NEUROID_COLUMNS)].reset_index(drop=True)


def trial_assembly(world, access, stimulus_set=None):
    """The world's trials of ``access`` as the NetCDF file holds them.

    Parameters
    ----------
    world : SyntheticWorld
    access : {'private', 'public'}
    stimulus_set : StimulusSet, optional
        Its row order numbers the ``stimulus`` coordinate; :func:`hvm_stimulus_set` when omitted.

    Returns
    -------
    NeuronRecordingAssembly, shape (n_trials, n_sites, 1)
        ``n_trials`` is the sum of ``world.repetition_counts(access)``; coords as in the module docstring.
    """
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuronRecordingAssembly
    stimulus_set = hvm_stimulus_set(world, access) if stimulus_set is None else stimulus_set
    trials = world.get_assembly(access)
    stimulus_ids = trials['stimulus_id'].values
    sites = neuroid_coords(world)
    if list(sites['neuroid_id']) != list(trials['neuroid_id'].values):
        raise ValueError("The world's trials and its neuroids.csv list different sites; regenerate the world "
                         "(delete its cache folder) and write the stand-in again.")
    start, end = world.manifest['time_bin']
    coords = {'stimulus_id': ('presentation', stimulus_ids),
              'repetition': ('presentation', np.asarray(trials['repetition'].values, dtype=np.int64)),
              'stimulus': ('presentation', pd.Index(stimulus_set['stimulus_id']).get_indexer(stimulus_ids)),
              **{column: ('neuroid', sites[column].values) for column in NEUROID_COLUMNS},
              'time_bin_start': ('time_bin', [int(start)]), 'time_bin_end': ('time_bin', [int(end)])}
    return NeuronRecordingAssembly(np.asarray(trials.values, dtype=np.float32),
                                   dims=['presentation', 'neuroid', 'time_bin'], coords=coords)


def _check_accesses(accesses):
    accesses = tuple(accesses)
    if not accesses or any(access not in ACCESSES for access in accesses):
        raise ValueError(f"accesses={accesses!r} is invalid; use a non-empty subset of {ACCESSES}.")
    return accesses


def _check_world(world, accesses):
    from .synthetic_world import SyntheticWorld
    if not isinstance(world, SyntheticWorld):
        raise ValueError(f"world={world!r} is not a SyntheticWorld; pass load_world(WorldConfig.preset(...)) "
                         f"or None for the 'majajhong' preset.")
    for access in accesses:
        if not len(world.get_stimulus_set(access)):
            raise ValueError(f"The world has no {access} images (variations {_world_variations(access)}); "
                             f"give its WorldConfig.images_per_object those variations, or leave {access!r} "
                             f"out of accesses.")


def _publish(staged, final):
    """Move ``staged`` onto ``final`` through a temporary name in ``final``'s folder, then a rename."""
    with atomic_path(final) as tmp:
        shutil.move(str(staged), str(tmp))


def _drop_unzipped(zip_path):
    """Remove the folder Brain-Score's ``unzip`` extracted from an earlier zip (it never re-extracts)."""
    extracted = Path(os.path.splitext(zip_path)[0])
    if extracted.exists():
        trash = Path(tempfile.mkdtemp(prefix=f'.{extracted.name}.stale-', dir=extracted.parent))
        os.replace(extracted, trash / extracted.name)
        shutil.rmtree(trash, ignore_errors=True)


def _package(world, access, staging):
    """Package ``access`` into ``staging`` with Brain-Score's functions; return ``{file name: staged path}``."""
    from brainscore_core.supported_data_standards.brainio import packaging
    stimulus_set = hvm_stimulus_set(world, access)
    stimulus_identifier = STIMULUS_SET_IDENTIFIER.format(access=access)
    stimuli = packaging.package_stimulus_set_locally(stimulus_set, stimulus_identifier, downloads_path=staging)
    assembly = trial_assembly(world, access, stimulus_set)
    packed = packaging.package_data_assembly_locally(assembly, ASSEMBLY_IDENTIFIER.format(access=access),
                                                     stimulus_identifier, assembly_class_name='NeuroidAssembly',
                                                     downloads_path=staging)
    staged = {Path(path).name: Path(path) for path in (stimuli['csv_path'], stimuli['zip_path'], packed['path'])}
    expected = {name for name, _ in FILES[access]}
    if set(staged) != expected:
        raise RuntimeError(f"Brain-Score's packaging wrote {sorted(staged)}, not the real file names "
                           f"{sorted(expected)}; its naming changed: update ASSEMBLY_IDENTIFIER / "
                           f"STIMULUS_SET_IDENTIFIER in {__name__}.")
    return staged


def write_standin(brainio_home, world=None, accesses=ACCESSES):
    """Write the stand-in files of ``world`` where Brain-Score reads MajajHong2015 (module docstring).

    Parameters
    ----------
    brainio_home : path
        The ``$BRAINIO_HOME`` to write into (created if needed); files already there are replaced.
    world : SyntheticWorld, optional
        ``load_world(WorldConfig.preset('majajhong'))`` (generated and cached first if needed) when omitted.
    accesses : sequence of {'private', 'public'}
        Which families to write: private (variation 6) and public (variations 0 and 3).

    Returns
    -------
    dict
        ``brainio_home``; ``world`` (identifier), ``config_hash``, ``image_size``, ``time_bin``;
        ``files``: ``{file name: {'path', 'bytes'}}``; ``counts``: ``{access: {'images', 'trials',
        'sites': {region: n}, 'variations'}}``. Also written to ``<brainio_home>/standin.json`` last, after
        every file is in place.

    Raises
    ------
    ValueError
        When ``world`` is not a SyntheticWorld, or lacks the images of a requested family.
    """
    accesses = _check_accesses(accesses)
    if world is None:
        from ..synthetic.config import WorldConfig
        from .synthetic_world import load_world
        world = load_world(WorldConfig.preset('majajhong'))
    _check_world(world, accesses)
    home = Path(brainio_home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    remove_stale_folders(home, f'{STAGING_PREFIX}*', lambda name: int(name[len(STAGING_PREFIX):].split('-')[0]))
    finals = standin_paths(home)
    staging = Path(tempfile.mkdtemp(prefix=f'{STAGING_PREFIX}{os.getpid()}-', dir=home))
    try:
        staged = {access: _package(world, access, staging / access) for access in accesses}
        with contextlib.suppress(FileNotFoundError):  # the old manifest no longer describes what is there
            (home / MANIFEST_NAME).unlink()
        for access in accesses:
            for name, path in staged[access].items():
                _publish(path, finals[access][name])
                if name.endswith('.zip'):
                    _drop_unzipped(finals[access][name])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = _manifest(world, home, accesses, finals)
    atomic_write_text(home / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _manifest(world, home, accesses, finals):
    counts = {}
    for access in accesses:
        stimuli = world.get_stimulus_set(access)
        counts[access] = dict(images=len(stimuli), trials=int(world.repetition_counts(access).sum()),
                              sites={region: int((world.neuroids['region'] == region).sum())
                                     for region in world.neuroids['region'].unique()},
                              variations=sorted(int(v) for v in stimuli['variation'].unique()))
    files = {name: dict(path=str(path), bytes=path.stat().st_size)
             for access in accesses for name, path in finals[access].items()}
    return dict(brainio_home=str(home), world=world.identifier(), config_hash=world.config.config_hash(),
                image_size=world.config.image_size, time_bin=list(world.manifest['time_bin']), files=files,
                counts=counts)


def read_manifest(brainio_home):
    """The manifest :func:`write_standin` left in ``brainio_home``, or None when there is none."""
    path = Path(brainio_home).expanduser() / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def serve_standin(brainio_home):
    """Answer Brain-Score's S3 fetches from the stand-in files in ``brainio_home``, and nothing else.

    Replaces ``fetch_file`` where ``brainscore_core.supported_data_standards.brainio.s3`` looks it up (its
    module global, imported from ``fetch``) by a lookup of ``<brainio_home>/<sha1>/<file name>`` without the
    sha1 check, sets ``$BRAINIO_HOME`` (and brainio's cached copy of it) to ``brainio_home``, and restores
    all three on exit. The data plugin, the loaders and the benchmarks stay Brain-Score's own.

    Parameters
    ----------
    brainio_home : path

    Yields
    ------
    Path
        ``brainio_home``.

    Raises
    ------
    FileNotFoundError
        From a fetch inside the block, naming the missing path, when the file is not there.
    """
    from brainscore_core.supported_data_standards.brainio import fetch, s3
    home = Path(brainio_home).expanduser().absolute()

    def fetch_file(location_type, location, sha1=None, version_id=None):
        name = os.path.basename(location)
        path = home / str(sha1) / name
        if sha1 and path.is_file():
            return str(path)
        raise FileNotFoundError(f"The MajajHong2015 stand-in has no {name} (expected {path}); write it with "
                                f"nrp_plugin.brainscore.standin.write_standin({str(home)!r}) first.")

    saved = s3.fetch_file, os.environ.get(fetch.BRAINIO_HOME), fetch._local_data_path
    s3.fetch_file, os.environ[fetch.BRAINIO_HOME], fetch._local_data_path = fetch_file, str(home), str(home)
    try:
        yield home
    finally:
        s3.fetch_file, fetch._local_data_path = saved[0], saved[2]
        if saved[1] is None:
            os.environ.pop(fetch.BRAINIO_HOME, None)
        else:
            os.environ[fetch.BRAINIO_HOME] = saved[1]
