"""Factories of the NRP benchmarks on MajajHong2015 registered in ``__init__.py``.

``MajajHong2015.<region>-nrp`` scores the private images (variation 6); a model without a region-layer map has its
layers chosen on the public images (variations 0 and 3). ``MajajHong2015public.<region>-nrp`` scores the public
images themselves, so such a model's layers are chosen inside each split, on its training images
(:func:`nrp_plugin.brainscore.majajhong.layer_choice`).

None has a leaderboard parent (:data:`nrp_plugin.brainscore.benchmark.LEADERBOARD_PARENT`): they are comparison
benchmarks next to Brain-Score's own ``MajajHong2015.*-pls`` and must not be averaged into its V4/IT columns.
"""
from nrp_plugin import references
from nrp_plugin.brainscore.benchmark import LEADERBOARD_PARENT, NRPBenchmark
from nrp_plugin.brainscore.majajhong import NUMBER_OF_TRIALS, VISUAL_DEGREES, layer_choice, load_region


def majajhong_nrp(region, access):
    """``MajajHong2015[public].<region>-nrp`` on the real recordings."""
    averaged = load_region(region, access, average_repetitions=True)
    repeated = load_region(region, access, average_repetitions=False)
    name = 'MajajHong2015' + ('public' if access == 'public' else '')
    return NRPBenchmark(identifier=f'{name}.{region}-nrp', assembly=averaged, assembly_repetition=repeated,
                        visual_degrees=VISUAL_DEGREES, number_of_trials=NUMBER_OF_TRIALS,
                        layer_choice=layer_choice(access), parent=LEADERBOARD_PARENT, bibtex=references.MAJAJHONG2015)
