"""The embedded benchmark world SyntheticMajajHong2015: design, ceilings, determinism, caching, linearity."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import TARGET_CEILINGS, WorldConfig, world_directory
from nrp_plugin.synthetic import generate as generate_module
from nrp_plugin.synthetic import store as store_module

# Small worlds for the determinism and caching tests: 960 images of 64 x 64 pixels, 10 repetitions.
SMALL = dict(image_size=64, n_repetitions=10)


@pytest.fixture(scope='module')
def default_world():
    """The 'default' preset in the session cache (shared with the data-registry test)."""
    return load_world(WorldConfig.preset('default'))


@pytest.fixture(scope='module')
def small_root(tmp_path_factory):
    return tmp_path_factory.mktemp('small_worlds')


def _world_files(directory):
    return sorted(path.relative_to(directory) for path in Path(directory).rglob('*') if path.is_file())


# --- the design ------------------------------------------------------------------------------------

def test_default_design_mirrors_majajhong(default_world):
    stimuli = default_world.stimulus_set
    assert len(stimuli) == 960
    assert stimuli['category_name'].nunique() == 8 and stimuli['object_name'].nunique() == 64
    public, public_assembly = default_world.get_stimulus_set('public'), default_world.get_assembly('public')
    private, private_assembly = default_world.get_stimulus_set('private'), default_world.get_assembly('private')
    assert len(public) == 320 and set(public['variation']) == {0, 3}
    assert len(private) == 640 and set(private['variation']) == {6}
    assert private.groupby('object_name').size().min() >= 10
    for stimulus_id in private['stimulus_id'][:5]:
        assert Path(private.get_stimulus(stimulus_id)).is_file()

    assembly = default_world.assembly
    assert assembly.dims == ('presentation', 'neuroid', 'time_bin')
    assert assembly.shape == (960 * 30, 256, 1)
    assert int(assembly['time_bin_start'].values[0]) == 70 and int(assembly['time_bin_end'].values[0]) == 170
    assert (assembly['region'].values == 'V4').sum() == 88 and (assembly['region'].values == 'IT').sum() == 168
    for coord in ('stimulus_id', 'object_name', 'category_name', 'variation', 'repetition'):
        assert coord in assembly.indexes['presentation'].names
    for coord in ('neuroid_id', 'region', 'animal', 'arr'):
        assert coord in assembly.indexes['neuroid'].names
    assert private_assembly.shape == (640 * 30, 256, 1)
    assert set(np.unique(public_assembly['variation'].values)) == {0, 3}
    assert private_assembly.attrs['stimulus_set'] is private


def test_brainscore_average_repetition_and_region_selection(default_world):
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition
    v4 = default_world.get_assembly('private').squeeze('time_bin').sel(region='V4')
    assert v4.sizes['neuroid'] == 88
    averaged = average_repetition(v4)
    assert averaged.sizes['presentation'] == 640
    assert 'repetition' not in averaged.coords
    assert averaged.attrs['stimulus_set'] is default_world.get_stimulus_set('private')
    # the repetition average equals the plain numpy mean of the stored trials
    trials = np.load(default_world.directory / 'responses.npy')[default_world.stored.mask('private')][:, :, :88]
    by_id = dict(zip(averaged['stimulus_id'].values, averaged.values))
    first = default_world.get_stimulus_set('private')['stimulus_id'].iloc[0]
    np.testing.assert_allclose(by_id[first], trials[0].mean(axis=0), rtol=1e-5, atol=1e-6)
    # normalised-firing-rate-like magnitudes: site std of means ~0.1-0.5
    site_std = np.median(averaged.values.std(axis=0))
    assert 0.1 < site_std < 0.5, site_std


def test_stored_world_opens_without_brainscore(default_world):
    """The cached world reads back as plain data (pandas, numpy) where Brain-Score is not installed."""
    code = ("import sys\n"
            "for name in ('brainscore_vision', 'brainscore_core'):\n"
            "    sys.modules[name] = None  # any import of them now fails\n"
            "from nrp_plugin.synthetic import WorldConfig, open_world\n"
            "world = open_world(WorldConfig.preset('default'))\n"
            "print(world.directory, len(world.stimuli), len(world.neuroids), world.responses('private').shape,\n"
            "      world.features('IT', 'private').shape, world.repetition_counts('public').sum())\n")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(default_world.directory), '960', '256', '(640,', '30,', '256)', '(640,', '32)',
                                     str(320 * 30)]
    stored = default_world.stored
    np.testing.assert_array_equal(stored.features('V4', 'public'), default_world.features('V4', 'public'))
    assert list(stored.stimuli['stimulus_id']) == list(default_world.stimulus_set['stimulus_id'])


@pytest.mark.slow
@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_internal_consistency_ceiling_matches_majajhong(default_world, region):
    """Brain-Score's own ceiling, on the non-averaged private data of one region, as the benchmark computes it."""
    from brainscore_vision import load_ceiling
    assembly = default_world.region_assembly(region, access='private', average_repetitions=False)
    ceiling = load_ceiling('internal_consistency')(assembly)
    assert abs(float(ceiling.values) - TARGET_CEILINGS[region]) <= 0.04, (region, float(ceiling.values))


# --- determinism and caching -------------------------------------------------------------------------

@pytest.mark.slow  # generates a whole second world
def test_same_seed_gives_byte_identical_data(small_root, tmp_path):
    config = WorldConfig(seed=3, **SMALL)
    first, second = load_world(config, root=small_root), load_world(config, root=tmp_path)
    assert first.directory != second.directory
    files = [path for path in _world_files(first.directory) if path.name != 'world.json']
    assert files == [path for path in _world_files(second.directory) if path.name != 'world.json']
    assert sum(path.suffix == '.png' for path in files) == 960
    for path in files:  # PNGs, CSVs and .npy arrays
        assert (first.directory / path).read_bytes() == (second.directory / path).read_bytes(), path
    np.testing.assert_array_equal(first.assembly.values, second.assembly.values)


@pytest.mark.slow  # generates a whole second world
def test_different_seed_differs(small_root, tmp_path):
    first = load_world(WorldConfig(seed=3, **SMALL), root=small_root)
    second = load_world(WorldConfig(seed=4, **SMALL), root=tmp_path)
    assert first.directory.name != second.directory.name
    name = first.stimulus_set['filename'].iloc[0]
    assert (first.directory / 'images' / name).read_bytes() != (second.directory / 'images' / name).read_bytes()
    assert not np.allclose(first.assembly.values, second.assembly.values)


def test_cache_is_reused(small_root, monkeypatch):
    config = WorldConfig(seed=3, **SMALL)
    first = load_world(config, root=small_root)
    stamp = (first.directory / 'world.json').stat().st_mtime_ns

    def must_not_run(*args, **kwargs):
        raise AssertionError('the cached world was generated again')

    monkeypatch.setattr(store_module, 'generate_into', must_not_run)
    second = load_world(config, root=small_root)
    assert second.directory == first.directory == world_directory(config, small_root)
    assert (second.directory / 'world.json').stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.get_assembly('private').values, second.get_assembly('private').values)


def test_interrupted_generation_leaves_no_partial_cache(tmp_path, monkeypatch):
    config = WorldConfig(seed=6, **SMALL)
    real_save = generate_module._save_array

    def interrupt_at_responses(path, array):
        if Path(path).name == 'responses.npy':  # images, features and readouts are written by now
            raise KeyboardInterrupt('simulated interrupt')
        real_save(path, array)

    monkeypatch.setattr(generate_module, '_save_array', interrupt_at_responses)
    with pytest.raises(KeyboardInterrupt):
        load_world(config, root=tmp_path)
    synthetic = tmp_path / 'synthetic'
    assert list(synthetic.iterdir()) == []  # neither the world nor its staging directory
    assert not store_module._is_complete(world_directory(config, tmp_path), config)


def test_staging_left_by_a_killed_process_is_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    leftover = tmp_path / f'.abc.staging-{dead.pid}-x1'
    running = tmp_path / f'.abc.staging-{os.getppid()}-x2'
    for directory in (leftover, running):
        (directory / 'images').mkdir(parents=True)
    store_module._remove_stale_staging(tmp_path, 'abc')
    assert not leftover.exists()  # its process is gone
    assert running.exists()  # its process still runs: maybe still generating


# --- the teacher's ground truth --------------------------------------------------------------------

def _noise_floor_ratio(world, region):
    """Median over sites of (unbiased OLS residual variance of the trial means on the teacher features)
    / (known variance of the trial means' noise). About 1 when the means are affine in the features."""
    features = world.features(region).astype(np.float64)
    design = np.hstack([features, np.ones((len(features), 1))])
    rank = np.linalg.matrix_rank(design)
    assert rank < len(design) - 100, 'too few images for a least-squares test'
    sites = (world.neuroids['region'] == region).values
    means = np.load(world.directory / 'responses.npy')[:, :, sites].astype(np.float64).mean(axis=1)
    coefficients = np.linalg.lstsq(design, means, rcond=None)[0]
    residual_variance = ((means - design @ coefficients) ** 2).sum(axis=0) / (len(design) - rank)
    noise_variance = world.neuroids['noise_sd'].values[sites] ** 2 / world.config.n_repetitions
    return float(np.median(residual_variance / noise_variance))


@pytest.mark.parametrize('region', ['V4', 'IT'])
def test_linear_world_is_linear_in_teacher_features(small_root, region):
    linear = load_world(WorldConfig(seed=3, nonlinearity=0.0, **SMALL), root=small_root)
    nonlinear = load_world(WorldConfig(seed=3, nonlinearity=1.0, **SMALL), root=small_root)
    # noise-free responses: exactly affine in the features when nonlinearity=0
    sites = (linear.neuroids['region'] == region).values
    features = linear.features(region).astype(np.float64)
    design = np.hstack([features, np.ones((len(features), 1))])
    expected = np.load(linear.directory / 'expected.npy')[:, sites].astype(np.float64)
    fit = design @ np.linalg.lstsq(design, expected, rcond=None)[0]
    assert np.max(np.abs(fit - expected)) < 1e-4 * np.max(np.abs(expected))
    # noisy trial means: the least-squares fit reaches the noise floor, and only in the linear world
    assert 0.8 < _noise_floor_ratio(linear, region) < 1.25
    assert _noise_floor_ratio(nonlinear, region) > 1.8


# --- configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize('changes, field', [
    (dict(nonlinearity=1.5), 'nonlinearity'),
    (dict(nonlinearity='strong'), 'nonlinearity'),
    (dict(n_repetitions=1), 'n_repetitions'),
    (dict(image_size=16), 'image_size'),
    (dict(seed=-1), 'seed'),
    (dict(noise_v4=-0.1), 'noise_v4'),
    (dict(images_per_object=((6, 5),)), 'images_per_object'),
    (dict(images_per_object=((2, 10),)), 'images_per_object'),
    (dict(images_per_object='many'), 'images_per_object'),
])
def test_bad_config_names_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        WorldConfig(**changes)


def test_presets_and_hash():
    default, full = WorldConfig.preset('default'), WorldConfig.preset('majajhong')
    assert default == WorldConfig()
    counts = dict(full.images_per_object)
    assert 64 * (counts[0] + counts[3]) == 3200 and 64 * counts[6] == 2560
    assert default.config_hash() != full.config_hash()
    assert WorldConfig(noise_v4=default.noise('V4')).config_hash() == default.config_hash()  # None resolves
    with pytest.raises(ValueError, match='preset'):
        WorldConfig.preset('huge')
    with pytest.raises(ValueError, match='nonsense'):
        WorldConfig.preset('default', nonsense=1)


# --- the world's seed from the environment (held-out draws of the default design) -------------------------

def test_the_world_seed_from_the_environment_keys_cached_scores(monkeypatch):
    from dataclasses import replace
    from nrp_plugin.app import result_cache
    from nrp_plugin.synthetic.config import PRESET_ENV, SEED_ENV, preset_from_environment
    monkeypatch.delenv(PRESET_ENV, raising=False)
    configs, keys, identities = {}, {}, {}
    for seed in (None, '0', '7', '8'):
        if seed is None:
            monkeypatch.delenv(SEED_ENV, raising=False)
        else:
            monkeypatch.setenv(SEED_ENV, seed)
        configs[seed] = preset_from_environment()
        payload = result_cache.key_payload('SyntheticMajajHong2015-teacher', 'SyntheticMajajHong2015.IT-nrp',
                                           {'metric': 'nrp'})
        keys[seed], identities[seed] = result_cache.payload_hash(payload), payload['data']['world']
    assert configs['7'] == replace(WorldConfig.preset('default'), seed=7) and configs['7'].teacher_seed == 0
    assert configs['0'] == configs[None] == WorldConfig.preset('default')
    # the preset's own seed is the preset's world and its key; other seeds key other scores
    assert keys['0'] == keys[None] and len({keys[None], keys['7'], keys['8']}) == 3
    assert identities['7'] == f"default@seed7:{configs['7'].config_hash()}"
    monkeypatch.setenv(SEED_ENV, 'seven')
    with pytest.raises(ValueError, match=f'{SEED_ENV}=.seven. is not a non-negative integer'):
        preset_from_environment()
    assert result_cache.world_identity() not in identities.values()  # keyed on the text; the data plugin refuses it


@pytest.mark.slow  # generates the default design at a second seed
def test_the_world_seed_draws_the_default_design_anew(default_world, monkeypatch):
    from nrp_plugin.brainscore import synthetic_data
    from nrp_plugin.synthetic import teacher
    from nrp_plugin.synthetic.config import PRESET_ENV, SEED_ENV
    monkeypatch.delenv(PRESET_ENV, raising=False)
    monkeypatch.setenv(SEED_ENV, '7')
    seeded = synthetic_data.world()
    assert seeded.directory != default_world.directory
    # the same design: images, objects, categories, variations, sites
    design = ['stimulus_id', 'object_name', 'category_name', 'variation']
    assert (seeded.stimulus_set[design].values == default_world.stimulus_set[design].values).all()
    assert list(seeded.neuroids['neuroid_id']) == list(default_world.neuroids['neuroid_id'])
    assert seeded.assembly.shape == default_world.assembly.shape
    # drawn anew: images, poses, responses
    first = seeded.stimulus_set['stimulus_id'].iloc[0]
    assert (Path(seeded.stimulus_set.get_stimulus(first)).read_bytes()
            != Path(default_world.stimulus_set.get_stimulus(first)).read_bytes())
    private = seeded.stimulus_set['variation'].values == 6
    for pose in ('ty', 'tz', 's', 'rxy', 'rxz'):
        assert not np.allclose(seeded.stimulus_set[pose].values[private], default_world.stimulus_set[pose].values[private])
    assert not np.allclose(seeded.assembly.values, default_world.assembly.values)
    # generated by the registered teacher (teacher seed 0): its features on the new images are the world's
    paths = [seeded.stimulus_set.get_stimulus(stimulus_id) for stimulus_id in seeded.stimulus_set['stimulus_id'][:8]]
    features = teacher.teacher_features(paths, seed=0)
    for region in ('V4', 'IT'):
        np.testing.assert_allclose(features[teacher.REGION_LAYERS[region]], seeded.features(region)[:8], rtol=1e-5,
                                   atol=1e-6)


# --- Brain-Score data registry --------------------------------------------------------------------

def test_data_registry_loads_after_install(installed_plugins, default_world):
    import brainscore_vision
    assert 'data/nrp_synthetic_majajhong2015' in installed_plugins
    private = brainscore_vision.load_dataset('SyntheticMajajHong2015.private')
    assert private.shape == (640 * 30, 256, 1)
    np.testing.assert_array_equal(private.values, default_world.get_assembly('private').values)
    public = brainscore_vision.load_dataset('SyntheticMajajHong2015.public')
    assert set(np.unique(public['variation'].values)) == {0, 3}
    assert brainscore_vision.load_dataset('SyntheticMajajHong2015').sizes['presentation'] == 960 * 30
    stimuli = brainscore_vision.load_stimulus_set('SyntheticMajajHong2015')
    assert len(stimuli) == 960 and Path(stimuli.get_stimulus(stimuli['stimulus_id'].iloc[0])).is_file()
    assert len(brainscore_vision.load_stimulus_set('SyntheticMajajHong2015.public')) == 320
    assert len(brainscore_vision.load_stimulus_set('SyntheticMajajHong2015.private')) == 640


# --- unequal repetitions (the real recordings keep different numbers of trials per image) ----------

@pytest.fixture(scope='module')
def unequal_world(small_root):
    return load_world(WorldConfig(image_size=32, n_repetitions=12, min_repetitions=3, seed=2), root=small_root)


def test_equal_repetition_worlds_keep_their_hash():
    assert 'min_repetitions' not in WorldConfig().to_dict()  # worlds generated before the field keep their cache
    assert WorldConfig.preset('majajhong').min_repetitions is not None
    with pytest.raises(ValueError, match='min_repetitions'):
        WorldConfig(n_repetitions=5, min_repetitions=6)


def test_images_have_their_own_number_of_trials(unequal_world):
    counts = unequal_world.repetition_counts('private')
    assert counts.min() >= 3 and counts.max() <= 12 and len(np.unique(counts)) > 5
    assembly = unequal_world.get_assembly('private')
    assert assembly.sizes['presentation'] == counts.sum() and assembly.sizes['time_bin'] == 1
    stimuli = unequal_world.get_stimulus_set('private')
    per_stimulus = dict(zip(*np.unique(assembly['stimulus_id'].values, return_counts=True)))
    assert [per_stimulus[stimulus] for stimulus in stimuli['stimulus_id']] == counts.tolist()
    # each stimulus's trials are numbered 0..N-1, and its responses are the stored trials
    responses = np.load(unequal_world.directory / 'responses.npy')[unequal_world.stored.mask('private')]
    first = stimuli['stimulus_id'].iloc[0]
    trials = assembly.isel(presentation=assembly['stimulus_id'].values == first)
    assert sorted(trials['repetition'].values) == list(range(counts[0]))
    np.testing.assert_array_equal(trials.values[:, :, 0], responses[0, :counts[0]])


def test_noise_floor_of_the_unequal_world_is_the_analytic_one(unequal_world):
    import pandas as pd
    from nrp_plugin.brainscore.ceiling import noise_floor
    region = 'IT'
    repeated = unequal_world.region_assembly(region, 'private')
    counts = unequal_world.repetition_counts('private')
    sites = pd.read_csv(unequal_world.directory / 'neuroids.csv').set_index('neuroid_id')
    sigma = sites.loc[repeated['neuroid_id'].values, 'noise_sd'].values
    analytic = np.mean(np.sqrt(2 / (np.pi * counts))[:, None] * sigma[None, :])
    assert float(noise_floor(repeated)) == pytest.approx(analytic, rel=0.03)


@pytest.mark.slow  # scores the teacher through a whole benchmark
def test_nrp_benchmark_scores_an_unequal_world(unequal_world, monkeypatch):
    from nrp_plugin.brainscore import synthetic_data
    from nrp_plugin.brainscore.benchmark import NRPBenchmark
    from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    from nrp_plugin.brainscore.teacher_model import teacher_brain_model
    monkeypatch.setattr(synthetic_data, 'world', lambda: unequal_world)
    averaged, repeated = synthetic_data.synthetic_region('IT', 'private')
    assert averaged.sizes['presentation'] == 640 and repeated.sizes['presentation'] > 640
    benchmark = NRPBenchmark('unequal.IT-nrp', averaged, repeated, visual_degrees=8, number_of_trials=1,
                             metric=NRPErrorMetric(config=dict(max_epochs=30), device='cpu'))
    score = benchmark(teacher_brain_model())
    assert 0 < float(score) <= 1 and float(score.attrs['ceiling']) < score.attrs['nrp_error']
