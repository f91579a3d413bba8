"""The nested grid search: it finds the informative layer, never sees test stimuli, is reproducible."""
import json

import numpy as np
import pytest

from helpers import assembly
from nrp_plugin.search import nested as search_module
from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric, prepare
from nrp_plugin.search import SearchGrid, nested_search, write_search_summary
from nrp_plugin.brainscore.splits import CrossValidationSpec

FAST = dict(max_epochs=60, patience=10, batch_size=64)
SPLITS = dict(splits=3)
TINY = SearchGrid(l1_sizes=[16], l2_sizes=[0], learning_rates=[3e-3])


def signal_noise_world(n=384, n_signal=8, n_noise=32, n_targets=8, seed=0):
    """Two layers: targets are a nonlinear function of the 'signal' columns only."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, n_signal))
    noise = rng.normal(size=(n, n_noise))
    weights = rng.normal(size=(n_signal, n_targets)) / np.sqrt(n_signal)
    drive = signal @ weights
    responses = np.maximum(drive, 0) ** 2 + 0.2 * rng.normal(size=drive.shape)
    features = np.concatenate([signal, noise], axis=1)
    layers = ['signal'] * n_signal + ['noise'] * n_noise
    return (assembly(features, 'feature', n_objects=16, layers=layers),
            assembly(responses, 'site', n_objects=16))


@pytest.fixture(scope='module')
def world():
    return signal_noise_world()


@pytest.fixture(scope='module')
def searched(world):
    metric = NRPErrorMetric(device='cpu', config=FAST, crossvalidation_kwargs=SPLITS, search=TINY,
                            random_state=5, references='none')
    return metric(*world)


def test_search_picks_the_informative_layer(searched):
    layers = [tuple(choice['layers']) for choice in searched.attrs['search_choices']]
    assert len(layers) == 3
    # every split keeps the informative layer; a pure-noise layer beside it costs almost nothing once its
    # components are cut at the noise threshold, so 'signal' and 'signal+noise' may tie
    assert all('signal' in chosen for chosen in layers), layers
    table = {tuple(row['layers']): row['validation_mae'] for row in searched.attrs['search_table']}
    assert set(table) == {('signal',), ('noise',), ('signal', 'noise')}
    # the noise layer alone carries nothing: clearly worse than either subset with the signal layer
    assert max(table[('signal',)], table[('signal', 'noise')]) < 0.8 * table[('noise',)]
    assert abs(table[('signal',)] - table[('signal', 'noise')]) < 0.05 * table[('signal',)]
    assert searched.attrs['higher_is_better'] is False
    assert searched.attrs['raw'].shape == (3, 8)
    assert 'signal' in searched.attrs['layers']


def test_nested_search_never_sees_outer_test_stimuli(world, monkeypatch):
    data, _ = prepare(*world, CrossValidationSpec(splits=3))
    given = []
    original = search_module.select_configurations

    def spy(pool_inputs, pool_targets, train_rows, *args, **kwargs):
        given.append([np.array(rows) for rows in train_rows])
        n_train = data.train_inputs.shape[1]
        # poison every row the search must not read: a leak would make the choice fail loudly
        pool_inputs, pool_targets = pool_inputs.clone(), pool_targets.clone()
        pool_inputs[:, n_train:] = float('nan')
        pool_targets[:, n_train:] = float('nan')
        return original(pool_inputs, pool_targets, train_rows, *args, **kwargs)

    monkeypatch.setattr(search_module, 'select_configurations', spy)
    from nrp_plugin.core.network import NRPConfig
    _, choices, table, _ = nested_search(data, TINY, NRPConfig(**FAST), random_state=0, device='cpu')
    assert len(given) == 1
    rows = given[0]
    assert len(rows) == 3
    for split, split_rows in enumerate(rows):
        pool_ids = np.concatenate([data.train_ids[split], data.test_ids[split]])
        ids = set(pool_ids[split_rows])
        assert ids == set(data.train_ids[split])
        assert not ids & set(data.test_ids[split])
    assert all(np.isfinite(row['validation_mae']) for row in table)


def test_test_targets_do_not_change_the_choice(world):
    from nrp_plugin.core.network import NRPConfig
    grid = SearchGrid(l1_sizes=[8, 16], l2_sizes=[0, 8], learning_rates=[3e-3], layer_subsets=[['signal']])
    data, _ = prepare(*world, CrossValidationSpec(splits=3))
    _, choices, table, _ = nested_search(data, grid, NRPConfig(**FAST), random_state=1, device='cpu')
    data.test_targets = data.test_targets * -10 + 3
    data.test_inputs = data.test_inputs * 0
    _, other_choices, other_table, _ = nested_search(data, grid, NRPConfig(**FAST), random_state=1, device='cpu')
    assert choices == other_choices
    assert table == other_table


def test_same_seed_same_choices(world, searched):
    metric = NRPErrorMetric(device='cpu', config=FAST, crossvalidation_kwargs=SPLITS, search=TINY,
                            random_state=5, references='none')
    again = metric(*world)
    assert again.attrs['search_choices'] == searched.attrs['search_choices']
    assert again.attrs['search_table'] == searched.attrs['search_table']
    assert float(again) == float(searched)


@pytest.mark.parametrize('field, value', [
    ('l1_sizes', [0, 16]), ('l1_sizes', []), ('l2_sizes', [-1]), ('l2_sizes', [8, 8]),
    ('learning_rates', [0.0]), ('learning_rates', ['fast']), ('inner_validation_fraction', 1.0),
    ('layer_subsets', [[]]), ('layer_subsets', 'signal'), ('max_subset_size', 0)])
def test_bad_grid_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SearchGrid(**{field: value})


def test_grid_json_round_trip_and_unknown_field(tmp_path):
    grid = SearchGrid(layer_subsets=[['signal'], ['signal', 'noise']], l1_sizes=[16], l2_sizes=[0, 8])
    path = tmp_path / 'grid.json'
    path.write_text(json.dumps(grid.to_dict()))
    assert SearchGrid.from_json(path) == grid
    path.write_text(json.dumps({'l1_size': [16]}))
    with pytest.raises(ValueError, match='l1_size'):
        SearchGrid.from_json(path)
    assert len(SearchGrid.default().configurations(['a', 'b', 'c'])) == 7 * 3 * 4 * 2


def test_unknown_layer_in_grid_is_rejected(world):
    grid = SearchGrid(layer_subsets=[['signal'], ['conv9']], l1_sizes=[8], l2_sizes=[0], learning_rates=[1e-3])
    metric = NRPErrorMetric(device='cpu', config=FAST, crossvalidation_kwargs=SPLITS, search=grid)
    with pytest.raises(ValueError, match='layer_subsets.*conv9'):
        metric(*world)


def test_search_summary_files(searched, tmp_path):
    paths = write_search_summary(searched, tmp_path)
    csv_lines = paths['csv'].read_text().splitlines()
    assert csv_lines[0].startswith('layers,l1_size,l2_size')
    assert len(csv_lines) == 1 + 3
    maes = [float(line.split(',')[4]) for line in csv_lines[1:]]
    assert maes == sorted(maes)  # best first
    assert csv_lines[-1].startswith('noise,')  # the noise layer alone is worst
    assert paths['heatmap'].read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert 'One vs two hidden layers' in paths['markdown'].read_text()
