"""The batched NRP trainer: batching changes nothing but speed."""
import numpy as np
import pytest
import torch

from nrp_plugin.core import network


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
    params, mask, info = network.train(x, y, groups, config, seeds, 'cpu', dtype=torch.float64)
    batched = network.predict(params, mask, x, 'cpu', dtype=torch.float64)
    for index, seed in enumerate(seeds):
        alone, mask1, info1 = network.train(x[index:index + 1], y[index:index + 1], groups, config, [seed], 'cpu',
                                            dtype=torch.float64)
        single = network.predict(alone, mask1, x[index:index + 1], 'cpu', dtype=torch.float64)
        assert info1['best_epoch'][0] == info['best_epoch'][index]
        torch.testing.assert_close(single[0], batched[index], rtol=1e-9, atol=1e-9)


def test_fits_differ_by_seed_and_repeat_by_seed():
    x, y = data(n_fits=2)
    x = x[[0, 0]]
    y = y[[0, 0]]
    config = network.NRPConfig(l1_size=8, l2_size=8, max_epochs=5, patience=5)
    params, mask, _ = network.train(x, y, [12], config, [1, 2], 'cpu')
    assert not torch.equal(params['w1_0'][0], params['w1_0'][1])
    again, _, _ = network.train(x, y, [12], config, [1, 2], 'cpu')
    assert all(torch.equal(params[name], again[name]) for name in params)


def test_early_stopping_keeps_the_best_validation_epoch():
    x, y = data(n_fits=1, n=60)
    config = network.NRPConfig(l1_size=64, l2_size=64, max_epochs=300, patience=10, learning_rate=1e-2)
    params, mask, info = network.train(x, y, [12], config, [0], 'cpu')
    assert info['epochs_run'] < 300
    assert info['epochs_run'] - info['best_epoch'][0] == config.patience
