"""The hidden teacher of ``SyntheticMajajHong2015`` as a Brain-Score model.

Its ``v4`` and ``it`` stage outputs are, value for value, the features that generated the synthetic
world's V4 and IT responses (teacher seed 0, the default), so scoring it measures how close a metric
gets to the noise ceiling when the right features are given.
"""
from nrp_plugin.brainscore.teacher_model import teacher_brain_model
from nrp_plugin.synthetic.teacher import LAYERS

IDENTIFIER = 'SyntheticMajajHong2015-teacher'


def get_model(name):
    """The ModelCommitment (with ``nrp_layers``) for ``name``."""
    assert name == IDENTIFIER, f"This plugin provides {IDENTIFIER!r}, not {name!r}."
    return teacher_brain_model(identifier=IDENTIFIER, seed=0)


def get_layers(name):
    assert name == IDENTIFIER, f"This plugin provides {IDENTIFIER!r}, not {name!r}."
    return list(LAYERS)


def get_bibtex(name):
    from . import BIBTEX
    return BIBTEX
