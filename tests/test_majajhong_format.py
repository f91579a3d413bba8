"""The real MajajHong2015 benchmarks' code path on data in the real files' format.

A small world with unequal repetition counts is written with Brain-Score's own packaging functions
(``package_stimulus_set_locally``, ``package_data_assembly_locally``: the CSV, ZIP and NetCDF files its
S3 loaders read), then ``MajajHong2015.IT-nrp`` is loaded through ``brainscore_vision.load_benchmark``
and scored with only the S3 download replaced by a lookup of those files. Everything else is
Brain-Score's: its data plugin, its readers (stimulus-set CSV and ZIP, NetCDF assembly with the
stimulus metadata merged in), its ``load_assembly`` (time bin, region, repetition averaging).
"""
import os

import numpy as np
import pytest

from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import WorldConfig

ASSEMBLY_COLUMNS = ('stimulus_id', 'repetition')  # presentation-level; stimulus metadata comes from the stimulus set


@pytest.fixture(scope='module')
def real_format_files(tmp_path_factory):
    from brainscore_core.supported_data_standards.brainio.packaging import (package_data_assembly_locally,
                                                                          package_stimulus_set_locally)
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    root = tmp_path_factory.mktemp('majajhong_format')
    world = load_world(WorldConfig(image_size=32, n_repetitions=12, min_repetitions=3, seed=4), root=root / 'world')
    stimuli = world.get_stimulus_set('private')
    proto = StimulusSet(stimuli.drop(columns=[column for column in ('filename',) if column in stimuli.columns]))
    proto.stimulus_paths = dict(stimuli.stimulus_paths)
    proto.identifier = None
    packaged = package_stimulus_set_locally(proto, 'hvm-private', downloads_path=root / 'files')
    trials = world.get_assembly('private')
    keep = [coord for coord in trials['presentation'].coords if coord not in ASSEMBLY_COLUMNS + ('presentation',)]
    trials = trials.reset_index('presentation').drop_vars(keep)
    trials.attrs = {}
    package_data_assembly_locally(trials, 'dicarlo.MajajHong2015.private', 'hvm-private',
                                  assembly_class_name='NeuroidAssembly', downloads_path=root / 'files')
    files = {path.name: str(path) for path in (root / 'files').iterdir()}
    assert {'stimulus_hvm-private.csv', 'stimulus_hvm-private.zip', 'assy_dicarlo_MajajHong2015_private.nc'} <= set(files)
    return world, files, packaged


@pytest.fixture
def offline_s3(real_format_files, monkeypatch, tmp_path):
    """Brain-Score's S3 fetch, answered from the packaged files (sha1s are the real data's, so unchecked)."""
    from brainscore_core.supported_data_standards.brainio import s3
    world, files, _ = real_format_files
    fetched = []

    def fetch_file(location_type, location, sha1=None, version_id=None):
        name = os.path.basename(location)
        fetched.append(name)
        return files[name]

    monkeypatch.setattr(s3, 'fetch_file', fetch_file)
    return world, fetched


@pytest.mark.slow
def test_real_benchmark_factory_scores_the_real_format(installed_plugins, offline_s3):
    import brainscore_vision
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.brainscore.teacher_model import teacher_brain_model
    world, fetched = offline_s3
    benchmark = brainscore_vision.load_benchmark('MajajHong2015.IT-nrp')
    assert {'assy_dicarlo_MajajHong2015_private.nc', 'stimulus_hvm-private.csv', 'stimulus_hvm-private.zip'} <= set(fetched)
    # what Brain-Score's readers returned: the world's trials, unequal counts and all, and its averages
    repeated, averaged = benchmark._assembly_repetition, benchmark._assembly
    counts = world.repetition_counts('private')
    n_it = world.config.n_it
    assert repeated.sizes['presentation'] == counts.sum() and repeated.sizes['neuroid'] == n_it
    assert averaged.sizes['presentation'] == len(counts) and set(averaged['region'].values) == {'IT'}
    assert len(np.unique(averaged['object_name'].values)) == 64  # merged in from the stimulus set
    stimulus = world.get_stimulus_set('private')['stimulus_id'].iloc[0]
    it_sites = world.region_assembly('IT', 'private')
    expected = it_sites.isel(presentation=it_sites['stimulus_id'].values == stimulus).values.mean(axis=0)
    got = averaged.isel(presentation=averaged['stimulus_id'].values == stimulus)
    order = [list(got['neuroid_id'].values).index(site) for site in it_sites['neuroid_id'].values]
    np.testing.assert_allclose(got.values[0][order], expected, rtol=1e-5)
    benchmark.metric = NRPErrorMetric(config=dict(max_epochs=30), device='cpu')
    score = benchmark(teacher_brain_model())
    assert 0 < float(score) <= 1
    assert float(score.attrs['ceiling']) < score.attrs['nrp_error'] < score.raw.attrs['mean_predictor_mae']
    assert score.attrs['benchmark_identifier'] == 'MajajHong2015.IT-nrp'
