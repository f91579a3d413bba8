"""Cross-validated NRP-error and its linear baseline, as Brain-Score metrics.

Both metrics take a model assembly (``source``) and a neural assembly (``target``), each
presentation x neuroid, and evaluate on exactly the splits Brain-Score's ``pls`` metric draws for
that target (:mod:`nrp_plugin.brainscore.splits`). Per split the mapping is fitted on the training stimuli and
the mean absolute error (MAE) of its predictions is taken per neuroid on the test stimuli; the
score is the mean over neuroids, then over splits. Lower is better.
"""
from collections import Counter
from dataclasses import replace

import numpy as np
import torch
from brainscore_core.metrics import Metric, Score
from brainscore_core.supported_data_standards.brainio.assemblies import DataAssembly

from ..core import least_squares, network, scoring
from ..core.crossval import CrossValidatedData, fit_nrp, mean_predictor_mae, per_layer_subset
from ..core.device import resolve_device
from ..core.reduction import DEFAULT_MAX_COMPONENTS, all_components_inputs, group_slices, prepare_blocks
from ..core.kernel_references import banded_ridge, rbf_kernel_ridge
from ..core.ridge import RELATIVE_ALPHAS, fit_predict_ridge
from ..search import SearchGrid, nested_search, search_score
from .source_layers import input_blocks, source_groups
from .splits import CrossValidationSpec, build_splits, split_indices
from .validation import align, check_mappable, check_stratification


#: The fewest training stimuli per split a mapping is fitted on (the NRP also carves its validation part
#: out of them, and ridge chooses its penalty by leave-one-out on them).
MIN_TRAIN_STIMULI = 10


def check_split_sizes(n_stimuli, spec):
    """Raise when Brain-Score's splits of ``n_stimuli`` would leave too few training stimuli for a mapping."""
    n_test = int(np.ceil((1 - spec.train_size) * n_stimuli))
    n_train = n_stimuli - n_test
    if n_train < MIN_TRAIN_STIMULI or n_test < 1:
        needed = next(n for n in range(n_stimuli, 100 * MIN_TRAIN_STIMULI)
                      if n - int(np.ceil((1 - spec.train_size) * n)) >= MIN_TRAIN_STIMULI
                      and int(np.ceil((1 - spec.train_size) * n)) >= 1)
        raise ValueError(f"{n_stimuli} stimuli leave {n_train} training and {n_test} test stimuli per split "
                         f"(train_size={spec.train_size}); a mapping needs at least {MIN_TRAIN_STIMULI} training "
                         f"stimuli and one test stimulus per split. Score at least {needed} stimuli.")


def prepare(source, target, spec=CrossValidationSpec(), max_components=DEFAULT_MAX_COMPONENTS, device='cpu',
            with_ridge=False, with_kernels=False, layer_choice=None, all_layers=False, n_components='noise+loo',
            scaling='common', with_banded_ridge=False):
    """Validate, align and reduce a source/target pair for every split.

    The source's activations are read in place (never copied per split); splits are drawn from the
    target as Brain-Score's ``pls`` metric draws them; the inputs are prepared per split from its
    training rows only (:func:`nrp_plugin.core.reduction.prepare_blocks`).

    Parameters
    ----------
    with_ridge : bool
        Also fit the ridge reference on every non-zero component of every layer, per split
        (:func:`ridge_on_components`), while the components are at hand.
    with_banded_ridge : bool
        Also fit the banded ridge reference there (one penalty per layer,
        :func:`nrp_plugin.core.kernel_references.banded_ridge`): ``data.references['banded_ridge']``.
    with_kernels : bool
        Keep each layer's Gram matrix (``data.kernels``) for the NRP's linear path, which then starts at ridge
        on every component (:mod:`nrp_plugin.core.linear_start`).
    layer_choice : list of dict, optional
        Input layers chosen inside each split on its training rows
        (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`): the source holds the candidate layers, and
        split ``s`` reads ``layer_choice[s]['layers']`` only (the ridge reference too). Only the layers some
        split reads are prepared, unless ``all_layers``.
    all_layers : bool
        With ``layer_choice``: prepare every candidate layer (a nested search chooses among them).
    n_components, scaling : str
        How many components each layer keeps and how they are scaled
        (:func:`nrp_plugin.core.reduction.prepare_blocks`).

    Returns
    -------
    CrossValidatedData
    """
    source, target, source_rows = align(source, target, spec.stratification_coord)
    check_mappable(source, target)
    check_split_sizes(target.sizes['presentation'], spec)
    check_stratification(target, spec.splits, spec.train_size, spec.stratification_coord)
    splits = build_splits(target, spec)
    target_splits = split_indices(target['stimulus_id'].values, splits)
    source_splits = [(source_rows[train], source_rows[test]) for train, test in target_splits]
    values = torch.as_tensor(np.asarray(target.values, dtype=np.float64), device=device)
    train_targets = torch.stack([values[torch.as_tensor(train, device=device)] for train, _ in target_splits])
    test_targets = torch.stack([values[torch.as_tensor(test, device=device)] for _, test in target_splits])
    groups = source_groups(source)
    names = [None if name is None else str(name) for name in group_slices(groups)[0]]
    blocks = input_blocks(source, groups)
    if layer_choice is not None:
        if len(layer_choice) != len(splits):
            raise ValueError(f"The layer choice has {len(layer_choice)} splits; the target's cross-validation has "
                             f"{len(splits)}.")
        used = list(dict.fromkeys(str(layer) for choice in layer_choice for layer in choice['layers']))
        missing = [layer for layer in used if layer not in names]
        if missing:
            raise ValueError(f"The source lacks the layers {missing} of the layer choice; record every candidate "
                             f"layer (source layers: {names}).")
        used = [name for name in names if name in used or all_layers]  # in the source's order
        blocks, names = [blocks[names.index(name)] for name in used], used
    ridge, banded = {}, {}

    def fit_references(split, components):
        if layer_choice is not None:  # this split's layers only
            components = [components[names.index(str(layer))] for layer in layer_choice[split]['layers']]
        if with_ridge:
            ridge[split] = ridge_on_components(components, train_targets[split])
        if with_banded_ridge:
            banded[split] = banded_ridge(components, train_targets[split])

    train_inputs, test_inputs, sizes, kept, *kernels = prepare_blocks(
        blocks, source_splits, max_components, device, train_targets=train_targets, n_components=n_components,
        scaling=scaling, on_components=fit_references if with_ridge or with_banded_ridge else None,
        with_kernels=with_kernels)
    data = CrossValidatedData(train_inputs, test_inputs, train_targets, test_targets,
                              names if layer_choice is not None else group_slices(groups)[0], sizes,
                              neuroid_identifiers(target), [train for train, _ in splits], [test for _, test in splits])
    data.kept = kept
    data.kernels = kernels[0] if kernels else None
    if layer_choice is not None:
        data.layer_choice = [dict(choice, layers=[str(layer) for layer in choice['layers']]) for choice in layer_choice]
    if with_ridge:
        data.ridge_prediction = torch.stack([torch.as_tensor(ridge[s][0]) for s in range(len(splits))]).to(device)
        data.ridge_alpha = np.stack([ridge[s][1] for s in range(len(splits))])
    if with_banded_ridge:
        data.references['banded_ridge'] = (torch.stack([banded[s][0] for s in range(len(splits))]).to(device),
                                           [banded[s][1] for s in range(len(splits))])
    return data


def kernel_ridge_prediction(data):
    """RBF kernel ridge on each split's NRP inputs (:func:`nrp_plugin.core.kernel_references.rbf_kernel_ridge`):
    the test rows' predictions (S, n_test, n_targets) and each split's choices."""
    infos = {}

    def fit(key, splits, train_x, train_y, test_x, sizes, kernels):
        predictions = []
        for index, split in enumerate(splits):
            prediction, infos[split] = rbf_kernel_ridge(train_x[index], train_y[index], test_x[index])
            predictions.append(prediction)
        return torch.stack(predictions), {}

    prediction, _ = per_layer_subset(data, [(layers,) for layers in data.split_layers()], fit)
    return prediction, [infos[split] for split in range(data.n_splits)]


def ridge_on_components(components, train_targets):
    """Ridge on every non-zero component of every layer of one split (= ridge on the raw features of
    each layer, each layer scaled to unit total variance); penalty per site by leave-one-out.

    Returns
    -------
    prediction : ndarray, shape (n_test, n_targets)
    relative_alpha : ndarray, shape (n_targets,)
    """
    train_inputs, test_inputs = all_components_inputs(components)
    return fit_predict_ridge(train_inputs, train_targets, test_inputs)


def neuroid_identifiers(assembly):
    """The ``neuroid_id`` of every neuroid (the neuroid index itself when it is the only coordinate)."""
    try:
        return np.asarray(assembly['neuroid_id'].values)
    except KeyError:
        return np.asarray(assembly['neuroid'].values)


def _split_neuroid(values, neuroid_ids):
    values = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values, dtype=float)
    return DataAssembly(values, coords={'split': np.arange(values.shape[0]), 'neuroid_id': ('neuroid', neuroid_ids)},
                        dims=['split', 'neuroid'])


def _summary(per_split_neuroid, aggregate=torch.mean):
    """Aggregate over neuroids, then mean and SEM (Brain-Score's ddof=0 std / sqrt(S)) over splits."""
    per_split = aggregate(per_split_neuroid, dim=1).double().cpu().numpy()
    return float(per_split.mean()), float(per_split.std() / np.sqrt(len(per_split))), per_split


def _median(tensor, dim):
    """Median that skips NaN (a constant column's Pearson r), as Brain-Score's median over neuroids does."""
    return torch.from_numpy(np.nanmedian(tensor.detach().cpu().numpy(), axis=dim))


def mapping_attrs(prefix, prediction, data):
    """A mapping's figures from its test predictions (S, n_test, n_targets): ``<prefix>_mae`` (mean over
    sites, then splits), ``_mae_error`` (SEM over splits), ``_r2``, ``_r2_error``, ``_pearson`` (median
    over sites, mean over splits) and ``_raw`` (split x neuroid MAE)."""
    prediction = prediction.to(data.test_targets)
    error = scoring.mae(prediction, data.test_targets)
    value, sem, _ = _summary(error)
    r2_value, r2_sem, _ = _summary(scoring.r2(prediction, data.test_targets))
    r_value, _, _ = _summary(scoring.pearson(prediction, data.test_targets), _median)
    return {f'{prefix}_mae': value, f'{prefix}_mae_error': sem, f'{prefix}_r2': r2_value, f'{prefix}_r2_error': r2_sem,
            f'{prefix}_pearson': r_value, f'{prefix}_raw': _split_neuroid(error, data.neuroid_ids)}


def least_squares_prediction(data):
    """Least squares with an intercept on each split's NRP inputs (its input layers' prepared components), the
    test rows' predictions (S, n_test, n_targets)."""
    prediction, _ = per_layer_subset(
        data, [(layers,) for layers in data.split_layers()],
        lambda key, splits, train_x, train_y, test_x, sizes, kernels: (
            least_squares.fit_predict(train_x, train_y, test_x), {}))
    return prediction


def linear_attrs(data):
    """Least squares on the NRP inputs (same splits, same prepared inputs): ``linear_*``."""
    return mapping_attrs('linear', least_squares_prediction(data), data)


def reference_attrs(data, name):
    """A himalaya reference's figures (``banded_ridge_*`` or ``kernel_ridge_*``, as :func:`mapping_attrs` makes them),
    plus its per-split choices: ``banded_ridge_layer_weights`` (split x layer, mean over sites) or
    ``kernel_ridge_bandwidth`` (per split)."""
    prediction, infos = data.references[name]
    attrs = mapping_attrs(name, prediction, data)
    if name == 'banded_ridge':
        attrs['banded_ridge_layer_weights'] = [np.asarray(info['layer_weights']).mean(axis=1).tolist() for info in infos]
    else:
        attrs['kernel_ridge_bandwidth'] = [float(info['bandwidth']) for info in infos]
    return attrs


def ridge_attrs(data):
    """The ridge reference's figures (needs data prepared ``with_ridge``), plus ``ridge_alpha_at_edge``:
    the share of (split, site) penalties at the edge of the grid."""
    attrs = mapping_attrs('ridge', data.ridge_prediction, data)
    alphas = np.asarray(data.ridge_alpha)
    at_edge = np.isclose(alphas, RELATIVE_ALPHAS[0]) | np.isclose(alphas, RELATIVE_ALPHAS[-1])
    attrs['ridge_alpha_at_edge'] = float(at_edge.mean())
    return attrs


#: ``max_components`` that keeps every non-zero component (the paper's inputs: all of a layer's activations)
ALL_COMPONENTS = 2 ** 31 - 1


class _CrossValidatedMetric(Metric):
    #: how many components each layer keeps, and how they are scaled (:mod:`nrp_plugin.core.reduction`)
    n_components = 'noise+loo'
    scaling = 'common'

    def __init__(self, max_components=DEFAULT_MAX_COMPONENTS, crossvalidation_kwargs=None, device='auto'):
        self.max_components = max_components
        self.crossvalidation_kwargs = crossvalidation_kwargs
        self.device = device
        if not isinstance(max_components, (int, np.integer)) or max_components < 1:
            raise ValueError(f"max_components={max_components!r} must be a positive integer.")

    @property
    def spec(self):
        return CrossValidationSpec.from_kwargs(self.crossvalidation_kwargs)

    #: whether :meth:`prepare` also fits the ridge reference, and the banded ridge reference
    with_ridge = False
    with_banded_ridge = False
    #: whether :meth:`prepare` keeps the layers' Gram matrices (for the NRP's linear path)
    with_kernels = False
    #: the mapping a single-mapping metric scores: 'linear', 'ridge', 'banded_ridge' or 'kernel_ridge'
    mapping = None

    def prepare(self, source, target, windows=None):
        """:func:`prepare` with this metric's settings.

        ``windows`` (dict: candidate layer -> the input layers it stands for) chooses the input layers inside each
        split, on its training rows (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`); a list of per-split
        choices already made is taken as it is.
        """
        from .layer_choice import nested_choice
        choice = windows
        if isinstance(windows, dict):
            choice = nested_choice(source, target, windows, self.spec, resolve_device(self.device))
        return prepare(source, target, self.spec, self.max_components, resolve_device(self.device),
                       with_ridge=self.with_ridge, with_kernels=self.with_kernels, layer_choice=choice,
                       all_layers=getattr(self, 'search', None) is not None, n_components=self.n_components,
                       scaling=self.scaling, with_banded_ridge=self.with_banded_ridge)

    def split_predictions(self, source, target, windows=None):
        """Each split's test predictions of this metric's mapping, without a Score.

        Returns
        -------
        data : CrossValidatedData
        prediction : Tensor, shape (S, n_test, n_targets), float64
        info : dict
        """
        data = self.prepare(source, target, windows)
        return data, self._mapping_prediction(data), {}

    def __call__(self, source, target, windows=None):
        """The Score of this metric's mapping; ``windows`` chooses the input layers inside each split (:meth:`prepare`)."""
        return self._single_mapping_score(self.prepare(source, target, windows), self.mapping)

    def _mapping_prediction(self, data):
        if self.mapping == 'ridge':
            return data.ridge_prediction
        if self.mapping == 'banded_ridge':
            return data.references['banded_ridge'][0]
        if self.mapping == 'kernel_ridge':
            return kernel_ridge_prediction(data)[0]
        return least_squares_prediction(data)

    def _single_mapping_score(self, data, prefix):
        """A Score of one reference mapping's MAE with its figures in the attrs."""
        if prefix == 'kernel_ridge':
            data.references['kernel_ridge'] = kernel_ridge_prediction(data)
        figures = {'ridge': ridge_attrs, 'linear': linear_attrs}.get(prefix, lambda data: reference_attrs(data, prefix))(data)
        score = Score(figures[f'{prefix}_mae'])
        score.attrs['error'] = figures[f'{prefix}_mae_error']
        score.attrs[Score.RAW_VALUES_KEY] = figures[f'{prefix}_raw']
        for name in ('r2', 'r2_error', 'pearson', 'alpha_at_edge', 'layer_weights', 'bandwidth'):
            if f'{prefix}_{name}' in figures:
                score.attrs[name] = figures[f'{prefix}_{name}']
        score.attrs['mean_predictor_mae'] = _summary(mean_predictor_mae(data))[0]
        score.attrs['higher_is_better'] = False
        score.attrs['max_components'] = int(self.max_components)
        score.attrs['n_inputs'] = [int(size) for size in data.group_sizes]
        add_layer_choice(score, data)
        return score


def add_layer_choice(score, data):
    """With input layers chosen inside each split: ``split_layers`` (per split), ``layers`` (the most common) and
    ``layer_choice`` (per split: the chosen ``layer``, the ``layers`` read and every candidate's ``scores``)."""
    if data.layer_choice is None:
        return
    split_layers = [list(choice['layers']) for choice in data.layer_choice]
    score.attrs['split_layers'] = split_layers
    score.attrs['layers'] = list(Counter(map(tuple, split_layers)).most_common(1)[0][0])
    score.attrs['layer_choice'] = [dict(layer=str(choice['layer']), layers=list(choice['layers']),
                                        scores={str(k): float(v) for k, v in choice['scores'].items()})
                                   for choice in data.layer_choice]


class NRPErrorMetric(_CrossValidatedMetric):
    """Cross-validated NRP-error (Anand, Sen & Roy 2021).

    Parameters
    ----------
    config : NRPConfig, dict or 'paper', optional
        Network and training settings; :class:`nrp_plugin.core.network.NRPConfig` defaults otherwise. ``'paper'``:
        as close to Anand, Sen & Roy (2021) as they specify it, inputs included: every non-zero principal
        component of each layer, unscaled (the layer's centred activations in an orthonormal basis), and
        :meth:`nrp_plugin.core.network.NRPConfig.paper` (README, "This package's NRP and the paper's").
    max_components : int
        Widest input group trained on directly; wider groups are reduced to this many principal
        components fitted on each split's training stimuli.
    crossvalidation_kwargs : dict, optional
        As Brain-Score's metrics take it (``splits``, ``train_size``, ``stratification_coord``,
        ``random_state``); Brain-Score's defaults otherwise.
    device : {'auto', 'cpu', 'cuda'}
    random_state : int
        Seeds every split's network.
    with_linear : bool
        Also compute, on the same splits, the reference mappings: least squares on the NRP inputs (attrs
        ``linear_*``), ridge (every component of every layer, penalty by leave-one-out on the training stimuli;
        ``ridge_*``), banded ridge (one penalty per layer; ``banded_ridge_*``) and RBF kernel ridge on the NRP
        inputs (``kernel_ridge_*``).
    search : SearchGrid, dict, path or True, optional
        Choose input layers, L1/L2 sizes and learning rate per split by a nested grid search on the
        split's training stimuli (:mod:`nrp_plugin.search`); attrs ``search_choices``, ``search_table``.

    Returns (on call)
    -----------------
    Score
        The NRP-error (mean over splits of the mean over neuroids of the test MAE). Attrs: ``error``
        (SEM over splits), ``raw`` (split x neuroid MAE), ``pearson`` (median over neuroids, mean over
        splits), ``mean_predictor_mae``, ``higher_is_better`` (False), ``config``, ``layers``,
        ``n_inputs``, ``components_kept`` (layer x split), ``best_epoch``, ``linear_start_every_component``
        (per split: whether the linear path started from ridge on every component rather than on the kept
        ones), ``linear_start_validation_mse`` (per split: the two ridge fits' validation errors, kept then
        every component), ``linear_path_weight`` and ``paper_best_epoch`` (per split: the linear-path network's
        weight in the validated combination with the paper's network, and the paper's network's best epoch), and
        the reference mappings' figures (``<mapping>_mae``, ``_mae_error``, ``_r2``, ``_pearson``, ``_raw``) when
        ``with_linear``.
    """

    def __init__(self, config=None, max_components=DEFAULT_MAX_COMPONENTS, crossvalidation_kwargs=None,
                 device='auto', random_state=0, with_linear=True, progress=None, search=None):
        if config == 'paper':  # the paper's network on the paper's inputs: every component, unscaled
            config, max_components = network.NRPConfig.paper(), ALL_COMPONENTS
            self.n_components, self.scaling = 'fixed', 'none'
        super().__init__(max_components, crossvalidation_kwargs, device)
        self.search = search
        if isinstance(config, str):
            raise ValueError(f"config={config!r} is unknown; give 'paper', an NRPConfig or a dict of its fields.")
        self.config = config if isinstance(config, network.NRPConfig) else network.NRPConfig(**(config or {}))
        self.random_state = random_state
        self.with_linear = with_linear
        self.with_ridge = with_linear
        self.with_banded_ridge = with_linear
        self.with_kernels = self.config.linear_path
        self.progress = progress

    def __call__(self, source, target, windows=None):
        """The Score of ``source`` against ``target``; ``windows`` chooses the input layers inside each split
        (:func:`prepare`)."""
        return self.score_prepared(self.prepare(source, target, windows))

    def split_predictions(self, source, target, windows=None):
        """Each split's test predictions, without a Score.

        Returns
        -------
        data : CrossValidatedData
        prediction : Tensor, shape (S, n_test, n_targets), float64, in the targets' units
        info : dict
            What the fit reports (see :meth:`predict_prepared`).
        """
        data = self.prepare(source, target, windows)
        return (data, *self.predict_prepared(data))

    def predict_prepared(self, data, config=None):
        """Fit every split of prepared data (:func:`prepare`) and predict its test rows.

        Returns
        -------
        prediction : Tensor, shape (S, n_test, n_targets), float64
        info : dict
            ``best_epoch`` per split, and what :func:`nrp_plugin.core.combination.train` reports (``linear_start``,
            ``mix``, ``paper_best_epoch``, ...); with ``search``, ``search_choices`` and ``search_table`` instead.
        """
        config = config or self.config
        device = resolve_device(self.device)
        if self.search is not None:
            grid = SearchGrid.coerce(self.search)
            if data.layer_choice is not None and grid.layer_subsets is None:  # the search chooses among the windows
                grid = replace(grid, layer_subsets=tuple(dict.fromkeys(
                    tuple(window) for window in data.layer_choice[0]['windows'].values())))
            prediction, choices, table, best_epoch = nested_search(data, grid, config, self.random_state, device)
            return prediction, dict(best_epoch=best_epoch, search_choices=choices, search_table=table)
        return fit_nrp(data, config, self.random_state, device, progress=self.progress)

    def score_prepared(self, data, config=None):
        """Score already prepared data (see :func:`prepare`), optionally with another config."""
        config = config or self.config
        prediction, info = self.predict_prepared(data, config)
        if self.search is not None:
            return search_score(self, data, config, prediction, info)
        layers = [str(name) for name in data.group_names if name is not None]
        score = self.package(data, prediction, config, layers, info['best_epoch'])
        add_layer_choice(score, data)
        if 'linear_start' in info:  # which ridge each split's linear path started from (core/linear_start.py)
            start = info['linear_start']
            score.attrs['linear_start_every_component'] = [bool(every) for every in start['every'][:, 0].tolist()]
            score.attrs['linear_start_banded'] = [bool(banded) for banded in start['banded'][:, 0].tolist()]
            score.attrs['linear_start_validation_mse'] = start['validation_mse'].tolist()
        if 'mix' in info:  # the validated choice between the linear-path network and the paper's (core/combination.py)
            score.attrs['linear_path_weight'] = [float(weight) for weight in info['mix'][:, 0]]
            score.attrs['paper_best_epoch'] = [int(epoch) for epoch in info['paper_best_epoch']]
        return score

    def package(self, data, prediction, config, layers, best_epoch):
        """The Score of test predictions of shape (S, n_test, n_targets) made with ``config``."""
        error = scoring.mae(prediction, data.test_targets)
        value, sem, per_split = _summary(error)
        score = Score(value)
        score.attrs['error'] = sem
        score.attrs[Score.RAW_VALUES_KEY] = _split_neuroid(error, data.neuroid_ids)
        score.attrs['pearson'] = _summary(scoring.pearson(prediction, data.test_targets), _median)[0]
        score.attrs['mean_predictor_mae'] = _summary(mean_predictor_mae(data))[0]
        score.attrs['higher_is_better'] = False
        score.attrs['config'] = config.to_dict()
        score.attrs['max_components'] = int(self.max_components)
        score.attrs['random_state'] = int(self.random_state)
        score.attrs['layers'] = list(layers)
        score.attrs['n_inputs'] = [int(size) for size in data.group_sizes]
        if data.kept is not None:
            score.attrs['components_kept'] = np.asarray(data.kept).tolist()
        score.attrs['best_epoch'] = [int(epoch) for epoch in best_epoch]
        score.attrs['split_nrp_error'] = [float(v) for v in per_split]
        if self.with_linear:
            score.attrs.update(linear_attrs(data))
            data.references['kernel_ridge'] = kernel_ridge_prediction(data)
        if data.ridge_prediction is not None:
            score.attrs.update(ridge_attrs(data))
        for name in data.references:
            score.attrs.update(reference_attrs(data, name))
        return score


class LinearErrorMetric(_CrossValidatedMetric):
    """Least squares on the NRP inputs, under the NRP protocol: same splits, MAE.

    Inputs are prepared exactly as for :class:`NRPErrorMetric` (same groups, same components), so the
    two differ only in the mapping. (The paper's linear baseline was linear regression on the layers' activations;
    with ``NRPErrorMetric(config='paper')``'s inputs, every component unscaled, least squares is that.) Returns a
    Score of the MAE with attrs ``error``, ``raw``, ``r2`` (mean over neuroids, mean over splits), ``r2_error``,
    ``pearson`` and ``higher_is_better=False``.
    """
    mapping = 'linear'


class RidgeErrorMetric(_CrossValidatedMetric):
    """The strong linear reference under the NRP protocol: ridge regression, same splits, MAE.

    Per split, ridge is fitted on every non-zero principal component of every source layer (each layer
    scaled to unit total variance; for one layer this is ridge on its raw centred features), with
    each site's penalty chosen by efficient leave-one-out on the split's training stimuli only
    (:func:`nrp_plugin.core.ridge.fit_predict_ridge`, what scikit-learn's ``RidgeCV`` computes). Returns a Score of
    the MAE with attrs ``error``, ``raw``, ``r2``, ``r2_error``, ``pearson``, ``alpha_at_edge`` (share of penalties
    at the grid's edge) and ``higher_is_better=False``.
    """
    with_ridge = True
    mapping = 'ridge'


class BandedRidgeErrorMetric(_CrossValidatedMetric):
    """Banded ridge under the NRP protocol: ridge on every component of every layer with one penalty per layer
    (:func:`nrp_plugin.core.kernel_references.banded_ridge`, himalaya's multiple-kernel ridge), chosen by
    cross-validation on each split's training stimuli only; same splits, MAE. Attrs as :class:`RidgeErrorMetric`'s,
    with ``layer_weights`` (per split, each layer's mean weight) instead of ``alpha_at_edge``.
    """
    with_banded_ridge = True
    mapping = 'banded_ridge'


class KernelRidgeErrorMetric(_CrossValidatedMetric):
    """RBF kernel ridge on the NRP inputs under the NRP protocol
    (:func:`nrp_plugin.core.kernel_references.rbf_kernel_ridge`, himalaya's kernel ridge): each site's penalty and
    one bandwidth per split chosen by cross-validation on its training stimuli only; same splits, MAE. Attrs as
    :class:`RidgeErrorMetric`'s, with ``bandwidth`` (per split) instead of ``alpha_at_edge``.
    """
    mapping = 'kernel_ridge'
