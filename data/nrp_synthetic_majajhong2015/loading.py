"""Loaders behind the ``SyntheticMajajHong2015`` data registrations.

The world is generated on first use and cached (see :mod:`nrp_plugin.synthetic.store`). The
configuration is the ``'default'`` preset unless ``$NRP_SYNTHETIC_PRESET`` names another
(``'majajhong'`` for the full-size design).
"""
from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic.config import preset_from_environment


def load_assembly(access=None):
    """Trial responses (``presentation x neuroid x time_bin``) of all images, or of 'public' / 'private'."""
    return load_world(preset_from_environment()).get_assembly(access)


def load_stimulus_set(access=None):
    """The StimulusSet of all images, or of 'public' / 'private'."""
    return load_world(preset_from_environment()).get_stimulus_set(access)
