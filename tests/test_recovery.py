"""nrp-plugin recovery: tiny networks whose answer is known (which model generated the responses, which two
candidates are the same network), and the request's bad inputs."""
import json

import numpy as np
import pytest

from nrp_plugin.app.cli import main

NETS = '''
import torch
from torch import nn

LAYERS = ['conv1', 'conv2', 'pool']


def _net(seed):
    torch.manual_seed(seed)
    net = nn.Sequential()
    net.add_module('conv1', nn.Conv2d(3, 8, 5, stride=4))
    net.add_module('relu1', nn.ReLU())
    net.add_module('conv2', nn.Conv2d(8, 16, 3, stride=2))
    net.add_module('relu2', nn.ReLU())
    net.add_module('pool', nn.AdaptiveAvgPool2d(2))
    return {'model': net, 'layers': LAYERS, 'image_size': 64}


def net_a():
    return _net(1)


def net_b():
    return _net(2)


def net_c():
    return _net(3)


def twin_of_a():  # the same weights as net_a
    return _net(1)


def echo():  # its last layer holds pool's values under another name
    torch.manual_seed(4)
    net = nn.Sequential()
    net.add_module('conv1', nn.Conv2d(3, 8, 5, stride=4))
    net.add_module('relu1', nn.ReLU())
    net.add_module('pool', nn.AdaptiveAvgPool2d(2))
    net.add_module('same', nn.Identity())
    return {'model': net, 'layers': ['conv1', 'pool', 'same'], 'image_size': 64}


def bad_layer():
    return {'model': nn.Sequential(nn.Conv2d(3, 4, 3)), 'layers': ['conv9']}
'''


@pytest.fixture(scope='module')
def nets(tmp_path_factory):
    path = tmp_path_factory.mktemp('recovery_nets') / 'nets.py'
    path.write_text(NETS)
    return {name: f'{path}:{name}' for name in ('net_a', 'net_b', 'net_c', 'twin_of_a', 'echo', 'bad_layer')}


@pytest.fixture(scope='module')
def noiseless_linear(nets):
    """Ridge on IT, noiseless linear truth: each generator's IT layer (pool, 64 units) spans its responses."""
    return _run(nets)


def _run(nets, noise_scale=0.0, names=('net_a', 'net_b', 'net_c', 'twin_of_a'), **kwargs):
    """Tiny networks (by default the four, net_a's twin among them), ridge, IT, linear truth, on a small world."""
    from nrp_plugin.app import recovery
    from nrp_plugin.synthetic.config import WorldConfig
    world = WorldConfig.preset('default', image_size=64, images_per_object=((3, 3), (6, 10)), n_v4=8, n_it=16)
    models = [nets[name] for name in names]
    return recovery.run_recovery(models, truths=('linear',), noise_scale=noise_scale, seeds=1, regions=('IT',),
                                 mappings_=('ridge',), world_config=world, log=lambda *_: None, **kwargs)


def _table(outcome):
    (table,) = outcome['tables']
    assert (table['mapping'], table['truth'], table['region']) == ('ridge', 'linear', 'IT')
    return table


def test_ridge_puts_every_generator_first_on_its_own_noiseless_linear_responses(noiseless_linear, nets):
    table = _table(noiseless_linear)
    models = table['models']
    matrix = np.asarray(table['matrix'])
    twins = {nets['net_a'], nets['twin_of_a']}
    for g, generator in enumerate(models):
        others = [c for c, candidate in enumerate(models) if candidate != generator
                  and not {generator, candidate} <= twins]  # an identical network is no impostor
        assert all(matrix[g, g] < matrix[g, c] for c in others), (generator, matrix[g])
    outcomes = {trial['generator']: trial for trial in table['trials']}
    for name in ('net_b', 'net_c'):  # no twin: strictly first
        assert outcomes[nets[name]]['outcome'] == 'recovered'
        assert outcomes[nets[name]]['rank'] == 1
        assert outcomes[nets[name]]['margin'] > 0


def test_identical_candidates_are_a_tie_not_a_recovery_or_a_failure(noiseless_linear, nets):
    table = _table(noiseless_linear)
    outcomes = {trial['generator']: trial for trial in table['trials']}
    for name in ('net_a', 'twin_of_a'):
        assert outcomes[nets[name]]['outcome'] == 'tie'
        assert outcomes[nets[name]]['rank'] == 1.5
    assert (table['recovered'], table['ties'], table['failed']) == (2, 2, 0)
    assert table['rate'] == 1.0  # ties are left out of the rate


def test_each_generator_chooses_its_own_generating_layer_on_its_noiseless_linear_responses(noiseless_linear):
    """Noiseless linear truth: a generator's responses are affine in its generating layer's components, which
    therefore predicts them best on the public images."""
    own = [result for result in noiseless_linear['results'] if result['candidate'] == result['generator']]
    assert len(own) == 4
    for result in own:
        generating = noiseless_linear['layers'][result['generator']]['IT']
        assert generating == 'pool'
        assert result['layer'] == generating, result['layer_scores']
        assert result['layer_scores'][generating] > 0.99


def test_a_layer_of_another_name_holding_the_generating_layers_values_counts_as_the_generators_own(nets,
                                                                                                     monkeypatch):
    """``echo`` generates IT from ``same``, an identity after ``pool``: the two layers hold the same values, so the
    layer choice scores them alike and takes the earlier, ``pool``, and what the generator reads is its own.
    (Only the layers are checked: no candidate is scored, and nothing is stored.)"""
    from nrp_plugin.app import recovery as app
    from nrp_plugin.app.recovery import layer_lines
    from nrp_plugin.validity import recovery
    rng = np.random.default_rng(0)
    monkeypatch.setattr(recovery, 'score_candidate', lambda *args, **kwargs: {'ridge': list(rng.random(10) + 1)})
    monkeypatch.setattr(app.ScoreStore, 'put', lambda *args: None)
    outcome = _run(nets, names=('net_b', 'net_c', 'echo'), reuse=False)
    assert outcome['layers'][nets['echo']]['IT'] == 'same'
    own = {result['generator']: result for result in outcome['results'] if result['candidate'] == result['generator']}
    echo = own[nets['echo']]
    assert echo['layer'] == 'pool'
    assert echo['layer_scores']['pool'] == echo['layer_scores']['same']
    assert echo['own_layer'] is True
    assert own[nets['net_b']]['own_layer'] is True  # pool, the generating layer by name too
    others = [result for result in outcome['results'] if result['candidate'] != result['generator']]
    assert others and all('own_layer' not in result for result in others)
    (line,) = [line for line in layer_lines(outcome) if line.startswith(f"| {nets['echo']} | IT |")]
    assert line.endswith('| 1 of 1 |')


def test_the_layer_choice_never_reads_a_scored_image(nets, noiseless_linear, monkeypatch):
    """Replace every scored (private) response by noise before anything runs: each candidate's chosen layer and its
    layer scores stay the same, only its mapping scores change."""
    from nrp_plugin.app import recovery
    real = recovery.target_assembly

    def noised(responses, *args, **kwargs):
        rng = np.random.default_rng(responses.shape)
        return real(rng.normal(size=responses.shape) * 50 + 7, *args, **kwargs)

    monkeypatch.setattr(recovery, 'target_assembly', noised)
    perturbed = _run(nets)
    for before, after in zip(noiseless_linear['results'], perturbed['results']):
        assert (before['generator'], before['candidate']) == (after['generator'], after['candidate'])
        assert (after['layer'], after['layer_scores']) == (before['layer'], before['layer_scores'])
        assert after['scores'] != before['scores']


def test_outputs_are_written_with_one_heatmap_per_table(noiseless_linear, tmp_path):
    from nrp_plugin.app.recovery import write_outputs
    written = write_outputs(noiseless_linear, tmp_path / 'out', command='test')
    names = sorted(path.name for path in written)
    assert names == sorted(['recovery.json', 'recovery.md', 'heatmap_ridge_linear_IT.png', 'recovery_rate.png'])
    payload = json.loads((tmp_path / 'out' / 'recovery.json').read_text())
    assert payload['tables'][0]['ties'] == 2
    # the summary's own score and margins are the matrix's diagonal and the trials' margins
    table = payload['tables'][0]
    (row,) = [line for line in (tmp_path / 'out' / 'recovery.md').read_text().splitlines()
              if line.startswith('| ridge | linear | IT |')]
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    margins = [trial['margin'] for trial in table['trials']]
    assert float(cells[9]) == pytest.approx(np.mean(np.diag(table['matrix'])), abs=5e-4)
    assert [float(value) for value in cells[10].split(',')] == pytest.approx([min(margins), np.median(margins)],
                                                                              abs=5e-4)
    assert '| ridge | linear | IT | 2 | 2 | 0 |' in (tmp_path / 'out' / 'recovery.md').read_text()


def _fails_with_one_line(capsys, tmp_path, argv, words):
    out = tmp_path / 'never'
    code = main(['recovery', *argv, '--out', str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith('nrp-plugin recovery: '), err
    assert all(word in err[0] for word in words), err[0]
    assert not out.exists()


def test_fewer_than_three_models_is_refused(capsys, tmp_path, nets):
    _fails_with_one_line(capsys, tmp_path, ['--models', nets['net_a'], nets['net_b']], ['at least 3'])


def test_a_generator_without_a_usable_layer_is_refused(capsys, tmp_path, nets):
    _fails_with_one_line(capsys, tmp_path, ['--models', nets['net_a'], nets['net_b'], nets['bad_layer']],
                         ['bad_layer', 'conv9'])


def test_an_unknown_registered_identifier_is_refused_before_any_work(capsys, tmp_path, nets):
    _fails_with_one_line(capsys, tmp_path, ['--models', nets['net_a'], nets['net_b'], 'alexnet_randm'],
                         ['alexnet_randm', 'alexnet_random'])


def test_an_unknown_truth_is_refused(capsys, tmp_path, nets):
    _fails_with_one_line(capsys, tmp_path, ['--models', nets['net_a'], nets['net_b'], nets['net_c'], '--truth',
                                            'sideways'], ['--truth', 'sideways'])


def test_a_negative_noise_scale_is_refused(capsys, tmp_path, nets):
    _fails_with_one_line(capsys, tmp_path, ['--models', nets['net_a'], nets['net_b'], nets['net_c'],
                                            '--noise-scale', '-1'], ['--noise-scale', '>= 0'])


@pytest.fixture
def scored(monkeypatch):
    """A list that grows by one for every candidate score computed (not taken from the store)."""
    from nrp_plugin.validity import recovery as rec
    real, calls = rec.score_candidate, []

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rec, 'score_candidate', counted)
    return calls


def test_a_rerun_takes_its_candidate_scores_from_the_store_and_recomputes_a_damaged_one(noiseless_linear, nets,
                                                                                        scored, monkeypatch,
                                                                                        tmp_path):
    monkeypatch.setenv('NRP_PLUGIN_HOME', str(tmp_path))
    expected = [r['scores'] for r in noiseless_linear['results']]
    assert [r['scores'] for r in _run(nets)['results']] == expected
    assert len(scored) == len(expected)
    assert [r['scores'] for r in _run(nets)['results']] == expected
    assert len(scored) == len(expected)  # nothing scored again
    damaged = sorted((tmp_path / 'recovery').glob('*.json'))[0]
    damaged.write_text(damaged.read_text()[:20])
    assert [r['scores'] for r in _run(nets)['results']] == expected
    assert len(scored) == len(expected) + 1
    _run(nets, reuse=False)
    assert len(scored) == 2 * len(expected) + 1


def test_other_responses_are_not_taken_from_the_store(noiseless_linear, nets, scored):
    _run(nets, noise_scale=0.5)
    assert len(scored) == len(noiseless_linear['results'])


def _exact_wilson_coverage(n, rate):
    """The probability that Wilson's interval from Binomial(n, rate) successes holds ``rate`` (summed exactly)."""
    from scipy.stats import binom
    from nrp_plugin.validity.recovery import wilson
    return sum(binom.pmf(k, n, rate) for k in range(n + 1) if wilson(k, n)[0] <= rate <= wilson(k, n)[1])


@pytest.mark.parametrize('n_generators', [3, 6])
def test_the_rate_interval_coverage_with_one_seed_is_the_exact_binomial_coverage(n_generators):
    from nrp_plugin.validity.recovery import rate_interval_coverage
    found = rate_interval_coverage(n_generators, 1)
    exact = [_exact_wilson_coverage(n_generators, rate) for rate in np.round(np.arange(0.05, 0.951, 0.05), 2)]
    assert found['mean'] == pytest.approx(np.mean(exact), abs=0.005)
    assert found['min'] == pytest.approx(min(exact), abs=0.02)


def test_generators_that_are_always_or_never_recovered_cover_as_one_trial_each():
    """icc 1: every seed repeats its generator's outcome, so the interval (one unit per generator) covers exactly as
    a binomial over the generators does, however many seeds."""
    from nrp_plugin.validity.recovery import rate_interval, wilson
    assert rate_interval([1.0, 1.0, 0.0, 1.0]) == wilson(3, 4)
    assert rate_interval([0.5, 0.5]) == wilson(1, 2)
    assert rate_interval([]) == (None, None)


def test_the_summary_states_each_rate_interval_with_its_measured_coverage(noiseless_linear):
    from nrp_plugin.app.recovery import markdown
    from nrp_plugin.validity.recovery import rate_interval_coverage
    table = _table(noiseless_linear)
    assert table['rate_units'] == 2  # net_a and its twin tie; net_b and net_c decide
    coverage = rate_interval_coverage(2, 1)
    assert table['rate_coverage'] == coverage
    assert f"{100 * coverage['min']:.1f}%, {100 * coverage['mean']:.1f}%" in markdown(noiseless_linear)


def test_the_relative_margin_is_the_lead_over_the_best_impostor_as_a_share_of_the_generators_score():
    from nrp_plugin.validity.recovery import recovery_tables, trial_outcome
    mae = {'g': [0.1] * 10, 'a': [0.15] * 10, 'b': [0.2] * 10}
    found = trial_outcome(mae, 'g', 'ridge')
    assert found['best_impostor'] == 'a'
    assert found['margin'] == pytest.approx(0.05) and found['relative_margin'] == pytest.approx(0.5)
    r = {'g': [0.8] * 10, 'a': [0.6] * 10, 'b': [0.7] * 10}
    found = trial_outcome(r, 'g', 'pls')
    assert found['best_impostor'] == 'b' and found['relative_margin'] == pytest.approx(0.125)
    assert trial_outcome({'g': [0.0] * 10, 'a': [0.1] * 10, 'b': [0.2] * 10}, 'g', 'ridge')['relative_margin'] is None
    results = [dict(generator=g, seed=0, truth='linear', region='IT', candidate=c,
                    scores={'ridge': [0.1 if g == c else 0.1 + 0.01 * (1 + i + j)] * 10})
               for i, g in enumerate('xyz') for j, c in enumerate('xyz')]
    (table,) = recovery_tables(results, list('xyz'))
    shares = [0.01 * (1 + i + j) / 0.1 for i in range(3) for j in range(3) if i != j]
    best_impostor_shares = [min(0.01 * (1 + i + j) / 0.1 for j in range(3) if j != i) for i in range(3)]
    assert table['relative_margin_min'] == pytest.approx(min(best_impostor_shares))
    assert table['relative_margin_median'] == pytest.approx(np.median(best_impostor_shares))
    assert min(shares) == pytest.approx(min(best_impostor_shares))
