"""Factories of the NRP and synthetic benchmarks registered in ``__init__.py``.

None has a leaderboard parent (``LEADERBOARD_PARENT``, ``None``): they are comparison benchmarks next
to Brain-Score's own ``MajajHong2015.*-pls`` and must not be averaged into its V4/IT columns (see
``nrp_plugin.brainscore.benchmark.LEADERBOARD_PARENT``).
"""
from brainscore_vision import load_metric
from nrp_plugin import references
from nrp_plugin.brainscore.benchmark import LEADERBOARD_PARENT, CommittingNeuralBenchmark, NRPBenchmark, SelectionSet
from nrp_plugin.brainscore.majajhong import NUMBER_OF_TRIALS, VISUAL_DEGREES, layer_choice, load_region
from nrp_plugin.brainscore.synthetic_data import internal_consistency_ceiling, synthetic_region, synthetic_selection

SYNTHETIC_SELECTION = 'SyntheticMajajHong2015 public images'


def majajhong_nrp(region, access):
    """``MajajHong2015[public].<region>-nrp`` on the real recordings."""
    averaged = load_region(region, access, average_repetitions=True)
    repeated = load_region(region, access, average_repetitions=False)
    name = 'MajajHong2015' + ('public' if access == 'public' else '')
    return NRPBenchmark(identifier=f'{name}.{region}-nrp', assembly=averaged, assembly_repetition=repeated,
                        visual_degrees=VISUAL_DEGREES, number_of_trials=NUMBER_OF_TRIALS,
                        layer_choice=layer_choice(access), parent=LEADERBOARD_PARENT, bibtex=references.MAJAJHONG2015)


def synthetic_nrp(region):
    """``SyntheticMajajHong2015.<region>-nrp``: the embedded world's private images."""
    averaged, repeated = synthetic_region(region, 'private')
    return NRPBenchmark(identifier=f'SyntheticMajajHong2015.{region}-nrp', assembly=averaged,
                        assembly_repetition=repeated, visual_degrees=VISUAL_DEGREES,
                        number_of_trials=NUMBER_OF_TRIALS,
                        layer_choice=SelectionSet(synthetic_selection, SYNTHETIC_SELECTION), parent=LEADERBOARD_PARENT)


def synthetic_pls(region):
    """``SyntheticMajajHong2015.<region>-pls``: Brain-Score's ``pls`` metric and ceiling, unchanged."""
    averaged, _ = synthetic_region(region, 'private')
    return CommittingNeuralBenchmark(
        identifier=f'SyntheticMajajHong2015.{region}-pls', version=1, assembly=averaged,
        similarity_metric=load_metric('pls', crossvalidation_kwargs=dict(stratification_coord='object_name')),
        visual_degrees=VISUAL_DEGREES, number_of_trials=NUMBER_OF_TRIALS,
        ceiling_func=lambda: internal_consistency_ceiling(region, 'private'), parent=LEADERBOARD_PARENT,
        layer_choice=SelectionSet(synthetic_selection, SYNTHETIC_SELECTION))
