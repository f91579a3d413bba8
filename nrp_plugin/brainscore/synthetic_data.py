"""The synthetic world's data as the SyntheticMajajHong2015 benchmarks use it."""
import functools
import pickle
from importlib.metadata import version

from brainscore_vision.benchmark_helpers.neural_common import average_repetition

from ..storage.cache import atomic_write_bytes, cache_root
from ..synthetic.config import preset_from_environment
from .synthetic_world import load_world


@functools.lru_cache(maxsize=None)
def _world(config, root):
    return load_world(config, root)


def world():
    """The world the data plugin serves: ``$NRP_SYNTHETIC_PRESET`` (default ``'default'``) in the cache root
    (``$NRP_PLUGIN_HOME``) set at the time of the call, opened once per preset and root."""
    return _world(preset_from_environment(), str(cache_root()))


def synthetic_region(region, access):
    """``(averaged, repeated)`` responses of one region, prepared as MajajHong2015's benchmarks prepare theirs."""
    data = world()
    return (data.region_assembly(region, access, average_repetitions=True),
            data.region_assembly(region, access, average_repetitions=False))


def synthetic_selection():
    """The public images and their averaged responses (both regions): where layers are committed."""
    data = world()
    assembly = data.get_assembly('public').squeeze('time_bin').transpose('presentation', 'neuroid')
    return data.get_stimulus_set('public'), average_repetition(assembly)


def internal_consistency_ceiling(region, access='private'):
    """Brain-Score's ``internal_consistency`` ceiling of one region, computed once per world.

    The ceiling is a deterministic function of the world's trials, and Brain-Score's split-half
    computation is slow; it is kept beside the world, as
    ``<world>/ceilings/internal_consistency-<access>-<region>-brainscore<version>.pkl`` (written
    atomically), so a regenerated world or another Brain-Score version computes it afresh. A
    read-only world cache only skips the keeping.

    Returns
    -------
    brainscore_core.metrics.Score
        What ``load_ceiling('internal_consistency')`` returns for the region's non-averaged responses.
    """
    from brainscore_vision import load_ceiling
    data = world()
    path = data.directory / 'ceilings' / (f"internal_consistency-{access}-{region}-"
                                          f"brainscore{version('brainscore-vision')}.pkl")
    if path.is_file():
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # an unreadable file (other library versions): compute it again
            pass
    ceiling = load_ceiling('internal_consistency')(data.region_assembly(region, access, average_repetitions=False))
    try:
        atomic_write_bytes(path, pickle.dumps(ceiling))
    except OSError:
        pass
    return ceiling
