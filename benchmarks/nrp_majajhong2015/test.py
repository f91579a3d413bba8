"""Tests of the NRP benchmark plugin on MajajHong2015, offline.

MajajHong2015 cannot be fetched offline, so the registration, how a model without a region-layer map has its layers
chosen in each family, and the offline error are checked; ``tests/test_standin.py`` and
``scripts/rehearse_majajhong.py`` run these benchmarks on a stand-in in the real files' format.
"""
import pytest
from brainscore_core.plugin_management.import_plugin import ImportPlugin
from brainscore_vision import load_benchmark

from nrp_plugin.brainscore.benchmark import InEachSplit, SelectionSet
from nrp_plugin.brainscore.majajhong import PUBLIC_SELECTION, DataUnavailableError, layer_choice

IDENTIFIERS = ['MajajHong2015.V4-nrp', 'MajajHong2015.IT-nrp', 'MajajHong2015public.V4-nrp',
               'MajajHong2015public.IT-nrp']


@pytest.mark.parametrize('identifier', IDENTIFIERS)
def test_registered_in_this_folder(identifier):
    assert ImportPlugin('brainscore_vision', 'benchmarks', identifier).plugin_dirname == 'nrp_majajhong2015'


def test_layers_are_never_chosen_on_the_scored_images():
    """The private family (variation 6) chooses on the public images; the public family, which scores those,
    chooses inside each split."""
    private, public = layer_choice('private'), layer_choice('public')
    assert isinstance(private, SelectionSet) and private.name == PUBLIC_SELECTION
    assert isinstance(public, InEachSplit)


def test_real_data_offline_is_one_clear_error(monkeypatch, tmp_path):
    """Without access to Brain-Score's S3 bucket, the error names every file to place and where."""
    import brainscore_vision.benchmarks.majajhong2015.benchmark as majajhong

    def unreachable(*args, **kwargs):
        raise ConnectionError('Could not connect to the endpoint URL: "https://brainscore-storage.s3.amazonaws.com"')

    monkeypatch.setenv('BRAINIO_HOME', str(tmp_path))
    monkeypatch.setattr(majajhong, 'load_assembly', unreachable)
    with pytest.raises(DataUnavailableError) as error:
        load_benchmark('MajajHong2015.IT-nrp')
    message = str(error.value)
    assert str(tmp_path / '7a40d16148d6f82939155f0bd976d310857fb156' / 'assy_dicarlo_MajajHong2015_private.nc') in message
    assert 'stimulus_hvm-private.zip' in message and 'SyntheticMajajHong2015.IT-nrp' in message
