"""The synthetic world's data as the SyntheticMajajHong2015 benchmarks use it."""
import functools

from brainscore_vision.benchmark_helpers.neural_common import average_repetition

from .synthetic import load_world
from .synthetic.world import preset_from_environment


@functools.lru_cache(maxsize=None)
def _world(config):
    return load_world(config)


def world():
    """The world the data plugin serves (``$NRP_SYNTHETIC_PRESET``, default ``'default'``)."""
    return _world(preset_from_environment())


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
