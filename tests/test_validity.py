"""The validity sweep: its worlds are what they claim, and the NRP meets its targets on the cheap subset."""
import numpy as np
import pytest

from nrp_plugin.validity import (CHEAP_WORLDS, TEST_SEEDS, VALIDATION_SEEDS, WORLDS, WorldSpec, check_targets, generate,
                                 run_world, world_by_name)


def test_worlds_are_deterministic_and_their_floor_is_the_noise_mae():
    spec = WorldSpec('probe', n_stimuli=2000, rank=4, widths=(30, 300), response_noise=0.5, truth='tanh', seed=7)
    first, again = generate(spec), generate(spec)
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.responses, again.responses)
    assert first.features.shape == (2000, 330) and list(np.unique(first.groups)) == ['layer0', 'layer1']
    # E|N(0, s^2)| = s sqrt(2 / pi); the drawn noise agrees within sampling error
    assert first.floor == pytest.approx(0.5 * np.sqrt(2 / np.pi))
    empirical_floor = float(np.abs(first.responses - first.signal).mean())  # MAE of the signal on the drawn noise
    assert empirical_floor == pytest.approx(first.floor, rel=0.03)
    np.testing.assert_allclose(first.signal.std(axis=0), 1.0, rtol=1e-9)


def test_linear_truth_is_linear_in_the_latent_and_nonlinear_truths_are_not():
    from sklearn.linear_model import LinearRegression
    for truth, linear in (('linear', True), ('product', False), ('relu_square', False)):
        world = generate(WorldSpec('probe', n_stimuli=1500, rank=6, widths=(50,), truth=truth, seed=3))
        r2 = LinearRegression().fit(world.latent, world.signal).score(world.latent, world.signal)
        assert (r2 > 0.999) if linear else (r2 < 0.7), (truth, r2)


def test_a_world_at_another_seed_is_the_same_design_drawn_anew():
    design = world_by_name('two_layer_tanh')
    held_out = design.with_seed(101)
    assert held_out.name == 'two_layer_tanh@seed101' and held_out.seed == 101 and held_out.design == design.name
    assert world_by_name('two_layer_tanh@seed101') == held_out
    # every field but the name and the seed is the design's
    assert {k: v for k, v in held_out.to_dict().items() if k not in ('name', 'seed')} == \
        {k: v for k, v in design.to_dict().items() if k not in ('name', 'seed')}
    assert held_out.with_seed(7).name == 'two_layer_tanh@seed7'
    with pytest.raises(ValueError, match='non-negative integer'):
        design.with_seed(-1)
    first, second = generate(design), generate(held_out)
    assert first.features.shape == second.features.shape and first.responses.shape == second.responses.shape
    np.testing.assert_array_equal(first.groups, second.groups)
    # fresh latent, features, truth and noise
    for name in ('latent', 'features', 'signal', 'responses'):
        a, b = getattr(first, name), getattr(second, name)
        assert np.abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.1, name
    np.testing.assert_array_equal(generate(world_by_name('two_layer_tanh@seed101')).responses, second.responses)


def test_held_out_seeds_are_not_development_seeds():
    development = {spec.seed for spec in WORLDS}
    assert not development & set(VALIDATION_SEEDS) and not development & set(TEST_SEEDS)
    assert not set(VALIDATION_SEEDS) & set(TEST_SEEDS)


@pytest.mark.parametrize('name, message', [('nope', 'not a world'), ('dense_lin@seedx', 'non-negative integer'),
                                           ('dense_lin@seed-1', 'non-negative integer')])
def test_a_bad_world_name_says_what_is_wrong(name, message):
    with pytest.raises(KeyError, match=message):
        world_by_name(name)


def test_check_targets_flags_each_kind_of_miss():
    linear = dict(truth='linear', nrp_vs_linear=1.0, nrp_vs_nonlinear=0.5)
    assert check_targets([dict(linear, name='ok')]) == []
    assert check_targets([dict(linear, name='a', nrp_vs_linear=1.031)]) == [('a', 'nrp/best linear <= 1.03', 1.031)]
    # a nonlinear truth is held to the better of the MLP and kernel ridge, whatever linear maps do
    nonlinear = dict(truth='tanh', nrp_vs_linear=1.2, nrp_vs_nonlinear=1.0)
    assert check_targets([dict(nonlinear, name='b')]) == []
    assert check_targets([dict(nonlinear, name='c', nrp_vs_nonlinear=1.06)])[0][:2] == ('c', 'nrp/best nonlinear <= 1.05')


@pytest.mark.slow
@pytest.mark.parametrize('name', [spec.name for spec in CHEAP_WORLDS])
def test_nrp_meets_its_targets_on_the_cheap_worlds(name):
    row = run_world(world_by_name(name))
    assert row['floor'] < row['nrp'] < row['mean_mae']
    assert row['floor'] < row['best_linear']
    assert check_targets([row]) == [], row
