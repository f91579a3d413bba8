"""The noise-floor ceiling of the MAE and the ceiled NRP score, against analytic answers."""
import numpy as np
import pytest
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

from nrp_plugin.brainscore.ceiling import ceiled_nrp_score, noise_floor


def repeated(n_stimuli=400, n_sites=30, n_reps=40, sigma=0.6, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n_stimuli, n_sites))
    trials = signal[None] + sigma * rng.normal(size=(n_reps, n_stimuli, n_sites))
    values = trials.reshape(-1, n_sites)
    coords = {'stimulus_id': ('presentation', np.tile([f's{i}' for i in range(n_stimuli)], n_reps)),
              'repetition': ('presentation', np.repeat(np.arange(n_reps), n_stimuli)),
              'neuroid_id': ('neuroid', [f'n{j}' for j in range(n_sites)]),
              'region': ('neuroid', ['IT'] * n_sites)}
    return NeuroidAssembly(values, coords=coords, dims=['presentation', 'neuroid']), signal, trials.mean(axis=0)


@pytest.mark.parametrize('sigma, n_reps', [(0.6, 40), (1.5, 20)])
def test_floor_equals_the_perfect_predictors_mae(sigma, n_reps):
    assembly, signal, mean = repeated(sigma=sigma, n_reps=n_reps)
    floor = float(noise_floor(assembly))
    # a predictor that knows the noise-free signal makes exactly this error on the averaged data
    perfect = np.abs(mean - signal).mean()
    analytic = sigma / np.sqrt(n_reps) * np.sqrt(2 / np.pi)
    assert floor == pytest.approx(perfect, rel=0.05)
    assert floor == pytest.approx(analytic, rel=0.05)


def test_floor_is_invariant_to_presentation_order():
    assembly, _, _ = repeated()
    shuffled = assembly.isel(presentation=np.random.default_rng(1).permutation(assembly.sizes['presentation']))
    assert float(noise_floor(shuffled)) == pytest.approx(float(noise_floor(assembly)), rel=1e-12)


def test_floor_needs_trials_not_averages():
    assembly, _, _ = repeated(n_reps=2)
    averaged = assembly.isel(presentation=assembly['repetition'].values == 0)  # one presentation per stimulus
    with pytest.raises(ValueError, match='before averaging over repetitions'):
        noise_floor(averaged)
    with pytest.raises(ValueError, match="'stimulus_id'"):
        noise_floor(assembly.reset_index('presentation').drop_vars('stimulus_id'))


def unequal(sigma=0.8, low=10, high=50, n_stimuli=400, n_sites=30, seed=3):
    """Trials of Gaussian noise around a signal, with a different number of trials per stimulus."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(low, high + 1, size=n_stimuli)
    signal = rng.normal(size=(n_stimuli, n_sites))
    index = np.repeat(np.arange(n_stimuli), counts)
    values = signal[index] + sigma * rng.normal(size=(len(index), n_sites))
    repetition = np.concatenate([np.arange(count) for count in counts])
    coords = {'stimulus_id': ('presentation', [f's{i}' for i in index]),
              'repetition': ('presentation', repetition),
              'neuroid_id': ('neuroid', [f'n{j}' for j in range(n_sites)]),
              'region': ('neuroid', ['IT'] * n_sites)}
    assembly = NeuroidAssembly(values, coords=coords, dims=['presentation', 'neuroid'])
    return assembly, counts


@pytest.mark.parametrize('sigma, low, high', [(0.8, 10, 50), (1.5, 2, 12), (0.3, 10, 50)])
def test_floor_with_unequal_repetitions_matches_the_analytic_mae(sigma, low, high):
    assembly, counts = unequal(sigma=sigma, low=low, high=high)
    analytic = np.mean(sigma * np.sqrt(2 / (np.pi * counts)))  # MAE of each stimulus's full mean
    assert float(noise_floor(assembly)) == pytest.approx(analytic, rel=0.03)


def test_single_trial_stimuli_are_left_out_and_named():
    assembly, counts = unequal(sigma=0.8)
    single = ['s0', 's1']
    drop = np.isin(assembly['stimulus_id'].values, single) & (assembly['repetition'].values > 0)
    floor = noise_floor(assembly.isel(presentation=~drop))
    assert sorted(floor.attrs['excluded_stimuli']) == single
    analytic = np.mean(0.8 * np.sqrt(2 / (np.pi * counts[2:])))
    assert float(floor) == pytest.approx(analytic, rel=0.03)


def test_floor_does_not_depend_on_repetition_labels():
    # real recordings number repetitions per session; the halving is per stimulus, not by label
    assembly, _ = unequal()
    relabelled = assembly.reset_index('presentation')
    relabelled = relabelled.assign_coords(repetition=('presentation', np.zeros(relabelled.sizes['presentation'], int)))
    assert float(noise_floor(relabelled)) == float(noise_floor(assembly))


def test_ceiled_score_anchors():
    assert ceiled_nrp_score(0.5, 0.5, 0.1) == (0.0, 0.0)
    assert ceiled_nrp_score(0.1, 0.5, 0.1) == (1.0, 1.0)
    assert ceiled_nrp_score(0.3, 0.5, 0.1) == pytest.approx((0.5, 0.5))
    assert ceiled_nrp_score(0.7, 0.5, 0.1) == pytest.approx((0.0, -0.5))
    with pytest.raises(ValueError, match='noise floor'):
        ceiled_nrp_score(0.3, 0.1, 0.2)


# --- the synthetic benchmarks' Brain-Score ceiling, kept beside the world ---------------------------

def test_internal_consistency_ceiling_is_computed_once_per_world(tmp_path, monkeypatch):
    import brainscore_vision
    from brainscore_core.metrics import Score
    from nrp_plugin.brainscore import synthetic_data as synthetic_benchmarks
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig

    small = load_world(WorldConfig(seed=5, image_size=32, n_repetitions=4), root=tmp_path)
    monkeypatch.setattr(synthetic_benchmarks, 'world', lambda: small)
    seen = []

    def fake_ceiler(assembly):  # records what Brain-Score's ceiling would be given
        seen.append(assembly)
        return Score(0.5 + 0.01 * len(seen))

    monkeypatch.setattr(brainscore_vision, 'load_ceiling', lambda name: fake_ceiler)
    first = synthetic_benchmarks.internal_consistency_ceiling('IT')
    again = synthetic_benchmarks.internal_consistency_ceiling('IT')
    assert len(seen) == 1 and float(first) == float(again) == 0.51
    # it was given the region's trials, not the repetition-averaged responses
    assert set(seen[0]['region'].values) == {'IT'}
    assert len(seen[0]['presentation']) == 640 * 4
    # another region is its own entry; a different world would be another directory
    synthetic_benchmarks.internal_consistency_ceiling('V4')
    assert len(seen) == 2
    assert len(list((small.directory / 'ceilings').glob('*.pkl'))) == 2
