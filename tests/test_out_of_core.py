"""The out-of-core path: column-chunked files, wide layers handed on as their Gram matrices, the activation store,
and scores equal to those of Brain-Score's own in-memory activations."""
import os

import numpy as np
import pytest
import torch

from nrp_plugin.app import cli
from nrp_plugin.brainscore import out_of_core
from nrp_plugin.brainscore.out_of_core import OutOfCoreActivations, record_layers
from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric, NRPErrorMetric, RidgeErrorMetric
from nrp_plugin.brainscore.pls_metric import PLSTorchMetric
from nrp_plugin.core.kernels import gram_matrix
from nrp_plugin.storage.activation_store import LIMIT_ENV, ActivationStore, store_key
from nrp_plugin.storage.column_file import ColumnChunkedFile


# ------------------------------------------------------------------------------------------------
# column-chunked files

@pytest.mark.parametrize('chunk_columns', [1, 7, 64, None])
def test_column_file_stores_rows_written_in_any_order(tmp_path, chunk_columns):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((37, 50)).astype(np.float32)
    stored = ColumnChunkedFile(tmp_path / 'x.f32', 37, 50, chunk_columns=chunk_columns)
    for start in (30, 0, 10, 20):  # blocks out of order, the last one short
        stored.write_rows(start, values[start:start + 10])
    np.testing.assert_array_equal(stored.read_all(), values)
    chunks = list(stored.iter_column_chunks('cpu', torch.float64, rows=[3, 1]))
    assert chunks[0][0] == 0 and chunks[-1][1] == 50
    np.testing.assert_array_equal(torch.cat([chunk for _, _, chunk in chunks], dim=1).numpy(), values[[3, 1]])
    assert os.path.getsize(tmp_path / 'x.f32') == values.nbytes
    stored.remove()
    assert not (tmp_path / 'x.f32').exists()


def test_column_file_refuses_rows_that_do_not_fit(tmp_path):
    with ColumnChunkedFile(tmp_path / 'x.f32', 4, 3) as stored:
        with pytest.raises(ValueError, match='do not fit'):
            stored.write_rows(2, np.zeros((3, 3)))
        with pytest.raises(ValueError, match='do not fit'):
            stored.write_rows(0, np.zeros((1, 2)))
    with pytest.raises(ValueError, match='at least one row'):
        ColumnChunkedFile(tmp_path / 'y.f32', 0, 3)


def test_gram_from_a_column_file_equals_the_in_memory_gram_bit_for_bit(tmp_path):
    rng = np.random.default_rng(1)
    values = (rng.standard_normal((40, 300)) + 5).astype(np.float32)
    with ColumnChunkedFile(tmp_path / 'x.f32', 40, 300, chunk_columns=64) as stored:
        stored.write_rows(0, values)
        from_file = gram_matrix(stored, center=False, device='cpu')
    in_memory = gram_matrix(values, center=False, device='cpu', chunk_size=64)  # the same chunks
    assert torch.equal(from_file, in_memory)
    # and the dot products themselves, to rounding
    exact = values.astype(np.float64) @ values.astype(np.float64).T
    np.testing.assert_allclose(in_memory.numpy(), exact, rtol=1e-12)


def test_an_uncentred_gram_entry_depends_on_its_two_rows_only():
    """Changing some rows' features leaves every entry between the other rows bit for bit as it was."""
    rng = np.random.default_rng(2)
    values = rng.standard_normal((50, 700)).astype(np.float32)
    changed = values.copy()
    changed[[3, 17, 40]] = rng.standard_normal((3, 700)).astype(np.float32) * 10
    others = np.setdiff1d(np.arange(50), [3, 17, 40])
    before, after = (gram_matrix(x, center=False, device='cpu', chunk_size=128) for x in (values, changed))
    assert torch.equal(before[others][:, others], after[others][:, others])
    assert not torch.equal(before, after)


# ------------------------------------------------------------------------------------------------
# the activation store

def test_store_round_trip_and_keys(tmp_path):
    store = ActivationStore(tmp_path, limit_bytes=10 ** 6)
    values = np.arange(12, dtype=np.float64).reshape(3, 4)
    key = store_key(layer='a', weights='w')
    assert key == store_key(weights='w', layer='a') and key != store_key(layer='a', weights='v')
    assert store.get(key) is None
    store.put(key, values, {'basis': 'unit', 'width': 4})
    stored, meta = store.get(key)
    np.testing.assert_array_equal(stored, values)
    assert meta == {'basis': 'unit', 'width': 4}


def test_store_keeps_the_recently_used_entries_under_its_limit(tmp_path):
    entry = np.zeros((100, 100))  # 80 kB each
    store = ActivationStore(tmp_path, limit_bytes=int(2.5 * entry.nbytes))
    for name in 'abc':
        store.put(name, entry, {})
        os.utime(store._path(name), (1000 + ord(name),) * 2)
    assert len(store.entries()) == 2 and store.get('a') is None  # the oldest went
    store.get('b')  # b is now the most recently used
    store.put('d', entry, {})
    assert store.get('b') is not None and store.get('c') is None
    assert store.size() <= store.limit_bytes
    assert not store.put('huge', np.zeros((1000, 1000)), {})  # larger than the limit: not stored


def test_store_removes_an_unreadable_entry_and_clears(tmp_path):
    store = ActivationStore(tmp_path, limit_bytes=10 ** 6)
    store.put('good', np.ones(3), {})
    store._path('bad').write_bytes(b'not a zip')
    assert store.get('bad') is None and not store._path('bad').exists()
    (tmp_path / '.good.npz.123.tmp').write_bytes(b'left by an interrupted write')
    count, size = store.clear()
    assert count == 1 and size > len(b'left by an interrupted write')
    assert list(tmp_path.iterdir()) == []


def test_store_limit_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, '0.5')
    assert ActivationStore(tmp_path).limit_bytes == 2 ** 29
    monkeypatch.setenv(LIMIT_ENV, 'lots')
    with pytest.raises(ValueError, match=LIMIT_ENV):
        ActivationStore(tmp_path)


def test_cache_command_clears_the_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('NRP_PLUGIN_HOME', str(tmp_path))
    ActivationStore().put('x', np.ones((10, 10)), {})
    assert cli.main(['cache', 'info']) == 0
    assert '1 layers' in capsys.readouterr().out
    assert cli.main(['cache', 'clear']) == 0
    assert 'removed 1 layers' in capsys.readouterr().out
    assert ActivationStore().entries() == []


# ------------------------------------------------------------------------------------------------
# recording a real PytorchWrapper out of core

@pytest.fixture(scope='module')
def tiny_spec(tmp_path_factory):
    from helpers import TINY_NET
    path = tmp_path_factory.mktemp('net') / 'tiny_net.py'
    path.write_text(TINY_NET)
    return f'{path}:build'


def _wrap(spec):
    """A new Brain-Score wrapper of the tiny network, with the same weights every time."""
    from nrp_plugin.app.model_specs import load_spec_model
    torch.manual_seed(0)
    return load_spec_model(spec).activations_model


@pytest.fixture(scope='module')
def tiny_wrapper(tiny_spec):
    """The tiny file-spec network (layers of 1,800, 784 and 256 units) as Brain-Score wraps it."""
    return _wrap(tiny_spec)


@pytest.fixture(scope='module')
def world_subset():
    """300 scored stimuli of the default world and the IT responses to them."""
    from helpers import stimulus_subset
    from nrp_plugin.brainscore.synthetic_world import load_world
    from nrp_plugin.synthetic import WorldConfig
    world = load_world(WorldConfig.preset('default'))
    stimuli = stimulus_subset(world, 'private', 300)
    target = world.region_assembly('IT', 'private', average_repetitions=True)
    target = target[{'presentation': np.isin(target['stimulus_id'].values, stimuli['stimulus_id'].values)}]
    return stimuli, target


LAYERS = ['conv1', 'conv2', 'pool']


def test_recorded_values_are_brainscores_own(tiny_wrapper, world_subset, tmp_path):
    stimuli, _ = world_subset
    reference = tiny_wrapper(stimuli, layers=LAYERS)
    _, files = record_layers(tiny_wrapper, stimuli, LAYERS, tmp_path)
    for layer in LAYERS:
        expected = reference[{'neuroid': reference['layer'].values == layer}]
        np.testing.assert_array_equal(files[layer].read_all(), expected.values)
        files[layer].remove()
    memo = OutOfCoreActivations(tiny_wrapper, store=ActivationStore(tmp_path / 'store'), device='cpu')
    answered = memo(stimuli, layers=LAYERS)
    np.testing.assert_array_equal(answered['stimulus_id'].values, reference['stimulus_id'].values)
    for column in stimuli.columns:
        np.testing.assert_array_equal(answered[column].values, reference[column].values)
    widths = {layer: int((reference['layer'].values == layer).sum()) for layer in LAYERS}
    for layer in LAYERS:
        part = answered[{'neuroid': answered['layer'].values == layer}]
        assert set(part['layer_width'].values) == {widths[layer]}
        # wider than the 300 stimuli: the uncentred Gram matrix, one column per stimulus; else the units as recorded
        assert set(part['basis'].values) == {'gram' if widths[layer] > 300 else 'unit'}
        assert part.sizes['neuroid'] == (300 if widths[layer] > 300 else widths[layer])
        if widths[layer] > 300:
            np.testing.assert_array_equal(part['kernel_stimulus_id'].values, stimuli['stimulus_id'].values)
            features = reference[{'neuroid': reference['layer'].values == layer}].values.astype(np.float64)
            np.testing.assert_allclose(part.values, features @ features.T, rtol=1e-10)
    unit = answered[{'neuroid': answered['layer'].values == 'pool'}]
    np.testing.assert_array_equal(unit.values, reference[{'neuroid': reference['layer'].values == 'pool'}].values)


@pytest.mark.slow
def test_out_of_core_scores_equal_the_in_memory_scores(tiny_wrapper, world_subset, tmp_path):
    """NRP, linear, ridge and kernel PLS on the recorded Gram matrices score as on the recorded units, bit for bit."""
    stimuli, target = world_subset
    reference = tiny_wrapper(stimuli, layers=LAYERS)
    memo = OutOfCoreActivations(tiny_wrapper, store=ActivationStore(tmp_path / 'store'), device='cpu')
    answered = memo(stimuli, layers=LAYERS)
    nrp = NRPErrorMetric(device='cpu')
    in_memory, out_of_core = nrp(reference, target), nrp(answered, target)
    # both paths form each wide layer's uncentred kernel from the same features in the same column chunks:
    # bit-identical inputs, so the same network training and the same scores
    assert float(in_memory) == float(out_of_core)
    assert in_memory.attrs['components_kept'] == out_of_core.attrs['components_kept']
    assert in_memory.attrs['best_epoch'] == out_of_core.attrs['best_epoch']
    for name in ('least_squares_mae', 'ridge_mae'):
        assert in_memory.attrs[name] == out_of_core.attrs[name]
    for metric in (LeastSquaresErrorMetric(device='cpu'), RidgeErrorMetric(device='cpu')):
        assert float(metric(reference, target)) == float(metric(answered, target))
    for layer in ('conv1', 'pool'):  # one kernel layer, one unit layer
        select = lambda assembly: assembly[{'neuroid': assembly['layer'].values == layer}]
        pls = PLSTorchMetric(device='cpu')
        assert float(pls(select(reference), target)) == float(pls(select(answered), target))


def test_the_store_serves_a_second_run_and_new_weights_miss_it(tiny_wrapper, tiny_spec, world_subset, tmp_path):
    stimuli, _ = world_subset
    store = ActivationStore(tmp_path / 'store')
    first = OutOfCoreActivations(tiny_wrapper, prefetch=LAYERS, store=store, device='cpu')
    answered = first(stimuli, layers=['conv2'])
    first(stimuli, layers=['conv1', 'pool'])
    assert len(first.recorded) == 1 and sorted(first.recorded[0][1]) == sorted(LAYERS) and len(store.entries()) == 3
    # a second run: a new wrapper of the same network (as in a new process), which has never seen these images
    second = OutOfCoreActivations(_wrap(tiny_spec), store=store, device='cpu')
    again = second(stimuli, layers=['conv2'])
    assert second.recorded == []
    np.testing.assert_array_equal(again.values, answered.values)
    for name in answered.coords:  # every coordinate, the trial coordinates of Brain-Score's extractor included
        np.testing.assert_array_equal(again[name].values, answered[name].values, err_msg=name)
    network = tiny_wrapper._model
    saved = {name: tensor.clone() for name, tensor in network.state_dict().items()}
    try:
        with torch.no_grad():
            network.conv2.weight.mul_(2)
        changed = OutOfCoreActivations(tiny_wrapper, store=store, device='cpu')
        changed(stimuli, layers=['conv2'])
        assert changed.recorded == [(stimuli.identifier, ['conv2'])]
    finally:
        network.load_state_dict(saved)


def test_an_interrupt_leaves_no_scratch_and_no_entry(tiny_wrapper, world_subset, tmp_path, monkeypatch):
    stimuli, _ = world_subset
    monkeypatch.setenv(out_of_core.SCRATCH_ENV, str(tmp_path / 'scratch'))

    def interrupted(files, device):
        assert len(list((tmp_path / 'scratch').rglob('*.f32'))) == len(LAYERS)  # the layers were on disk
        raise KeyboardInterrupt

    monkeypatch.setattr(out_of_core, 'recorded_blocks', interrupted)
    store = ActivationStore(tmp_path / 'store')
    with pytest.raises(KeyboardInterrupt):
        OutOfCoreActivations(tiny_wrapper, store=store, device='cpu')(stimuli, layers=LAYERS)
    assert list((tmp_path / 'scratch').iterdir()) == [] and store.entries() == []


def test_nan_activations_name_the_layer_and_the_stimuli(tiny_wrapper, world_subset, tmp_path):
    stimuli, _ = world_subset
    network = tiny_wrapper._model
    saved = {name: tensor.clone() for name, tensor in network.state_dict().items()}
    try:
        with torch.no_grad():
            network.conv2.bias[0] = float('nan')
        with pytest.raises(ValueError, match=r"Layer 'conv2' gives NaN/inf activations for stimuli \['"):
            record_layers(tiny_wrapper, stimuli.iloc[:5], ['conv1', 'conv2'], tmp_path)
    finally:
        network.load_state_dict(saved)


def test_scratch_left_by_a_killed_process_is_removed(tmp_path):
    dead = tmp_path / 'nrp-record-999999999-abc'  # no such pid
    alive = tmp_path / f'nrp-record-{os.getpid()}-def'
    for folder in (dead, alive):
        folder.mkdir()
        (folder / 'layer0.f32').write_bytes(b'0' * 16)
    out_of_core.remove_stale_scratch(tmp_path)
    assert not dead.exists() and alive.exists()
