"""No mapping reads a split's test rows: perturbing them before anything is prepared leaves the split's fit as it was.

For each mapping, split ``s``'s test stimuli get new targets and half of them new features (in the features and
in the Gram-matrix form the out-of-core recording hands on). Split ``s``'s predictions of its other test stimuli,
and everything its fit chose (components kept, penalties, epochs, weights, configurations, layers), must be bit
for bit what they were. The other splits train on those stimuli, so they may change.
"""
import numpy as np
import pytest
import torch

from helpers import assembly
from nrp_plugin.brainscore.layer_choice import nested_choice
from nrp_plugin.brainscore.nrp_metric import (BandedRidgeErrorMetric, KernelRidgeErrorMetric, LeastSquaresErrorMetric,
                                              NRPErrorMetric, RidgeErrorMetric)
from nrp_plugin.brainscore.pls_metric import PLSTorchMetric
from nrp_plugin.brainscore.splits import CrossValidationSpec, build_splits
from nrp_plugin.core.kernels import gram_matrix
from nrp_plugin.search import SearchGrid

N_STIMULI, N_OBJECTS, WIDE, NARROW, N_SITES = 320, 16, 300, 40, 12
SHORT = dict(max_epochs=25, patience=8)


def _features(seed):
    rng = np.random.default_rng(seed)
    wide = np.maximum(rng.normal(size=(N_STIMULI, 20)) @ rng.normal(size=(20, WIDE)), 0) + 0.3
    narrow = rng.normal(size=(N_STIMULI, NARROW)) + 2.0
    return np.concatenate([wide, narrow], axis=1).astype(np.float32)


def _targets(features, seed):
    rng = np.random.default_rng(seed + 100)
    drive = (features - features.mean(axis=0)) @ rng.normal(size=(features.shape[1], N_SITES)) / 30
    return np.tanh(drive) + 0.2 * rng.normal(size=drive.shape)


LAYERS = ['wide'] * WIDE + ['narrow'] * NARROW


def _source(features, form):
    """The model's layers as features, or with the wide layer as its uncentred Gram matrix (the recording's form)."""
    if form == 'features':
        return assembly(features, 'f', n_objects=N_OBJECTS, layers=LAYERS)
    wide = gram_matrix(features[:, :WIDE], center=False, device='cpu').numpy()
    values = np.concatenate([wide, features[:, WIDE:].astype(np.float64)], axis=1)
    source = assembly(values, 'f', n_objects=N_OBJECTS, layers=['wide'] * N_STIMULI + ['narrow'] * NARROW)
    ids = source['stimulus_id'].values
    source['basis'] = 'neuroid', ['gram'] * N_STIMULI + ['unit'] * NARROW
    source['layer_width'] = 'neuroid', [WIDE] * N_STIMULI + [NARROW] * NARROW
    source['kernel_stimulus_id'] = 'neuroid', list(ids) + [''] * NARROW
    return source


WINDOWS = {'wide': ('wide', 'narrow'), 'narrow': ('wide', 'narrow')}


def _plain(value):
    """What a fit chose, as plain lists and numbers (arrays compared exactly)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return np.asarray(value).tolist()
    return value


def _state(metric, source, target, windows=None):
    """Each split's test ids, predictions and state: the components kept, the layers read and whatever the split's
    fit chose (epochs, mixture weights, penalties, layer weights, bandwidths, configurations)."""
    data, prediction, splits = metric.split_predictions(source, target, windows)
    state = [dict(kept=data.kept[:, s].tolist(), fit=_plain(splits[s]),
                  layers=None if data.layer_choice is None else data.layer_choice[s]) for s in range(data.n_splits)]
    return data.test_ids, prediction.numpy(), state


def _nrp(windows=None, **kwargs):
    metric = NRPErrorMetric(device='cpu', config=SHORT, crossvalidation_kwargs=dict(stratification_coord='object_name'),
                            **kwargs)
    return lambda source, target: _state(metric, source, target, windows)


def _reference(cls):
    metric = cls(device='cpu')
    return lambda source, target: _state(metric, source, target)


def _pls(source, target):
    aligned, indices, predictions = PLSTorchMetric(device='cpu', n_components=10).split_predictions(source, target)
    ids = np.asarray(aligned['stimulus_id'].values)
    return [ids[test] for _, test in indices], [p.numpy() for p in predictions], [{} for _ in indices]


def _layer_choice(source, target):
    """The choice of layers inside each split (no predictions: what it chose is the state)."""
    choices = nested_choice(source, target, {'wide': ('wide',), 'narrow': ('narrow',)})
    splits = build_splits(target, CrossValidationSpec())
    return [test for _, test in splits], [np.zeros((len(test), 0)) for _, test in splits], choices


MAPPINGS = {
    'nrp': _nrp(),
    'layer_choice': _layer_choice,
    'nrp_layers_in_each_split': _nrp(windows=WINDOWS),
    'nrp_ridge': _reference(RidgeErrorMetric),
    'nrp_least_squares': _reference(LeastSquaresErrorMetric),
    'nrp_banded_ridge': _reference(BandedRidgeErrorMetric),
    'nrp_kernel_ridge': _reference(KernelRidgeErrorMetric),
    'pls_torch': _pls,
    'search': _nrp(search=SearchGrid(l1_sizes=(16, 32), l2_sizes=(16,), learning_rates=(3e-3,))),
}


def _perturbed(features, targets, test_ids, seed):
    """New targets for every test stimulus of the split, new features for half of them; the untouched half."""
    rng = np.random.default_rng(seed)
    ids = np.asarray([f'stim{i:04d}' for i in range(N_STIMULI)])
    rows = np.flatnonzero(np.isin(ids, test_ids))
    changed = rng.permutation(rows)[:len(rows) // 2]
    features, targets = features.copy(), targets.copy()
    targets[rows] = rng.normal(size=(len(rows), N_SITES)) * 5
    features[changed] = (rng.normal(size=(len(changed), features.shape[1])) * 7 + 1).astype(np.float32)
    return features, targets, np.setdiff1d(ids[rows], ids[changed])


def _check_split(mapping, form, split, seed):
    features = _features(seed)
    targets = _targets(features, seed)
    run = MAPPINGS[mapping]
    target = assembly(targets, 's', n_objects=N_OBJECTS)
    test_ids, before, state = run(_source(features, form), target)
    new_features, new_targets, untouched = _perturbed(features, targets, test_ids[split], seed + split)
    test_ids_after, after, state_after = run(_source(new_features, form), assembly(new_targets, 's', n_objects=N_OBJECTS))
    assert np.array_equal(test_ids[split], test_ids_after[split])  # the splits do not depend on any value
    keep = np.isin(np.asarray(test_ids[split]), untouched)
    assert keep.sum() >= 2
    assert state_after[split] == state[split], f'{mapping}: split {split} chose differently'
    np.testing.assert_array_equal(np.asarray(after[split])[keep], np.asarray(before[split])[keep],
                                  err_msg=f'{mapping}: split {split} predicts its untouched test rows differently')
    # the perturbation reached the data: the other splits, which train on these stimuli, moved
    others = [s for s in range(len(before)) if s != split]
    moved = [not np.array_equal(np.asarray(after[s]), np.asarray(before[s])) or state_after[s] != state[s]
             for s in others]
    assert any(moved)


@pytest.mark.parametrize('mapping', ['nrp_ridge', 'nrp_least_squares', 'pls_torch'])
@pytest.mark.parametrize('form', ['features', 'gram'])
def test_linear_references_never_read_a_splits_test_rows(mapping, form):
    _check_split(mapping, form, 7, 1)


def test_nrp_never_reads_a_splits_test_rows():
    _check_split('nrp', 'features', 3, 0)


@pytest.mark.parametrize('form', ['features', 'gram'])
def test_the_layer_choice_never_reads_a_splits_test_rows(form):
    _check_split('layer_choice', form, 2, 0)


@pytest.mark.slow  # every mapping, several splits and seeds, the NRP and the nested search trained twice each
@pytest.mark.parametrize('mapping', sorted(MAPPINGS))
@pytest.mark.parametrize('form', ['features', 'gram'])
def test_no_mapping_reads_a_splits_test_rows(mapping, form):
    # what trains networks is the costliest to fit twice: fewer splits and seeds
    if mapping in ('nrp', 'nrp_layers_in_each_split', 'search'):
        checks = ((0, 0), (9, 2))
    else:
        checks = ((0, 0), (5, 1), (9, 2))
    for split, seed in checks:
        _check_split(mapping, form, split, seed)


def test_the_splits_depend_on_no_value():
    """Brain-Score's splits come from stimulus ids and object names alone."""
    features = _features(0)
    first = build_splits(assembly(_targets(features, 0), 's', n_objects=N_OBJECTS), CrossValidationSpec())
    second = build_splits(assembly(_targets(features, 5) * 10, 's', n_objects=N_OBJECTS), CrossValidationSpec())
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, second))
