"""The mapping registry (nrp_plugin.mappings): what a mapping declares, how the metric fits the registered ones,
and a mapping added by a test reaching every table, statistic and plot of a comparison."""
import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from brainscore_core.metrics import Score

import helpers
from helpers import FAMILY, FakeBenchmark, fake_score
from nrp_plugin import mappings
from nrp_plugin.app import cli, compare, model_specs, report
from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import CrossValidatedMetric, _split_neuroid
from nrp_plugin.mappings import Mapping, MappingFit

make_assembly = functools.partial(neuroid_assembly, n_objects=32)


class TrainingMean(Mapping):
    """A toy mapping for the tests: each site's training mean, whatever the inputs."""
    name = 'toy_mean'
    title = 'Toy training mean'
    linear = True
    reads = 'inputs'
    description = "each site's mean over the training stimuli (a test mapping)"

    def fit(self, data):
        prediction = data.train_targets.mean(dim=1, keepdim=True).expand_as(data.test_targets)
        return MappingFit(prediction.clone(), [{} for _ in range(data.n_splits)])


@pytest.fixture
def toy_mapping():
    """The toy mapping registered for one test, and removed after it."""
    mappings.register(TrainingMean)
    yield TrainingMean
    mappings.unregister(TrainingMean.name)


def test_the_registry_lists_every_mapping_in_display_order_with_its_grouping():
    assert mappings.names() == ['pls', 'ridge', 'banded_ridge', 'least_squares', 'kernel_ridge', 'nrp']
    assert mappings.linear_names() == ['pls', 'ridge', 'banded_ridge', 'least_squares']
    for name, mapping in mappings.registered().items():
        assert mapping.name == name and mapping.title and mapping.reads in mappings.READS and mapping.description
    assert mappings.title('least_squares') == 'LSQ (NRP inputs)' and mappings.title('unknown') == 'unknown'


def test_bad_registrations_and_names_are_one_clear_error(toy_mapping):
    with pytest.raises(ValueError, match="No mapping named 'lasso'.*pls, ridge"):
        mappings.get('lasso')
    with pytest.raises(ValueError, match='is registered already'):
        mappings.register(type('Other', (TrainingMean,), {}))
    with pytest.raises(ValueError, match='sets no title'):
        mappings.register(type('Untitled', (Mapping,), {'name': 'untitled', 'linear': True, 'reads': 'inputs'}))
    with pytest.raises(ValueError, match="reads='pixels' must be one of"):
        mappings.register(type('Pixels', (Mapping,), {'name': 'p', 'title': 'P', 'linear': True, 'reads': 'pixels'}))
    with pytest.raises(ValueError, match="Unknown reference mapping.*'lasso'"):
        mappings.resolve_references('ridge, lasso')
    assert mappings.resolve_references('none') == () and mappings.resolve_references(['nrp', 'ridge']) == ('ridge',)
    assert mappings.resolve_references('all') == mappings.DEFAULT_REFERENCES


def test_a_registered_mapping_is_fitted_by_the_metric_on_the_same_splits(toy_mapping):
    """The toy predicts each site's training mean: its MAE is the metric's own mean-predictor MAE (computed
    independently from the targets), and the main mapping's figures are unchanged by the reference."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(320, 12))
    responses = features @ rng.normal(size=(12, 5)) + rng.normal(size=(320, 5))
    source, target = make_assembly(features, 'feature'), make_assembly(responses, 'site')
    alone = CrossValidatedMetric('least_squares', device='cpu')(source, target)
    score = CrossValidatedMetric('least_squares', references=['toy_mean'], device='cpu')(source, target)
    assert score.attrs['mappings'] == ['least_squares', 'toy_mean']
    assert score.attrs['toy_mean_mae'] == pytest.approx(score.attrs['mean_predictor_mae'], rel=1e-12)
    assert float(score) == float(alone) and score.attrs['toy_mean_raw'].shape == (10, 5)


def _with_toy(model, benchmark):
    """The fake NRP scores, reporting the toy mapping too (its per-split MAE 0.2 above the NRP's)."""
    score = fake_score(model, benchmark)
    if benchmark.endswith('-nrp'):
        raw = score.attrs['raw']
        toy = np.asarray(raw.attrs['raw'].values) + 0.2
        raw.attrs.update(toy_mean_mae=float(toy.mean()), toy_mean_mae_error=0.01, toy_mean_r2=0.0,
                         toy_mean_r2_error=0.0, toy_mean_pearson=0.1,
                         toy_mean_raw=_split_neuroid(toy, [f'n{i}' for i in range(toy.shape[1])]))
    return score


def test_a_registered_mapping_appears_in_the_tables_the_statistics_and_the_plots(toy_mapping, fakes, tmp_path,
                                                                                 monkeypatch):
    import matplotlib
    monkeypatch.setattr(FakeBenchmark, '__call__', lambda self, model: _with_toy(model.identifier, self.identifier))
    records = compare.run_compare(models=helpers.MODELS[:3], families=[FAMILY], cache_directory=tmp_path / 'cache',
                                  progress=False)
    legends = {}
    save = report._save

    def recording_save(fig, path):
        legends[path.name] = [text.get_text() for text in fig.findobj(matplotlib.text.Text)]
        save(fig, path)

    monkeypatch.setattr(report, '_save', recording_save)
    written = report.write_report(records, tmp_path / 'out')
    table = (tmp_path / 'out' / 'table.md').read_text()
    stats = (tmp_path / 'out' / 'stats.md').read_text()
    assert 'Toy training mean MAE' in table and "each site's mean over the training stimuli" in table
    assert '| NRP − Toy training mean |' in stats
    assert 'Toy training mean' in legends[f'{FAMILY}_mapping_x_measure.png']
    for row in written.rows:
        assert row['nrp_minus_toy_mean_mae'] == pytest.approx(-0.2)
        assert row['toy_mean_mae'] == pytest.approx(row['nrp_error'] + 0.2)
    assert 'toy_mean_mae' in (tmp_path / 'out' / 'table.csv').read_text().splitlines()[0].split(',')


def test_a_rerun_whose_scores_are_all_cached_builds_no_network(fakes, tmp_path, monkeypatch, capsys):
    """The first run builds each spec's network once (probed, then scored with the same network); the second, with
    every score cached, builds none: model identity comes from the spec and its file, not from a built network."""
    built = []
    build = model_specs._build

    def counting_build(spec):
        built.append(spec)
        return build(spec)

    def load_model(identifier):  # the real spec path up to the network, then the fake model
        fakes['model'].append(identifier)
        model_specs._built_and_layers(identifier)
        return helpers.FakeModel(identifier)

    monkeypatch.setattr(model_specs, '_build', counting_build)
    monkeypatch.setattr(compare, 'load_model', load_model)
    specs = ['torchvision:resnet18', f"{Path(__file__).resolve().parents[1] / 'examples' / 'my_net.py'}:build"]
    arguments = ['compare', '--models', *specs, '--benchmarks', FAMILY, '--out', str(tmp_path / 'out'), '--quiet',
                 '--cache-in-out']
    assert cli.main(arguments) == 0
    assert sorted(built) == sorted(specs)  # once per spec: the probe's network is the one scored
    assert '8 scores (8 computed' in capsys.readouterr().out
    built.clear()
    monkeypatch.setattr(model_specs, '_build', lambda spec: pytest.fail(f'{spec} was built on a cached rerun'))
    assert cli.main(arguments) == 0
    assert '8 scores (0 computed' in capsys.readouterr().out


def test_the_mapping_fits_keep_no_state_between_calls():
    """A mapping is built with its options and keeps nothing between fits: the same data give the same
    predictions twice (the registry holds classes, the metric builds the objects)."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(320, 8))
    responses = np.tanh(features @ rng.normal(size=(8, 3))) + 0.1 * rng.normal(size=(320, 3))
    source, target = make_assembly(features, 'feature'), make_assembly(responses, 'site')
    metric = CrossValidatedMetric('ridge', references=['least_squares'], device='cpu')
    first, second = metric(source, target), metric(source, target)
    assert isinstance(first, Score) and float(first) == float(second)
    assert first.attrs['least_squares_mae'] == second.attrs['least_squares_mae']
    assert torch.is_tensor(metric.fit(source, target)[1]['ridge'].prediction)
