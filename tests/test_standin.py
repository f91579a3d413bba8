"""The MajajHong2015 stand-in: a synthetic world written in the real files' format where Brain-Score's
``BotoFetcher`` looks for already-fetched files, and read back through Brain-Score's own loaders with only
the S3 fetch replaced.

The reference is the world's own cache (``responses.npy``: images x repetitions x sites; ``stimuli.csv``;
the PNGs), read here directly, not through the code that writes the stand-in.
"""
import os
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nrp_plugin.brainscore.majajhong import FILES
from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import WorldConfig

# 64 objects: 128 public images (one at variation 0, one at 3), 640 private (10 at variation 6); 3-12 trials each
TINY = WorldConfig(image_size=32, n_repetitions=12, min_repetitions=3, seed=4,
                   images_per_object=((0, 1), (3, 1), (6, 10)))
VARIATIONS = {'private': {6}, 'public': {0, 3}}


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    return load_world(TINY, root=tmp_path_factory.mktemp('standin_world'))


@pytest.fixture(scope='module')
def standin(world, tmp_path_factory):
    from nrp_plugin.brainscore.standin import write_standin
    home = tmp_path_factory.mktemp('brainio_home')
    return home, write_standin(home, world)


def reference(world, access):
    """What the world recorded for ``access``: its stimulus rows, trial counts and per-image mean responses."""
    table = pd.read_csv(world.directory / 'stimuli.csv')
    rows = table['variation'].isin(VARIATIONS[access]).values
    responses = np.load(world.directory / 'responses.npy', mmap_mode='r')  # (images, repetitions, sites)
    counts = world.config.repetition_counts(len(table))[rows]
    means = np.stack([responses[index, :count].mean(axis=0) for index, count in zip(np.flatnonzero(rows), counts)])
    sites = pd.read_csv(world.directory / 'neuroids.csv')
    return table[rows].reset_index(drop=True), counts, means, sites


def test_missing_files_raise_a_clear_error(tmp_path):
    import brainscore_vision
    from brainscore_core.supported_data_standards.brainio import fetch, s3
    from nrp_plugin.brainscore.standin import serve_standin
    original, before, cached = s3.fetch_file, os.environ.get('BRAINIO_HOME'), fetch._local_data_path
    with serve_standin(tmp_path):
        assert os.environ['BRAINIO_HOME'] == fetch.get_local_data_path() == str(tmp_path.absolute())
        name, sha1 = FILES['private'][0]
        expected = re.escape(str(tmp_path.absolute() / sha1 / name))
        with pytest.raises(FileNotFoundError, match=f'no {name} .*{expected}.*write_standin'):
            brainscore_vision.load_dataset('MajajHong2015.private')
        with pytest.raises(FileNotFoundError, match='no stimulus_hvm-public.csv'):
            brainscore_vision.load_stimulus_set('hvm-public')
    assert s3.fetch_file is original and os.environ.get('BRAINIO_HOME') == before
    assert fetch._local_data_path == cached


def test_files_sit_where_brainscore_looks_for_fetched_files(world, standin):
    from brainscore_core.supported_data_standards.brainio.fetch import BotoFetcher
    from nrp_plugin.brainscore.standin import read_manifest, serve_standin
    home, manifest = standin
    assert read_manifest(home) == manifest
    with serve_standin(home):
        for access, files in FILES.items():
            for name, sha1 in files:
                # Brain-Score's own fetcher finds the file and returns it without downloading
                fetcher = BotoFetcher(location=f'https://brainscore-storage.s3.amazonaws.com/brainio-brainscore/{name}',
                                      local_filename=sha1)
                path = fetcher.fetch()
                assert path == str(home.absolute() / sha1 / name)
                assert os.path.getsize(path) == manifest['files'][name]['bytes'] > 0
    assert not [path for path in home.iterdir() if path.name.startswith('.')]  # no staging left behind
    for access in FILES:
        stimuli, counts, _, _ = reference(world, access)
        (zip_name, sha1), = [(name, sha1) for name, sha1 in FILES[access] if name.endswith('.zip')]
        with zipfile.ZipFile(home / sha1 / zip_name) as archive:
            names = sorted(archive.namelist())
            assert names == sorted(f'{stimulus_id}.png' for stimulus_id in stimuli['stimulus_id'])
            first = stimuli['stimulus_id'].iloc[0]
            assert archive.read(f'{first}.png') == (world.directory / 'images' / f'{first}.png').read_bytes()
        assert manifest['counts'][access]['trials'] == counts.sum()


def test_brainscore_loads_the_world(world, standin):
    import brainscore_vision
    from brainscore_vision.benchmarks.majajhong2015.benchmark import load_assembly
    from nrp_plugin.brainscore.standin import HVM_COLUMNS, serve_standin
    home, _ = standin
    with serve_standin(home):
        for access in ('private', 'public'):
            stimuli, counts, means, sites = reference(world, access)
            trials = brainscore_vision.load_dataset(f'MajajHong2015.{access}')
            assert trials.attrs['stimulus_set_identifier'] == f'hvm-{access}'
            assert trials.sizes == {'presentation': counts.sum(), 'neuroid': len(sites), 'time_bin': 1}
            assert (int(trials['time_bin_start']), int(trials['time_bin_end'])) == (70, 170)
            assert set(trials['variation'].values) == VARIATIONS[access]
            # unequal repetitions kept: each image's trials are numbered 0 .. count - 1
            per_image = pd.Series(trials['repetition'].values).groupby(trials['stimulus_id'].values)
            assert dict(per_image.size()) == dict(zip(stimuli['stimulus_id'], counts))
            assert (per_image.max() + 1).equals(per_image.size())
            assert len(set(counts)) > 1
            for column in ('neuroid_id', 'region', 'animal', 'arr'):
                assert list(trials[column].values) == list(sites[column])
            electrodes = pd.DataFrame({column: trials[column].values for column in
                                       ('region', 'animal', 'arr', 'row', 'col', 'bank', 'elec', 'label')})
            assert not electrodes.duplicated(['region', 'animal', 'arr', 'row', 'col']).any()  # <= 96 sites per array
            assert electrodes['row'].between(0, 9).all() and electrodes['col'].between(0, 9).all()
            assert set(electrodes['bank']) <= {'A', 'B', 'C'} and electrodes['elec'].between(1, 32).all()
            assert set(trials['hemisphere'].values) == {'L'}

            stimulus_set = brainscore_vision.load_stimulus_set(f'hvm-{access}')
            assert set(HVM_COLUMNS) | {'filename'} <= set(stimulus_set.columns)
            assert list(stimulus_set['stimulus_id']) == list(stimuli['stimulus_id'])
            for column in ('object_name', 'category_name', 'variation', 'image_file_name'):
                assert list(stimulus_set[column]) == list(stimuli[column]), column
            for column in ('ty', 'tz', 's', 'rxy', 'rxz'):
                np.testing.assert_allclose(stimulus_set[column], stimuli[column], rtol=1e-12, err_msg=column)
            for stimulus_id in stimulus_set['stimulus_id']:
                with Image.open(stimulus_set.get_stimulus(stimulus_id)) as image:
                    assert (image.format, image.size) == ('PNG', (TINY.image_size, TINY.image_size))

            for region in ('V4', 'IT'):
                averaged = load_assembly(average_repetitions=True, region=region, access=access)
                in_region = (sites['region'] == region).values
                assert averaged.sizes == {'presentation': len(stimuli), 'neuroid': in_region.sum()}
                assert len(np.unique(averaged['object_name'].values)) == 64
                order = pd.Index(averaged['stimulus_id'].values).get_indexer(stimuli['stimulus_id'])
                columns = pd.Index(averaged['neuroid_id'].values).get_indexer(sites['neuroid_id'][in_region])
                np.testing.assert_allclose(averaged.values[order][:, columns], means[:, in_region], rtol=1e-5,
                                           atol=1e-6)


def test_an_interrupted_write_leaves_no_file_at_a_final_path(world, tmp_path, monkeypatch):
    import zipfile as zipmodule
    from brainscore_core.supported_data_standards.brainio import packaging
    from nrp_plugin.brainscore.standin import standin_paths, write_standin
    finals = [path for files in standin_paths(tmp_path).values() for path in files.values()]
    original_write = zipmodule.ZipFile.write
    written = []

    def write_one_image_then_fail(self, *args, **kwargs):
        if written:
            raise KeyboardInterrupt
        written.append(args[0])
        return original_write(self, *args, **kwargs)

    with monkeypatch.context() as patch:  # interrupted in the middle of the first zip
        patch.setattr(zipmodule.ZipFile, 'write', write_one_image_then_fail)
        with pytest.raises(KeyboardInterrupt):
            write_standin(tmp_path / 'fresh', world)
    assert written and not any(path.exists() for path in standin_paths(tmp_path / 'fresh')['private'].values())
    assert [path.name for path in (tmp_path / 'fresh').iterdir()] == []

    for path in finals:  # a previous stand-in stays as it was
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'previous')

    def fail(*args, **kwargs):
        raise RuntimeError('disk full')

    with monkeypatch.context() as patch:  # failing after the first stimulus set's files were written
        patch.setattr(packaging, 'package_data_assembly_locally', fail)
        with pytest.raises(RuntimeError, match='disk full'):
            write_standin(tmp_path, world)
    assert all(path.read_bytes() == b'previous' for path in finals)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith('.')]


@pytest.mark.slow
def test_rewriting_drops_the_unzipped_images_of_the_old_zip(world, tmp_path):
    import brainscore_vision
    from nrp_plugin.brainscore.standin import serve_standin, standin_paths, write_standin
    write_standin(tmp_path, world, accesses=('private',))
    with serve_standin(tmp_path):
        brainscore_vision.load_stimulus_set('hvm-private')
    unzipped = standin_paths(tmp_path)['private']['stimulus_hvm-private.zip'].with_suffix('')
    assert len(os.listdir(unzipped)) == len(world.get_stimulus_set('private'))
    (unzipped / 'stale.png').write_bytes(b'')  # Brain-Score's unzip never re-extracts an existing folder
    write_standin(tmp_path, world, accesses=('private',))
    assert not unzipped.exists()
    with serve_standin(tmp_path):
        assert len(brainscore_vision.load_stimulus_set('hvm-private')) == len(world.get_stimulus_set('private'))


def test_write_standin_rejects_what_it_cannot_write(tmp_path):
    from nrp_plugin.brainscore.standin import write_standin
    with pytest.raises(ValueError, match='not a SyntheticWorld'):
        write_standin(tmp_path, world=TINY)
    with pytest.raises(ValueError, match='accesses'):
        write_standin(tmp_path, world=TINY, accesses=('secret',))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_brainscore_benchmarks_load_with_the_standin_sizes(world, standin):
    import brainscore_vision
    from nrp_plugin.brainscore.standin import serve_standin
    home, _ = standin
    with serve_standin(home):
        # Brain-Score names the public benchmark's instance differently from its registry key
        for identifier, named, access, region in (
                ('MajajHong2015.IT-pls', 'MajajHong2015.IT-pls', 'private', 'IT'),
                ('MajajHong2015public.V4-pls', 'MajajHong2015.V4.public-pls', 'public', 'V4')):
            stimuli, _, _, sites = reference(world, access)
            benchmark = brainscore_vision.load_benchmark(identifier)
            assembly = benchmark._assembly
            assert benchmark.identifier == named and benchmark.region == region
            assert assembly.sizes == {'presentation': len(stimuli), 'neuroid': (sites['region'] == region).sum()}
            assert set(assembly['variation'].values) == VARIATIONS[access]
            assert len(assembly.stimulus_set) == len(stimuli)
            assert all(os.path.isfile(assembly.stimulus_set.get_stimulus(stimulus_id))
                       for stimulus_id in assembly.stimulus_set['stimulus_id'])
            ceiling = benchmark.ceiling  # Brain-Score's split-half internal consistency on the stand-in's trials
            assert 0 < float(ceiling) <= 1
