"""The layer-choice criterion and the two ways a model without a region-layer map gets its layers."""
import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from helpers import assembly
from nrp_plugin.brainscore import layer_choice
from nrp_plugin.brainscore.splits import CrossValidationSpec, build_splits
from nrp_plugin.core.layer_scores import best_layers, loo_r2
from nrp_plugin.core.reduction import dense_components, group_slices
from nrp_plugin.core.ridge import RELATIVE_ALPHAS


def _brute_force_loo_r2(features, targets):
    """Refit scikit-learn's Ridge without each row, every penalty of the grid; per target the penalty with the
    lowest leave-one-out error; the median over targets of r(leave-one-out prediction, target)."""
    centred = features - features.mean(axis=0)
    eigenvalues = np.linalg.eigvalsh(centred @ centred.T)
    eigenvalues = eigenvalues[eigenvalues > eigenvalues.max() * 1e-10]
    scale = eigenvalues.mean()
    n = len(features)
    predictions = np.zeros((len(RELATIVE_ALPHAS), n, targets.shape[1]))
    for a, relative in enumerate(RELATIVE_ALPHAS):
        for row in range(n):
            keep = np.arange(n) != row
            model = Ridge(alpha=relative * scale).fit(features[keep], targets[keep])
            predictions[a, row] = model.predict(features[row:row + 1])[0]
    errors = ((predictions - targets[None]) ** 2).mean(axis=1)  # (alphas, targets)
    best = errors.argmin(axis=0)
    loo = predictions[best, :, np.arange(targets.shape[1])].T  # (n, targets)
    return float(np.median([r2_score(targets[:, t], loo[:, t]) for t in range(targets.shape[1])]))


@pytest.mark.parametrize('width', [6, 60])  # fewer and more features than rows
def test_loo_r2_equals_refitting_without_each_row(width):
    rng = np.random.default_rng(width)
    features = rng.normal(size=(30, width))
    targets = features[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(30, 4))
    train_scores, _, _ = dense_components(torch.as_tensor(features), torch.as_tensor(features[:0]))
    ours = loo_r2(train_scores, torch.as_tensor(targets))
    assert ours == pytest.approx(_brute_force_loo_r2(features, targets), abs=1e-8)


def test_loo_r2_does_not_reward_fitting_noise():
    """A wide layer of pure noise scores near zero, a narrow layer that carries the signal near its noise limit."""
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(200, 5))
    targets = signal @ rng.normal(size=(5, 8)) + 0.5 * rng.normal(size=(200, 8))
    noise, _, _ = dense_components(torch.as_tensor(rng.normal(size=(200, 150))), torch.zeros(0, 150))
    useful, _, _ = dense_components(torch.as_tensor(signal), torch.zeros(0, 5))
    assert abs(loo_r2(noise, torch.as_tensor(targets))) < 0.05
    assert loo_r2(useful, torch.as_tensor(targets)) > 0.8


@pytest.mark.parametrize('seed', range(4))
def test_the_float32_penalty_search_scores_and_chooses_layers_as_float64_does(seed):
    """Layers of several widths and spectra (white, power law, a few strong components), responses from one of
    them through a nonlinearity plus noise: the layer scores of the float32 search are float64's within 1e-6 and
    the chosen layer is the same."""
    rng = np.random.default_rng(seed)
    n = 200
    layers = [rng.normal(size=(n, 20)), rng.normal(size=(n, 300)) * np.geomspace(1, 1e-3, 300),
              rng.normal(size=(n, 80)) * np.r_[np.full(4, 10.0), np.full(76, 0.1)], rng.normal(size=(n, 500))]
    source = layers[seed % len(layers)]
    targets = np.tanh(source[:, :8] @ rng.normal(size=(8, 12)) / 3) + 0.3 * rng.normal(size=(n, 12))
    doubles, singles = [], []
    for features in layers:
        scores, _, _ = dense_components(torch.as_tensor(features), torch.zeros(0, features.shape[1]))
        doubles.append(loo_r2(scores, torch.as_tensor(targets), search_dtype=None))
        singles.append(loo_r2(scores, torch.as_tensor(targets), search_dtype=torch.float32))
    np.testing.assert_allclose(singles, doubles, rtol=0, atol=1e-6)
    assert best_layers([singles])[0] == best_layers([doubles])[0] == seed % len(layers)


def test_best_layers_skips_nan_and_breaks_ties_to_the_earlier_layer():
    scores = np.array([[0.2, 0.5, 0.5], [np.nan, 0.1, 0.0], [0.3, np.nan, 0.3]])
    np.testing.assert_array_equal(best_layers(scores), [1, 1, 0])


def test_window_is_the_layer_and_its_neighbours():
    layers = ['a', 'b', 'c', 'd']
    assert layer_choice.window(layers, 'a') == ['a', 'b']
    assert layer_choice.window(layers, 'c') == ['b', 'c', 'd']
    assert layer_choice.window(layers, 'd') == ['c', 'd']
    assert layer_choice.window(layers, 'x') == ['x']


def _layered_world(seed=0, n=320):
    """Three layers; the responses are a linear map of layer 'b' plus noise."""
    rng = np.random.default_rng(seed)
    layers = {name: rng.normal(size=(n, width)) for name, width in (('a', 40), ('b', 30), ('c', 200))}
    responses = layers['b'][:, :6] @ rng.normal(size=(6, 10)) + rng.normal(size=(n, 10))
    features = np.concatenate(list(layers.values()), axis=1)
    names = [name for name, values in layers.items() for _ in range(values.shape[1])]
    return (assembly(features, 'f', n_objects=16, layers=names), assembly(responses, 's', n_objects=16))


def test_layer_scores_rank_the_generating_layer_first():
    source, target = _layered_world()
    names, scores = layer_choice.layer_scores(source, target, [np.arange(320)])
    assert names == ['a', 'b', 'c']
    assert names[int(np.argmax(scores[0]))] == 'b' and scores[0, 1] > 0.5 and max(scores[0, 0], scores[0, 2]) < 0.05


def test_nested_choice_chooses_per_split_on_training_rows_only():
    source, target = _layered_world(1)
    windows = {'a': ('a', 'b'), 'b': ('a', 'b', 'c'), 'c': ('b', 'c')}
    choices = layer_choice.nested_choice(source, target, windows)
    splits = build_splits(target, CrossValidationSpec())
    assert len(choices) == len(splits) == 10
    for choice, (train, _) in zip(choices, splits):
        rows = np.flatnonzero(np.isin(target['stimulus_id'].values, train))
        names, scores = layer_choice.layer_scores(source, target, [rows])
        # the same scores up to the float32 penalty search's choice among penalties whose leave-one-out errors
        # agree to float32's precision (on the noise layer 'c', whose curve is flat at large penalties)
        assert choice['scores'] == pytest.approx(dict(zip(names, scores[0])), rel=0, abs=1e-6)
        assert choice['layer'] == 'b' and choice['layers'] == ['a', 'b', 'c']
    with pytest.raises(ValueError, match=r"lacks the candidate layers \['z'\]"):
        layer_choice.nested_choice(source, target, {'z': ('z',)})


def _gram_form(source, layer):
    """``source`` with ``layer`` replaced by its uncentred Gram matrix over the rows (the out-of-core recording's
    form), the other layers as features."""
    names = np.asarray(source['layer'].values)
    wide = source.values[:, names == layer].astype(np.float64)
    rest = source.values[:, names != layer].astype(np.float64)
    ids = list(source['stimulus_id'].values)
    n = len(ids)
    form = assembly(np.concatenate([wide @ wide.T, rest], axis=1), 'f', n_objects=16,
                    layers=[layer] * n + list(names[names != layer]))
    form['basis'] = 'neuroid', ['gram'] * n + ['unit'] * rest.shape[1]
    form['layer_width'] = 'neuroid', [wide.shape[1]] * n + [1] * rest.shape[1]
    form['kernel_stimulus_id'] = 'neuroid', ids + [''] * rest.shape[1]
    return form


def test_restrict_gives_the_layers_as_if_recorded_on_the_subset_alone():
    from nrp_plugin.brainscore.source_layers import input_blocks, restrict, source_groups
    source, _ = _layered_world(2)
    form = _gram_form(source, 'c')
    ids = list(np.random.default_rng(0).permutation(source['stimulus_id'].values)[:100])
    cut = restrict(form, ids, ['b', 'c'])
    assert list(cut['stimulus_id'].values) == ids
    groups = source_groups(cut)
    blocks = dict(zip([str(name) for name in group_slices(groups)[0]], input_blocks(cut, groups)))
    assert sorted(blocks) == ['b', 'c']
    rows = [list(source['stimulus_id'].values).index(value) for value in ids]
    names = np.asarray(source['layer'].values)
    c = source.values[rows][:, names == 'c']
    assert blocks['c'].kind == 'gram'
    np.testing.assert_allclose(blocks['c'].values, c @ c.T, rtol=1e-12)  # the Gram matrix of the subset alone
    np.testing.assert_array_equal(blocks['b'].values, source.values[rows][:, names == 'b'])
    with pytest.raises(ValueError, match='no row for stimuli'):
        restrict(form, ['nope'])
    with pytest.raises(ValueError, match=r"lacks the layers \['z'\]"):
        restrict(form, ids, ['z'])


@pytest.mark.parametrize('gram', [False, True])
def test_layer_scorer_chooses_as_layer_scores_does_on_every_selection_image(gram):
    source, target = _layered_world(3)
    if gram:
        source = _gram_form(source, 'c')
    scorer = layer_choice.LayerScorer(source)
    rng = np.random.default_rng(4)
    for responses in (target.values, rng.normal(size=target.shape),
                      source.values[:, np.asarray(source['layer'].values) == 'a'][:, :5] if not gram else
                      target.values[:, ::-1].copy()):
        replaced = assembly(np.asarray(responses, dtype=float), 's', n_objects=16)
        names, scores = layer_choice.layer_scores(source, replaced, [np.arange(320)])
        chosen, every = scorer.choose(responses)
        assert scorer.layers == names
        assert every == pytest.approx(dict(zip(names, scores[0])), rel=1e-10, abs=1e-12)
        assert chosen == names[int(best_layers(scores)[0])]
    assert scorer.choose(target.values)[0] == 'b'
    with pytest.raises(ValueError, match='response rows'):
        scorer.scores(target.values[:10])
