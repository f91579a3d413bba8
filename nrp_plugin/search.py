"""Nested grid search over the NRP's input layers, layer sizes and learning rate.

Anand, Sen & Roy (2021) choose the NRP's input layers, NRP-L1/NRP-L2 sizes and learning rate by grid
search (their Fig. 3A shows the error against the L1/L2 sizes). Here the search is nested inside the
cross-validation so that it never sees a test image: for every outer split,

1. an inner validation part (``inner_validation_fraction`` of the outer training stimuli, drawn with
   a seed fixed per split) is carved from the outer *training* rows only;
2. every grid configuration is trained on the rest of the outer training rows and its mean absolute
   error (MAE, in the targets' units, mean over neuroids) is measured on the inner validation part;
3. the configuration with the lowest inner-validation MAE is retrained on all outer training rows and
   evaluated on the outer test rows, exactly as the plain metric evaluates its fixed configuration.

All outer splits of one configuration train together as one batch (:func:`nrp_plugin.network.train`).
A layer subset keeps the columns of the chosen groups of the prepared inputs; those were reduced with
a PCA fitted on each split's outer training rows only, so the subset selection adds no leak.

Use it through the metric, ``NRPErrorMetric(search=SearchGrid.default())``, or on prepared data with
:func:`score_with_search`; :func:`write_report` writes the validation table and the L1 x L2 heat-map.
"""
import csv
import itertools
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from . import network, scoring

DEFAULT_L1_SIZES = (32, 128, 512)
DEFAULT_L2_SIZES = (0, 32, 128, 512)
DEFAULT_LEARNING_RATES = (1e-3, 3e-3)
DEFAULT_MAX_SUBSET_SIZE = 3
DEFAULT_INNER_VALIDATION_FRACTION = 0.2


def _positive_ints(name, values, allow_zero=False):
    values = tuple(values) if isinstance(values, (list, tuple)) else None
    if not values:
        raise ValueError(f"SearchGrid.{name} must be a non-empty list of integers, got {values!r}.")
    lowest = 0 if allow_zero else 1
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
            kind = 'non-negative' if allow_zero else 'positive'
            raise ValueError(f"SearchGrid.{name} must hold {kind} integers; {value!r} is not.")
    if len(set(values)) != len(values):
        raise ValueError(f"SearchGrid.{name} has repeated values: {list(values)}.")
    return tuple(int(value) for value in values)


@dataclass(frozen=True)
class SearchGrid:
    """The configurations the nested search tries.

    Attributes
    ----------
    layer_subsets : None or tuple of tuple of str
        Input layers (groups of the source's ``layer`` coordinate) per candidate. ``None``: every
        non-empty subset of the source's layers with at most ``max_subset_size`` layers. A source
        without a ``layer`` coordinate has one group and one candidate (all columns).
    l1_sizes : tuple of int
        Units per NRP-L1 block.
    l2_sizes : tuple of int
        Units of NRP-L2; ``0`` drops NRP-L2 (one hidden layer).
    learning_rates : tuple of float
    inner_validation_fraction : float
        Share of each split's outer training stimuli held out to compare configurations.
    max_subset_size : int
        Largest layer subset generated when ``layer_subsets`` is ``None``.
    """
    layer_subsets: tuple = None
    l1_sizes: tuple = DEFAULT_L1_SIZES
    l2_sizes: tuple = DEFAULT_L2_SIZES
    learning_rates: tuple = DEFAULT_LEARNING_RATES
    inner_validation_fraction: float = DEFAULT_INNER_VALIDATION_FRACTION
    max_subset_size: int = DEFAULT_MAX_SUBSET_SIZE

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        if self.layer_subsets is not None:
            if isinstance(self.layer_subsets, str) or not isinstance(self.layer_subsets, (list, tuple)) \
                    or not self.layer_subsets:
                raise ValueError(f"SearchGrid.layer_subsets must be null or a non-empty list of lists of "
                                 f"layer names, got {self.layer_subsets!r}.")
            subsets = []
            for subset in self.layer_subsets:
                if isinstance(subset, str) or not isinstance(subset, (list, tuple)) or not subset \
                        or not all(isinstance(name, str) for name in subset):
                    raise ValueError(f"SearchGrid.layer_subsets: every entry must be a non-empty list of layer "
                                     f"names, {subset!r} is not.")
                if len(set(subset)) != len(subset):
                    raise ValueError(f"SearchGrid.layer_subsets: {list(subset)} repeats a layer.")
                subsets.append(tuple(subset))
            set_('layer_subsets', tuple(subsets))
        set_('l1_sizes', _positive_ints('l1_sizes', self.l1_sizes))
        set_('l2_sizes', _positive_ints('l2_sizes', self.l2_sizes, allow_zero=True))
        rates = self.learning_rates
        if not isinstance(rates, (list, tuple)) or not rates:
            raise ValueError(f"SearchGrid.learning_rates must be a non-empty list of numbers, got {rates!r}.")
        for rate in rates:
            if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                    or not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"SearchGrid.learning_rates must hold finite numbers > 0; {rate!r} is not.")
        set_('learning_rates', tuple(float(rate) for rate in rates))
        fraction = self.inner_validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (0 < fraction < 1):
            raise ValueError(f"SearchGrid.inner_validation_fraction={fraction!r} must lie in (0, 1).")
        size = self.max_subset_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"SearchGrid.max_subset_size={size!r} must be a positive integer.")

    @classmethod
    def default(cls):
        """The default grid: every subset of up to 3 layers x L1 (32, 128, 512) x L2 (0, 32, 128, 512)
        x learning rate (1e-3, 3e-3), inner validation 20% of each split's training stimuli."""
        return cls()

    @classmethod
    def from_dict(cls, values):
        if not isinstance(values, dict):
            raise ValueError(f"A search grid must be a JSON object, got {type(values).__name__}.")
        known = {'layer_subsets', 'l1_sizes', 'l2_sizes', 'learning_rates', 'inner_validation_fraction',
                 'max_subset_size'}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown search grid field(s) {sorted(unknown)}; accepted: {sorted(known)}.")
        return cls(**values)

    @classmethod
    def from_json(cls, path):
        """Read a grid from a JSON file; fields left out keep their defaults."""
        try:
            values = json.loads(Path(path).read_text(encoding='utf-8'))
        except json.JSONDecodeError as error:
            raise ValueError(f"Search grid {path} is not valid JSON: {error}") from None
        return cls.from_dict(values)

    @classmethod
    def coerce(cls, value):
        """A SearchGrid from a SearchGrid, ``True`` (the default grid), a dict or a JSON file path."""
        if isinstance(value, cls):
            return value
        if value is True:
            return cls.default()
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, (str, Path)):
            return cls.from_json(value)
        raise ValueError(f"search={value!r} must be a SearchGrid, True, a dict or a path to a JSON grid.")

    def to_dict(self):
        values = asdict(self)
        if self.layer_subsets is not None:
            values['layer_subsets'] = [list(subset) for subset in self.layer_subsets]
        for name in ('l1_sizes', 'l2_sizes', 'learning_rates'):
            values[name] = list(values[name])
        return values

    def subsets_for(self, group_names):
        """The layer subsets to try for a source whose groups are ``group_names`` (tuples of names)."""
        names = [None if name is None else str(name) for name in group_names]
        if names == [None]:
            if self.layer_subsets is not None:
                raise ValueError("SearchGrid.layer_subsets is set but the source has no 'layer' coordinate "
                                 "(one input group); leave layer_subsets null.")
            return [(None,)]
        if self.layer_subsets is None:
            return [subset for size in range(1, min(self.max_subset_size, len(names)) + 1)
                    for subset in itertools.combinations(names, size)]
        for subset in self.layer_subsets:
            missing = [name for name in subset if name not in names]
            if missing:
                raise ValueError(f"SearchGrid.layer_subsets names unknown layer(s) {missing}; "
                                 f"the source's layers are {names}.")
        order = {name: i for i, name in enumerate(names)}
        return [tuple(sorted(subset, key=order.get)) for subset in self.layer_subsets]

    def configurations(self, group_names):
        """Every candidate as ``(layers, l1_size, l2_size, learning_rate)``."""
        return list(itertools.product(self.subsets_for(group_names), self.l1_sizes, self.l2_sizes,
                                      self.learning_rates))


def inner_seed(random_state, split):
    """Seed of one split's inner validation carve-out and inner networks (fixed per split)."""
    return int(np.random.SeedSequence([int(random_state), int(split), 7919]).generate_state(1)[0])


def _columns(group_names, group_sizes, layers):
    """Column indices of ``layers`` in the prepared inputs, and each chosen group's width."""
    names = [None if name is None else str(name) for name in group_names]
    offsets = np.concatenate([[0], np.cumsum(group_sizes)]).astype(int)
    columns, sizes = [], []
    for name in layers:
        index = names.index(name)
        columns.append(np.arange(offsets[index], offsets[index + 1]))
        sizes.append(int(group_sizes[index]))
    return torch.as_tensor(np.concatenate(columns)), sizes


def _config(base, l1, l2, rate):
    return replace(base, l1_size=int(l1), l2_size=int(l2), learning_rate=float(rate))


def _fit_predict(train_x, train_y, test_x, sizes, config, seeds, device):
    """Train on (S, n, d) inputs with standardised targets; predictions in the targets' units."""
    mean = train_y.mean(dim=1, keepdim=True)
    std = train_y.std(dim=1, unbiased=False, keepdim=True).clamp(min=1e-12)
    params, mask, info = network.train(train_x, (train_y - mean) / std, sizes, config, seeds, device)
    prediction = network.predict(params, mask, test_x, device).double().cpu()
    return prediction * std.cpu() + mean.cpu(), info


def _take(tensor, rows):
    return torch.stack([tensor[s][torch.as_tensor(r, dtype=torch.long, device=tensor.device)]
                        for s, r in enumerate(rows)])


def select_configurations(pool_inputs, pool_targets, train_rows, group_names, group_sizes, grid, base_config,
                          random_state=0, device='cpu', progress=None):
    """Choose one configuration per outer split using only that split's outer training rows.

    Parameters
    ----------
    pool_inputs : Tensor, shape (S, n_pool, n_inputs)
        Prepared inputs of split ``s``'s stimuli (the rows given in ``train_rows[s]`` are its outer
        training stimuli; any other row is never read).
    pool_targets : Tensor, shape (S, n_pool, n_targets)
    train_rows : list of S int arrays, all of one length
        Rows of the pool that are split ``s``'s outer training stimuli.
    group_names, group_sizes : as in :class:`nrp_plugin.metrics.CrossValidatedData`
    grid : SearchGrid
    base_config : NRPConfig
        Everything but ``l1_size``, ``l2_size`` and ``learning_rate`` is taken from it.

    Returns
    -------
    choices : list of S dicts
        ``layers``, ``l1_size``, ``l2_size``, ``learning_rate``, ``validation_mae``.
    table : list of dicts, one per configuration
        ``layers``, ``l1_size``, ``l2_size``, ``learning_rate``, ``validation_mae`` (mean over splits),
        ``split_validation_mae`` (per split), ``best_epoch`` (per split).
    """
    n_splits = pool_inputs.shape[0]
    rows = [np.asarray(r, dtype=int) for r in train_rows]
    if len(rows) != n_splits or len({len(r) for r in rows}) != 1:
        raise ValueError("train_rows needs one index array per split, all of the same length.")
    n_train = len(rows[0])
    n_validation = max(1, int(round(grid.inner_validation_fraction * n_train)))
    if n_train - n_validation < 4:
        raise ValueError(f"{n_train} training stimuli are too few for an inner validation part of "
                         f"{grid.inner_validation_fraction}.")
    fit_rows, validation_rows, seeds = [], [], []
    for split, r in enumerate(rows):
        seed = inner_seed(random_state, split)
        order = np.random.default_rng(seed).permutation(n_train)
        validation_rows.append(r[order[:n_validation]])
        fit_rows.append(r[order[n_validation:]])
        seeds.append(seed)
    fit_x, fit_y = _take(pool_inputs, fit_rows), _take(pool_targets, fit_rows)
    val_x, val_y = _take(pool_inputs, validation_rows), _take(pool_targets, validation_rows).cpu()
    table = []
    configurations = grid.configurations(group_names)
    for index, (layers, l1, l2, rate) in enumerate(configurations):
        columns, sizes = (None, list(group_sizes)) if layers == (None,) else _columns(group_names, group_sizes, layers)
        select = (lambda t: t) if columns is None else (lambda t: t[..., columns.to(t.device)])
        config = _config(base_config, l1, l2, rate)
        prediction, info = _fit_predict(select(fit_x), fit_y, select(val_x), sizes, config, seeds, device)
        per_split = scoring.mae(prediction, val_y.double()).mean(dim=1).numpy()
        table.append(dict(layers=[str(name) for name in layers if name is not None], l1_size=int(l1),
                          l2_size=int(l2), learning_rate=float(rate), validation_mae=float(per_split.mean()),
                          split_validation_mae=[float(v) for v in per_split],
                          best_epoch=[int(e) for e in info['best_epoch']]))
        if progress is not None:
            progress(index + 1, len(configurations), table[-1])
    choices = []
    for split in range(n_splits):
        best = min(table, key=lambda row: row['split_validation_mae'][split])
        choices.append(dict(layers=list(best['layers']), l1_size=best['l1_size'], l2_size=best['l2_size'],
                            learning_rate=best['learning_rate'],
                            validation_mae=best['split_validation_mae'][split]))
    return choices, table


def _choice_key(choice):
    return tuple(choice['layers']), choice['l1_size'], choice['l2_size'], choice['learning_rate']


def fit_chosen(data, choices, base_config, random_state, device):
    """Retrain each split's chosen configuration on all its outer training rows; test predictions.

    Splits that chose the same configuration train as one batch. Each split's network is seeded with
    :func:`nrp_plugin.metrics.split_seed`, as in the plain metric.
    """
    from .metrics import split_seed
    prediction = torch.zeros(data.test_targets.shape, dtype=torch.float64)
    best_epoch = np.zeros(data.n_splits, dtype=int)
    groups = {}
    for split, choice in enumerate(choices):
        groups.setdefault(_choice_key(choice), []).append(split)
    for (layers, l1, l2, rate), splits in groups.items():
        index = torch.as_tensor(splits)
        layers = layers or (None,)
        columns, sizes = (None, list(data.group_sizes)) if layers == (None,) else \
            _columns(data.group_names, data.group_sizes, layers)
        select = (lambda t: t) if columns is None else (lambda t: t[..., columns.to(t.device)])
        pick = lambda t: t[index.to(t.device)]
        seeds = [split_seed(random_state, split) for split in splits]
        predicted, info = _fit_predict(select(pick(data.train_inputs)), pick(data.train_targets),
                                       select(pick(data.test_inputs)), sizes, _config(base_config, l1, l2, rate),
                                       seeds, device)
        prediction[index] = predicted
        best_epoch[splits] = info['best_epoch']
    return prediction.to(data.test_targets.device), best_epoch


def nested_search(data, grid, base_config, random_state=0, device='cpu', progress=None):
    """Run the nested search on prepared data (:class:`nrp_plugin.metrics.CrossValidatedData`).

    The inner search is given, per split, a pool of that split's stimuli (outer training rows first,
    then outer test rows) and the indices of the outer training rows only.

    Returns
    -------
    prediction : Tensor, shape (S, n_test, n_targets), float64
    choices, table : see :func:`select_configurations`
    best_epoch : ndarray, shape (S,)
    """
    grid = SearchGrid.coerce(grid)
    pool_inputs = torch.cat([data.train_inputs, data.test_inputs], dim=1)
    pool_targets = torch.cat([data.train_targets, data.test_targets], dim=1)
    n_train = data.train_inputs.shape[1]
    train_rows = [np.arange(n_train) for _ in range(data.n_splits)]
    choices, table = select_configurations(pool_inputs, pool_targets, train_rows, data.group_names,
                                           data.group_sizes, grid, base_config, random_state, device, progress)
    prediction, best_epoch = fit_chosen(data, choices, base_config, random_state, device)
    return prediction, choices, table, best_epoch


def score_with_search(metric, data, config=None):
    """The Score of :class:`nrp_plugin.metrics.NRPErrorMetric` with its ``search`` grid, on prepared data.

    Same attrs as the plain metric; ``config`` is the configuration chosen in most splits and
    ``layers`` its input layers; in addition ``search_choices`` (per split), ``search_table`` (validation
    MAE per configuration), ``search_grid`` and ``search_config_per_split``.
    """
    from .device import resolve_device
    base = config or metric.config
    grid = SearchGrid.coerce(metric.search)
    device = resolve_device(metric.device)
    prediction, choices, table, best_epoch = nested_search(data, grid, base, metric.random_state, device)
    modal = Counter(_choice_key(choice) for choice in choices).most_common(1)[0][0]
    score = metric.package(data, prediction, _config(base, *modal[1:]), list(modal[0]), best_epoch)
    score.attrs['search_choices'] = choices
    score.attrs['search_table'] = table
    score.attrs['search_grid'] = grid.to_dict()
    score.attrs['search_config_per_split'] = [_config(base, c['l1_size'], c['l2_size'], c['learning_rate']).to_dict()
                                              for c in choices]
    return score


# --------------------------------------------------------------------------------------------- report
def depth_comparison(table):
    """Best mean inner-validation MAE with one hidden layer (``l2_size == 0``) and with two (> 0)."""
    one = [row for row in table if row['l2_size'] == 0]
    two = [row for row in table if row['l2_size'] > 0]
    best = lambda rows: min(rows, key=lambda row: row['validation_mae']) if rows else None
    return dict(one_hidden_layer=best(one), two_hidden_layers=best(two))


def l1_l2_matrix(table):
    """Validation MAE over (L1, L2): the best over layer subsets and learning rates of each cell.

    Returns ``(l1_sizes, l2_sizes, matrix)`` with ``matrix[i, j]`` for ``l1_sizes[i]``, ``l2_sizes[j]``.
    """
    l1_sizes = sorted({row['l1_size'] for row in table})
    l2_sizes = sorted({row['l2_size'] for row in table})
    matrix = np.full((len(l1_sizes), len(l2_sizes)), np.nan)
    for row in table:
        i, j = l1_sizes.index(row['l1_size']), l2_sizes.index(row['l2_size'])
        matrix[i, j] = np.nanmin([matrix[i, j], row['validation_mae']])
    return l1_sizes, l2_sizes, matrix


def write_report(score, directory, title='NRP grid search'):
    """Write the search's report for a Score from :func:`score_with_search`.

    Files: ``search_table.csv`` and ``search_table.md`` (inner-validation MAE per configuration, mean over
    splits, sorted best first), ``search_heatmap.png`` (validation MAE over L1 x L2, as the paper's
    Fig. 3A), ``search_summary.json`` (choices per split, depth comparison, test score). Returns the paths.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = sorted(score.attrs['search_table'], key=lambda row: row['validation_mae'])
    choices = score.attrs['search_choices']
    counts = Counter(_choice_key(choice) for choice in choices)
    paths = {}
    paths['csv'] = directory / 'search_table.csv'
    with open(paths['csv'], 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['layers', 'l1_size', 'l2_size', 'learning_rate', 'validation_mae',
                         'validation_mae_sem', 'chosen_in_splits', 'mean_best_epoch'])
        for row in table:
            values = np.asarray(row['split_validation_mae'])
            writer.writerow(['+'.join(row['layers']) or 'all', row['l1_size'], row['l2_size'], row['learning_rate'],
                             f"{row['validation_mae']:.6g}", f"{values.std() / np.sqrt(len(values)):.3g}",
                             counts.get(_choice_key(row), 0), f"{np.mean(row['best_epoch']):.1f}"])
    depth = depth_comparison(table)
    lines = [f'# {title}', '', f"Test NRP-error with the nested search: {float(score):.4f} "
             f"(SEM {score.attrs['error']:.4f}) over {len(choices)} splits.", '',
             '## Chosen configuration per split', '', '| split | layers | L1 | L2 | lr | inner-val MAE |',
             '|---|---|---|---|---|---|']
    for split, choice in enumerate(choices):
        lines.append(f"| {split} | {'+'.join(choice['layers']) or 'all'} | {choice['l1_size']} | "
                     f"{choice['l2_size']} | {choice['learning_rate']:g} | {choice['validation_mae']:.4f} |")
    lines += ['', '## One vs two hidden layers (best inner-validation MAE, mean over splits)', '']
    for label, key in (('one hidden layer (L2 = 0)', 'one_hidden_layer'), ('two hidden layers (L2 > 0)',
                                                                            'two_hidden_layers')):
        row = depth[key]
        lines.append(f"- {label}: " + ('not in the grid' if row is None else
                     f"{row['validation_mae']:.4f} ({'+'.join(row['layers']) or 'all'}, L1 {row['l1_size']}, "
                     f"L2 {row['l2_size']}, lr {row['learning_rate']:g})"))
    lines += ['', '## Inner-validation MAE per configuration (mean over splits, best first)', '',
              '| layers | L1 | L2 | lr | validation MAE | chosen in splits |', '|---|---|---|---|---|---|']
    for row in table:
        lines.append(f"| {'+'.join(row['layers']) or 'all'} | {row['l1_size']} | {row['l2_size']} | "
                     f"{row['learning_rate']:g} | {row['validation_mae']:.4f} | {counts.get(_choice_key(row), 0)} |")
    paths['markdown'] = directory / 'search_table.md'
    paths['markdown'].write_text('\n'.join(lines) + '\n', encoding='utf-8')
    paths['heatmap'] = directory / 'search_heatmap.png'
    plot_heatmap(table, paths['heatmap'], title)
    paths['summary'] = directory / 'search_summary.json'
    summary = dict(score=float(score), error=score.attrs['error'], choices=choices, depth=depth,
                   grid=score.attrs.get('search_grid'), config=score.attrs['config'], layers=score.attrs['layers'])
    paths['summary'].write_text(json.dumps(summary, indent=2), encoding='utf-8')
    return paths


def plot_heatmap(table, path, title='NRP grid search'):
    """Heat-map of inner-validation MAE over NRP-L1 x NRP-L2 sizes (matplotlib, Agg backend)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    l1_sizes, l2_sizes, matrix = l1_l2_matrix(table)
    figure, axis = plt.subplots(figsize=(1.2 * len(l2_sizes) + 2.5, 1.0 * len(l1_sizes) + 1.8))
    image = axis.imshow(matrix, cmap='viridis_r', aspect='auto', origin='lower')
    axis.set_xticks(range(len(l2_sizes)), [str(size) if size else '0 (none)' for size in l2_sizes])
    axis.set_yticks(range(len(l1_sizes)), [str(size) for size in l1_sizes])
    axis.set_xlabel('NRP-L2 size')
    axis.set_ylabel('NRP-L1 size (per layer block)')
    best = np.unravel_index(np.nanargmin(matrix), matrix.shape)
    for i, j in itertools.product(range(len(l1_sizes)), range(len(l2_sizes))):
        if np.isfinite(matrix[i, j]):
            axis.text(j, i, f'{matrix[i, j]:.3f}', ha='center', va='center', fontsize=8,
                      color='red' if (i, j) == best else 'white', fontweight='bold' if (i, j) == best else None)
    figure.colorbar(image, ax=axis, label='inner-validation MAE')
    axis.set_title(f'{title}\n(best over layer subsets and learning rates)', fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
