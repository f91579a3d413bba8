"""The batched NRP trainer: batching changes nothing but speed."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from nrp_plugin.core import combination, network, training


def data(n_fits=3, n=200, d=12, t=5, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.normal(size=(n_fits, n, d)))
    y = torch.relu(x[..., :t]) + 0.1 * torch.as_tensor(rng.normal(size=(n_fits, n, t)))
    return x, y


@pytest.mark.parametrize('l2_size', [16, 0])
def test_batched_equals_one_by_one(l2_size):
    x, y = data()
    config = network.NRPConfig(l1_size=8, l2_size=l2_size, max_epochs=60, patience=5, batch_size=32)
    seeds = [11, 12, 13]
    groups = [8, 4]
    params, mask, info = combination.train(x, y, groups, config, seeds, 'cpu', dtype=torch.float64)
    batched = network.predict(params, mask, x, 'cpu', dtype=torch.float64)
    for index, seed in enumerate(seeds):
        alone, mask1, info1 = combination.train(x[index:index + 1], y[index:index + 1], groups, config, [seed],
                                                'cpu', dtype=torch.float64)
        single = network.predict(alone, mask1, x[index:index + 1], 'cpu', dtype=torch.float64)
        assert info1['best_epoch'][0] == info['best_epoch'][index]
        torch.testing.assert_close(single[0], batched[index], rtol=1e-9, atol=1e-9)


def test_fits_differ_by_seed_and_repeat_by_seed():
    x, y = data(n_fits=2)
    x = x[[0, 0]]
    y = y[[0, 0]]
    config = network.NRPConfig(l1_size=8, l2_size=8, max_epochs=5, patience=5)
    params, mask, _ = combination.train(x, y, [12], config, [1, 2], 'cpu')
    assert not torch.equal(params['w1_0'][0], params['w1_0'][1])
    again, _, _ = combination.train(x, y, [12], config, [1, 2], 'cpu')
    assert all(torch.equal(params[name], again[name]) for name in params)


def test_early_stopping_keeps_the_best_validation_epoch():
    x, y = data(n_fits=1, n=60)
    config = network.NRPConfig(l1_size=64, l2_size=64, max_epochs=300, patience=10, learning_rate=1e-2)
    params, mask, info = training.train_network(x, y, [12], config, [0], 'cpu')
    assert info['epochs_run'] < 300
    assert info['epochs_run'] - info['best_epoch'][0] == config.patience


def test_choose_mix_takes_the_convex_combination_with_the_lowest_validation_error():
    rng = np.random.default_rng(0)
    noise = torch.as_tensor(rng.normal(size=(5, 30, 5)))
    # fit 0: the linear-path network is closer (w = 1); 1: the two err in opposite directions, so their mean is
    # exact (w = 1/2); 2: the paper's network is closer (w = 0); 3: identical residuals keep the linear path;
    # 4: unrelated errors, an interior optimum
    linear = torch.stack([0.1 * noise[0], noise[1], noise[2], noise[3], noise[4]])
    paper = torch.stack([noise[0], -noise[1], 0.1 * noise[2], noise[3], torch.as_tensor(rng.normal(size=(30, 5)))])
    mix, errors = combination.choose_mix(linear, paper)
    np.testing.assert_allclose(mix[:4, 0], [1.0, 0.5, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(mix.sum(dim=1), 1.0)
    assert 0.3 < mix[4, 0] < 0.7
    # the closed form against a fine grid of weights
    grid = torch.linspace(0, 1, 2001, dtype=torch.float64)
    mse = ((grid[:, None, None, None] * linear + (1 - grid[:, None, None, None]) * paper) ** 2).mean(dim=(2, 3))
    assert (errors[:, 1] <= mse.min(dim=0).values + 1e-12).all()
    distinct = [0, 1, 2, 4]  # on fit 3 every weight gives the same error
    np.testing.assert_allclose(mix[distinct, 0], grid[mse.argmin(dim=0)][distinct], atol=1e-3)
    torch.testing.assert_close(errors[:, 0], (linear ** 2).mean(dim=(1, 2)))
    torch.testing.assert_close(errors[:, 2], (paper ** 2).mean(dim=(1, 2)))


def test_validated_choice_predicts_the_chosen_mix_of_the_two_networks():
    x, y = data(n_fits=3)
    config = network.NRPConfig(l1_size=8, l2_size=8, max_epochs=60, patience=10, batch_size=32)
    seeds = [3, 4, 5]
    kwargs = dict(dtype=torch.float64)
    params, layout, info = combination.train(x, y, [8, 4], config, seeds, 'cpu', **kwargs)
    linear, _, linear_info = combination.train(x, y, [8, 4], replace(config, paper_candidate=False), seeds, 'cpu',
                                               **kwargs)
    paper, _, paper_info = combination.train(x, y, [8, 4], replace(config, linear_path=False), seeds, 'cpu', **kwargs)
    # each candidate's validation error is what its network's early stopping kept, and the choice is the lowest
    errors = info['candidate_validation_mse']
    np.testing.assert_allclose(errors[:, 0], linear_info['best_validation_mse'], rtol=1e-9)
    np.testing.assert_allclose(errors[:, 2], paper_info['best_validation_mse'], rtol=1e-9)
    assert (errors[:, 1] <= errors[:, [0, 2]].min(axis=1) + 1e-12).all()
    mix = torch.as_tensor(info['mix'])
    expected = (mix[:, 0, None, None] * network.predict(linear, layout, x, 'cpu', **kwargs)
                + mix[:, 1, None, None] * network.predict(paper, layout, x, 'cpu', **kwargs))
    torch.testing.assert_close(network.predict(params, layout, x, 'cpu', **kwargs), expected, rtol=1e-9, atol=1e-9)


def test_validated_choice_keeps_the_linear_path_where_the_truth_is_linear():
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(2, 300, 40)))
    y = x @ torch.as_tensor(rng.normal(size=(40, 6)) / np.sqrt(40)) + 0.3 * torch.as_tensor(rng.normal(size=(2, 300, 6)))
    config = network.NRPConfig(l1_size=16, l2_size=16, max_epochs=100, patience=10)
    _, _, info = combination.train(x, y, [40], config, [0, 1], 'cpu')
    # the linear-path network starts at ridge, which is nearly the truth; the paper's network must learn it
    assert (info['mix'][:, 0] > 0.8).all()
    assert (info['candidate_validation_mse'][:, 0] < info['candidate_validation_mse'][:, 2]).all()


@pytest.mark.parametrize('patience', [3, 12])
def test_twins_equal_the_two_designs_trained_one_after_the_other(patience):
    # the validated choice trains both designs in one batch (2 S networks); each network must come out exactly
    # as its design trained alone, also when one design's networks stop while the other's still train
    x, y = data(n_fits=3, seed=4)
    config = network.NRPConfig(l1_size=8, l2_size=8, max_epochs=80, patience=patience, batch_size=32)
    seeds = [21, 22, 23]
    kwargs = dict(dtype=torch.float64)
    twins, layout, info = training.train_network(x, y, [8, 4], config, seeds, 'cpu', twins=True, **kwargs)
    linear, _, linear_info = training.train_network(x, y, [8, 4], config, seeds, 'cpu', **kwargs)
    paper, _, paper_info = training.train_network(x, y, [8, 4], replace(config, linear_path=False), seeds, 'cpu',
                                                 **kwargs)
    np.testing.assert_array_equal(info['best_epoch'], np.concatenate([linear_info['best_epoch'],
                                                                      paper_info['best_epoch']]))
    for name, value in linear.items():
        torch.testing.assert_close(twins[name][:3], value, rtol=1e-10, atol=1e-12)
    for name, value in paper.items():
        torch.testing.assert_close(twins[name][3:], value, rtol=1e-10, atol=1e-12)
    assert (twins['w_linear'][3:] == 0).all() and (twins['b_linear'][3:] == 0).all()  # never used, never moved
    torch.testing.assert_close(info['validation_residual'], torch.cat([linear_info['validation_residual'],
                                                                       paper_info['validation_residual']]))
    assert info['epochs_run'] == max(linear_info['epochs_run'], paper_info['epochs_run'])
    assert (info['best_epoch'] + patience < info['epochs_run']).any()  # some networks left the batch early


def test_twins_need_the_linear_path():
    x, y = data(n_fits=1)
    with pytest.raises(ValueError, match='linear_path'):
        training.train_network(x, y, [8, 4], network.NRPConfig(linear_path=False), [0], 'cpu', twins=True)


DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def _adam_loss(params, x, y):
    """Each network's loss, shape (S,): a small ReLU network's MSE, so the gradients change from step to step."""
    hidden = torch.relu(x @ params['w'] + params['b'][..., None, :])
    return ((hidden @ params['v'] - y) ** 2).mean(dim=(-2, -1))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('settings', [dict(weight_decay=1e-3, learning_rate=3e-3),
                                      dict(weight_decay=0.05, learning_rate=0.02, betas=(0.8, 0.99), eps=1e-6)])
def test_flat_adam_is_torch_adam_step_for_step(device, settings):
    # reference: one torch.optim.Adam per network, on that network's own parameters and loss; 400 steps, networks
    # leaving the buffer (keep) after steps 60 and 170 as early stopping drops them, the others going on
    rng = np.random.default_rng(3)
    n_nets, n_rows = 4, 48
    start = {'w': rng.normal(size=(n_nets, 6, 10)), 'b': rng.normal(size=(n_nets, 10)),
             'v': 0.3 * rng.normal(size=(n_nets, 10, 2))}
    start = {name: torch.as_tensor(value, device=device) for name, value in start.items()}
    x = torch.as_tensor(rng.normal(size=(n_nets, n_rows, 6)), device=device)
    y = torch.sin(x[..., :2]) + 0.1 * torch.as_tensor(rng.normal(size=(n_nets, n_rows, 2)), device=device)
    optimizer = training._FlatAdam({name: value.clone() for name, value in start.items()}, **settings)
    references = [{name: value[net].clone().requires_grad_(True) for name, value in start.items()}
                  for net in range(n_nets)]
    torch_settings = dict(lr=settings['learning_rate'], weight_decay=settings['weight_decay'],
                          **{key: settings[key] for key in ('betas', 'eps') if key in settings})
    adams = [torch.optim.Adam(list(reference.values()), **torch_settings) for reference in references]
    running = list(range(n_nets))  # the networks in the buffer, in its row order
    leaving = {60: [1], 170: [0, 3]}
    for step in range(1, 401):
        rows = slice((step * 16) % n_rows, (step * 16) % n_rows + 16)  # a mini-batch, the same for every network
        _adam_loss(optimizer.params, x[running, rows], y[running, rows]).sum().backward()
        optimizer.step()
        for net in running:
            _adam_loss(references[net], x[net, rows], y[net, rows]).backward()
            adams[net].step()
            adams[net].zero_grad()
        for row, net in enumerate(running):
            for name, value in references[net].items():
                torch.testing.assert_close(optimizer.params[name][row].detach(), value.detach(), rtol=1e-9,
                                           atol=1e-12, msg=f'network {net}, {name}, step {step}')
            assert float(adams[net].state[references[net]['w']]['step']) == float(optimizer.steps) == step
        if step in leaving:
            kept = [row for row, net in enumerate(running) if net not in leaving[step]]
            optimizer.keep(torch.as_tensor(kept, device=device))
            running = [running[row] for row in kept]
    assert running == [2]
    # the parameters moved far from their start: the comparison covers real updates, not a resting point
    assert (optimizer.params['w'][0].detach() - start['w'][2]).abs().max() > 0.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA GPU visible')
def test_training_on_cuda_matches_the_cpu():
    # the same fits on the GPU and on the CPU, in float64: the same best epochs and predictions
    x, y = data(n_fits=2)
    config = network.NRPConfig(l1_size=8, l2_size=16, max_epochs=40, patience=5, batch_size=32)
    results = {}
    for device in ('cpu', 'cuda'):
        params, mask, info = combination.train(x, y, [8, 4], config, [5, 6], device, dtype=torch.float64)
        results[device] = (network.predict(params, mask, x, device, dtype=torch.float64).cpu(), info['best_epoch'])
    assert list(results['cuda'][1]) == list(results['cpu'][1])
    torch.testing.assert_close(results['cuda'][0], results['cpu'][0], rtol=1e-6, atol=1e-8)
