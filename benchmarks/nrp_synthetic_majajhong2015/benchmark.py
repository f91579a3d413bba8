"""Factories of the embedded world's benchmarks registered in ``__init__.py``: the NRP-error and Brain-Score's PLS
on ``SyntheticMajajHong2015``'s private images (MajajHong2015's design, generated offline).

A model without a region-layer map has its layers chosen on the world's public images, never on the scored ones.
None has a leaderboard parent (:data:`nrp_plugin.brainscore.benchmark.LEADERBOARD_PARENT`): the world is not brain
data.
"""
from brainscore_vision import load_metric
from nrp_plugin.brainscore.benchmark import LEADERBOARD_PARENT, CommittingNeuralBenchmark, NRPBenchmark, SelectionSet
from nrp_plugin.brainscore.majajhong import NUMBER_OF_TRIALS, VISUAL_DEGREES
from nrp_plugin.brainscore.synthetic_data import internal_consistency_ceiling, synthetic_region, synthetic_selection

SELECTION = 'SyntheticMajajHong2015 public images'


def synthetic_nrp(region):
    """``SyntheticMajajHong2015.<region>-nrp``: the embedded world's private images."""
    averaged, repeated = synthetic_region(region, 'private')
    return NRPBenchmark(identifier=f'SyntheticMajajHong2015.{region}-nrp', assembly=averaged,
                        assembly_repetition=repeated, visual_degrees=VISUAL_DEGREES,
                        number_of_trials=NUMBER_OF_TRIALS, layer_choice=SelectionSet(synthetic_selection, SELECTION),
                        parent=LEADERBOARD_PARENT)


def synthetic_pls(region):
    """``SyntheticMajajHong2015.<region>-pls``: Brain-Score's ``pls`` metric and ceiling, unchanged."""
    averaged, _ = synthetic_region(region, 'private')
    return CommittingNeuralBenchmark(
        identifier=f'SyntheticMajajHong2015.{region}-pls', version=1, assembly=averaged,
        similarity_metric=load_metric('pls', crossvalidation_kwargs=dict(stratification_coord='object_name')),
        visual_degrees=VISUAL_DEGREES, number_of_trials=NUMBER_OF_TRIALS,
        ceiling_func=lambda: internal_consistency_ceiling(region, 'private'), parent=LEADERBOARD_PARENT,
        layer_choice=SelectionSet(synthetic_selection, SELECTION))
