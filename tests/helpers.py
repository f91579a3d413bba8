"""Helpers shared by the tests: generated assemblies with a known ground truth, a few images of the
synthetic world and what a Brain-Score model records on them, a small network to score as a spec, and stand-ins
for models, benchmarks and scores."""
import numpy as np
from brainscore_core.metrics import Score

from nrp_plugin.app import checks
from nrp_plugin.brainscore.assemblies import neuroid_assembly
from nrp_plugin.brainscore.nrp_metric import _split_neuroid
from nrp_plugin.brainscore.synthetic_world import stimulus_rows


assembly = neuroid_assembly  # the library's helper, under the name the tests use


def world(kind, n=640, n_features=40, n_targets=20, noise=0.3, seed=0):
    """Features and responses from a known map: ``'linear'`` or ``'nonlinear'`` (rectified square)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features))
    weights = rng.normal(size=(n_features, n_targets)) / np.sqrt(n_features)
    drive = features @ weights
    signal = drive if kind == 'linear' else np.maximum(drive, 0) ** 2
    responses = signal + noise * rng.normal(size=signal.shape)
    return assembly(features, 'feature'), assembly(responses, 'site')


def stimulus_subset(world, access, n_images):
    """The first ``n_images`` of a synthetic world's ``access`` images as a new StimulusSet without an
    identifier, so Brain-Score caches no activations of it (for checks on a few images)."""
    stimuli = world.get_stimulus_set(access)
    return stimulus_rows(stimuli, np.arange(len(stimuli)) < n_images, None)


def recorded_features(model, stimuli, region):
    """What ``model`` records for ``region`` on ``stimuli`` through Brain-Score's ``start_recording`` and
    ``look_at``, as an array of shape (n_stimuli, n_features) in the stimulus set's row order."""
    model.start_recording(region, time_bins=[(70, 170)])
    activations = model.look_at(stimuli)
    if 'time_bin' in activations.dims:
        activations = activations.squeeze('time_bin')
    activations = activations.transpose('presentation', 'neuroid')
    row = {stimulus_id: index for index, stimulus_id in enumerate(activations['stimulus_id'].values)}
    return activations.values[[row[stimulus_id] for stimulus_id in stimuli['stimulus_id']]]


# A small network module to score as ``<file>:<function>`` specs: functions returning every form a spec may return,
# and networks with layers that never run or give no tensor (tests/test_model_specs.py and the recording tests).
TINY_NET = '''
from torch import nn


def build():
    net = nn.Sequential()
    net.add_module('conv1', nn.Conv2d(3, 8, 5, stride=4))
    net.add_module('relu1', nn.ReLU())
    net.add_module('conv2', nn.Conv2d(8, 16, 3, stride=2))
    net.add_module('pool', nn.AdaptiveAvgPool2d(4))
    return {'model': net, 'layers': LAYERS, 'image_size': 64}


LAYERS = ['conv1', 'conv2', 'pool']


def not_a_module():
    return 3


def bare():
    return nn.Conv2d(3, 4, 3)


def as_tuple():
    return nn.Sequential(nn.Conv2d(3, 4, 3)), ['0']


def bad_layer():
    return {'model': nn.Sequential(nn.Conv2d(3, 4, 3)), 'layers': ['conv9']}


def raises():
    raise RuntimeError('no GPU here')


class TrainingBranch(nn.Module):
    """An auxiliary head that runs only in training, like GoogLeNet's aux1 and aux2."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.aux = nn.Linear(4, 2)

    def forward(self, x):
        x = self.pool(self.conv(x)).flatten(1)
        return (x, self.aux(x)) if self.training else x


def with_unused_layer():
    return {'model': TrainingBranch(), 'layers': ['conv', 'aux'], 'image_size': 32}


def unused_layer_left_out():
    return {'model': TrainingBranch(), 'image_size': 32}


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x), -self.conv(x)


class PairThenHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.pair = Pair()
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a, b = self.pair(x)
        return self.head(a + b)


def tuple_layer():
    return {'model': PairThenHead(), 'layers': ['pair', 'head'], 'image_size': 16}


def tuple_left_out():
    return {'model': PairThenHead(), 'image_size': 16}


class NothingRuns(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return x.mean(dim=(2, 3))


def nothing_runs():
    return NothingRuns()


class IteratedBlocks(nn.Module):
    """A ModuleList the forward pass iterates (never called itself), like maxvit_t's blocks."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 3)])
        self.head = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def iterated_blocks():
    return {'model': IteratedBlocks(), 'image_size': 16}


def fails_on_probe():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2))
'''


# Stand-ins for models, benchmarks and their scores, for the comparison runner's tests (fixture ``fakes`` in
# conftest.py): every (model, benchmark) gets a distinct, known Score shaped as the real benchmarks return them.
MODELS = ['model_a', 'model_b', 'resnet50_untrained_pruned50', 'resnet50_untrained_pruned80']
FAMILY = 'FakeFamily'
REGISTERED = {'model_registry': set(MODELS) | {'cornet_s_untrained'},
              'benchmark_registry': set(checks.benchmark_identifiers([FAMILY])),
              'metric_registry': set(), 'data_registry': set()}


def _number(model, benchmark):
    """A deterministic, distinct number for every (model, benchmark)."""
    return (sum(map(ord, model)) * 7 + sum(map(ord, benchmark)) * 3) % 97 / 100 + 0.01


#: The fake models whose NRP scores also report the banded ridge and the kernel ridge (``banded_ridge_*``,
#: ``kernel_ridge_*``); the others' do not, as a metric from before these references.
REFERENCE_MODELS = ('model_b', 'resnet50_untrained_pruned80')
#: The banded ridge's per-split layer weights (mean over sites) and the kernel ridge's per-split bandwidths.
FAKE_LAYER_WEIGHTS = [[0.7, 0.3], [0.6, 0.4], [0.5, 0.5]]
FAKE_BANDWIDTHS = [1.0, 2.0, 4.0]


def reference_offsets(value):
    """Per-split offsets of the fake banded ridge and kernel ridge MAEs from the NRP's, for a score whose number is
    ``value``: the banded ridge's mean offset (0.06 + 0.01 (1 + value)) is below least squares' (0.1033) while its
    first split's (0.06 + 0.05 (1 + value)) is above least squares' (0.1), and the kernel ridge is below both."""
    banded = 0.06 + np.array([0.05, -0.04, 0.02]) * (1 + value)
    kernel = 0.02 + np.array([0.01, -0.01, 0.0])
    return banded, kernel


def _mapping_attrs(prefix, per_neuroid, r2, pearson):
    """A fake mapping's attrs as ``nrp_plugin.brainscore.nrp_metric.mapping_attrs`` names them."""
    return {f'{prefix}_mae': float(per_neuroid.mean()), f'{prefix}_mae_error': 0.003, f'{prefix}_r2': r2,
            f'{prefix}_r2_error': 0.02, f'{prefix}_pearson': pearson,
            f'{prefix}_raw': _split_neuroid(per_neuroid, [f'n{i}' for i in range(per_neuroid.shape[1])])}


#: Per ``(model, benchmark)``, the per-split x per-site values its fake score is built from instead
#: (:func:`site_score`'s keyword arguments: ``values``, and optionally ``ridge`` and ``neuroid_ids``); empty unless
#: a test fills it.
SITE_VALUES = {}


def site_score(benchmark, values, ridge=None, neuroid_ids=None):
    """A Score shaped as the real benchmarks return them, every figure computed from per-split x per-site values.

    ``-pls``: ``values`` is split x site Pearson r; the raw Score's ``raw`` lists the sites sorted by ``neuroid_id``
    (as the PLS metric does) and its value is the median over sites, mean over splits; the score is r² / 0.8.
    ``-nrp``: ``values`` is split x site NRP MAE and ``ridge`` (optional) the ridge's; ``raw`` and ``ridge_raw`` keep
    the sites in the given order (as the NRP metric keeps the target's), the NRP-error is the mean over sites, then
    over splits. ``neuroid_ids``: the sites' ids in the columns' order (``s000``, ``s001``, ... by default).
    """
    values = np.asarray(values, dtype=float)
    k, n_sites = values.shape
    ids = list(neuroid_ids) if neuroid_ids is not None else [f's{i:03d}' for i in range(n_sites)]
    if benchmark.endswith('-pls'):
        order = np.argsort(ids, kind='stable')
        per_split = np.nanmedian(values, axis=1)
        raw = Score(float(per_split.mean()))
        raw.attrs.update(error=Score(float(per_split.std() / np.sqrt(k))),
                         raw=_split_neuroid(values[:, order], [ids[i] for i in order]))
        score = Score(float(raw) ** 2 / 0.8)
        score.attrs.update(raw=raw, error=Score(0.02), ceiling=Score(0.8))
        return score
    per_split = values.mean(axis=1)
    raw = Score(float(per_split.mean()))
    raw.attrs.update(error=float(per_split.std() / np.sqrt(k)), pearson=0.4, mean_predictor_mae=1.5,
                     config={'hidden': 8}, split_nrp_error=[float(v) for v in per_split],
                     raw=_split_neuroid(values, ids))
    if ridge is not None:
        ridge = np.asarray(ridge, dtype=float)
        raw.attrs.update(ridge_mae=float(ridge.mean(axis=1).mean()), ridge_mae_error=0.003, ridge_r2=0.2,
                         ridge_r2_error=0.01, ridge_pearson=0.4, ridge_raw=_split_neuroid(ridge, ids))
    score = Score(min(1.0, max(0.0, (1.5 - float(raw)) / (1.5 - 0.3))))
    score.attrs.update(raw=raw, error=0.03, ceiling=Score(0.3), nrp_error=float(raw), nrp_error_sem=raw.attrs['error'])
    return score


def fake_score(model, benchmark):
    """A Score shaped as the real benchmarks return them; the NRP scores of :data:`REFERENCE_MODELS` also carry
    the banded ridge's and kernel ridge's attrs (:func:`reference_offsets`). A ``(model, benchmark)`` in
    :data:`SITE_VALUES` gets :func:`site_score` of its per-site values instead."""
    if (model, benchmark) in SITE_VALUES:
        return site_score(benchmark, **SITE_VALUES[(model, benchmark)])
    value = _number(model, benchmark)
    if benchmark.endswith('-pls'):
        raw = Score(value ** 0.5)
        raw.attrs['error'] = Score(0.01)
        score = Score(value)
        score.attrs.update(raw=raw, error=Score(0.02), ceiling=Score(0.8))
        return score
    splits_nrp = np.array([value, value + 0.02, value - 0.01])
    per_neuroid = np.tile(splits_nrp[:, None], (1, 4)) + np.array([-0.1, 0.1, -0.05, 0.05])
    linear = per_neuroid + 0.1 + np.array([0.0, 0.03, -0.02])[:, None]
    raw = Score(float(per_neuroid.mean()))
    raw.attrs.update(error=0.005, pearson=0.4 + value / 10, least_squares_mae=float(linear.mean()), least_squares_mae_error=0.004,
                     least_squares_r2=0.2, least_squares_r2_error=0.01, mean_predictor_mae=1.5, config={'hidden': 8},
                     split_nrp_error=[float(v) for v in per_neuroid.mean(axis=1)],
                     least_squares_raw=_split_neuroid(linear, [f'n{i}' for i in range(4)]),
                     raw=_split_neuroid(per_neuroid, [f'n{i}' for i in range(4)]))
    if model in REFERENCE_MODELS:
        banded, kernel = reference_offsets(value)
        raw.attrs.update(_mapping_attrs('banded_ridge', per_neuroid + banded[:, None], 0.25, 0.35 + value / 10),
                         banded_ridge_layer_weights=[list(w) for w in FAKE_LAYER_WEIGHTS])
        raw.attrs.update(_mapping_attrs('kernel_ridge', per_neuroid + kernel[:, None], 0.3, 0.38 + value / 10),
                         kernel_ridge_bandwidth=list(FAKE_BANDWIDTHS))
    score = Score(1 - value)
    score.attrs.update(raw=raw, error=0.03, ceiling=Score(0.3), nrp_error=float(raw), nrp_error_sem=0.005)
    return score


#: What the fake models' metadata say: one's measured sparsity, another's intended sparsity, and the group of
#: models each is drawn with in the sparsity plot.
METADATA = {'resnet50_untrained_pruned50': {'measured_sparsity': 0.5001, 'plot_family': 'ResNet50 (untrained)'},
            'resnet50_untrained_pruned80': {'sparsity': 0.8, 'plot_family': 'ResNet50 (untrained)'}}


class FakeModel:
    def __init__(self, identifier):
        self.identifier = identifier
        self.metadata = dict(METADATA.get(identifier, {}))


class FakeBenchmark:
    def __init__(self, identifier):
        self.identifier = identifier
        self.metric = None

    def __call__(self, model):
        return fake_score(model.identifier, self.identifier)


def spy_on_searches(monkeypatch, module):
    """Record the ``search_dtype`` of every :func:`nrp_plugin.core.ridge.eigen_ridge` call made through ``module``
    (a module that looks the function up by that name when it calls it); returns the list they are appended to."""
    from nrp_plugin.core import ridge
    seen, original = [], ridge.eigen_ridge

    def spy(*args, **kwargs):
        seen.append(kwargs.get('search_dtype', args[4] if len(args) > 4 else None))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, 'eigen_ridge', spy)
    return seen
