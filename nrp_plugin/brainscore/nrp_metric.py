"""Cross-validated mappings under the NRP protocol, as Brain-Score metrics: the NRP-error and its references.

Every metric here takes a model assembly (``source``) and a neural assembly (``target``), each
presentation x neuroid, and evaluates on exactly the splits Brain-Score's ``pls`` metric draws for
that target (:mod:`nrp_plugin.brainscore.splits`). Per split the mapping is fitted on the training stimuli and
the mean absolute error (MAE) of its predictions is taken per neuroid on the test stimuli; the
score is the mean over neuroids, then over splits. Lower is better.
"""
import warnings
from collections import Counter
from dataclasses import replace

import numpy as np
import torch
from brainscore_core.metrics import Metric, Score
from brainscore_core.supported_data_standards.brainio.assemblies import DataAssembly

from .. import mappings
from ..core import network, scoring
from ..core.crossval import CrossValidatedData, mean_predictor_mae
from ..core.device import resolve_device
from ..core.reduction import DEFAULT_MAX_COMPONENTS, group_slices, prepare_blocks
from ..inference import HeldOut
from ..mappings import SplitFits
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


#: The suffix of the fits made on the committed layer alone (``layer_inputs``): ``'ridge' + LAYER_SUFFIX``
LAYER_SUFFIX = '_on_layer'


def prepare(source, target, spec=CrossValidationSpec(), max_components=DEFAULT_MAX_COMPONENTS, device='cpu', *,
            with_kernels=False, layer_choice=None, all_layers=False, n_components='noise+loo', scaling='common',
            split_mappings=(), split_layer=None):
    """Validate, align and reduce a source/target pair for every split.

    The source's activations are read in place (never copied per split); splits are drawn from the
    target as Brain-Score's ``pls`` metric draws them; the inputs are prepared per split from its
    training rows only (:func:`nrp_plugin.core.reduction.prepare_blocks`).

    Parameters
    ----------
    with_kernels : bool
        Keep each layer's Gram matrix (``data.kernels``): the NRP's linear path starts at ridge on every
        component from them (:mod:`nrp_plugin.core.linear_start`), and PLS reads them.
    layer_choice : list of dict, optional
        Input layers chosen inside each split on its training rows
        (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`): the source holds the candidate layers, and
        split ``s`` reads ``layer_choice[s]['layers']`` only. Only the layers some split reads are prepared, unless
        ``all_layers``.
    all_layers : bool
        With ``layer_choice``: prepare every candidate layer (a nested search chooses among them).
    n_components, scaling : str
        How many components each layer keeps and how they are scaled
        (:func:`nrp_plugin.core.reduction.prepare_blocks`).
    split_mappings : sequence of Mapping
        Mappings that read every component (:attr:`nrp_plugin.mappings.Mapping.reads` ``'components'``): fitted
        split by split while the preparation holds that split's components, each on the split's own layers.
    split_layer : list of str, optional
        Per split, one of its layers: ``split_mappings`` are also fitted on it alone (their fits named with
        :data:`LAYER_SUFFIX`).

    Returns
    -------
    data : CrossValidatedData
    split_fits : SplitFits
        The fits of ``split_mappings`` (:func:`nrp_plugin.mappings.fit_mappings` reads them).
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
    split_groups = None
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
        split_groups = [[names.index(str(layer)) for layer in choice['layers']] for choice in layer_choice]
    input_sets = None
    if split_layer is not None:
        missing = sorted({str(layer) for layer in split_layer} - {str(name) for name in names})
        if missing:
            raise ValueError(f"The layer {missing} to fit alone is none of the source's layers {names}.")
        input_sets = {LAYER_SUFFIX: [[[str(name) for name in names].index(str(layer))] for layer in split_layer]}
    split_fits = SplitFits(split_mappings, train_targets, split_groups, input_sets)
    train_inputs, test_inputs, sizes, kept, *kernels = prepare_blocks(
        blocks, source_splits, max_components, device, train_targets=train_targets, n_components=n_components,
        scaling=scaling, on_components=split_fits if split_fits else None, with_kernels=with_kernels)
    data = CrossValidatedData(train_inputs, test_inputs, train_targets, test_targets,
                              names if layer_choice is not None else group_slices(groups)[0], sizes,
                              neuroid_identifiers(target), [train for train, _ in splits], [test for _, test in splits])
    data.kept = kept
    data.kernels = kernels[0] if kernels else None
    if layer_choice is not None:
        data.layer_choice = [dict(choice, layers=[str(layer) for layer in choice['layers']]) for choice in layer_choice]
    return data, split_fits


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


def measures(prediction, data):
    """The shared measures of one mapping's test predictions (S, n_test, n_targets): ``mae`` (mean over sites, then
    splits), ``mae_error`` (SEM over splits), ``r2``, ``r2_error``, ``pearson`` (median over sites, mean over
    splits) and ``raw`` (split x neuroid MAE)."""
    prediction = prediction.to(data.test_targets)
    error = scoring.mae(prediction, data.test_targets)
    value, sem, _ = _summary(error)
    r2_value, r2_sem, _ = _summary(scoring.r2(prediction, data.test_targets))
    r_value, _, _ = _summary(scoring.pearson(prediction, data.test_targets), _median)
    return {'mae': value, 'mae_error': sem, 'r2': r2_value, 'r2_error': r2_sem, 'pearson': r_value,
            'raw': _split_neuroid(error, data.neuroid_ids)}


#: ``max_components`` that keeps every non-zero component (the paper's inputs: all of a layer's activations)
ALL_COMPONENTS = 2 ** 31 - 1


def _deprecated_with_linear(with_linear, references):
    """``references`` from the deprecated ``with_linear`` flag (True: all, False: none), with a warning."""
    if with_linear is None:
        return references
    warnings.warn("with_linear is deprecated: use references='all' or references='none' (or a list of mapping "
                  "names).", FutureWarning, stacklevel=3)
    return 'all' if with_linear else 'none'


class CrossValidatedMetric(Metric):
    """A mapping's cross-validated MAE under the NRP protocol, with reference mappings on the same splits.

    Per split every mapping is fitted on the training stimuli and predicts the test stimuli; the Score is the main
    mapping's MAE (mean over sites, then splits; lower is better). The inputs are prepared once for all mappings
    (:func:`prepare`), and each mapping reads the view of them it needs (:mod:`nrp_plugin.mappings`).

    Parameters
    ----------
    mapping : str or Mapping
        The main mapping (a registered name, built with its defaults, or a built mapping).
    references : 'all', 'none', str or sequence of str
        Other registered mappings fitted on the same splits (:func:`nrp_plugin.mappings.resolve_references`); none
        by default.
    max_components : int
        Widest input group trained on directly; wider groups are reduced to this many principal
        components fitted on each split's training stimuli.
    crossvalidation_kwargs : dict, optional
        As Brain-Score's metrics take it (``splits``, ``train_size``, ``stratification_coord``,
        ``random_state``); Brain-Score's defaults otherwise.
    device : {'auto', 'cpu', 'cuda'}
    layer_inputs : bool
        Also fit every mapping on the committed layer alone (:meth:`fit`).

    Returns (on call)
    -----------------
    Score
        The main mapping's MAE. Attrs: ``error`` (SEM over splits), ``raw`` (split x neuroid MAE), ``r2``,
        ``r2_error``, ``pearson`` (median over neuroids, mean over splits), ``mean_predictor_mae``,
        ``higher_is_better`` (False), ``mappings`` (the main mapping's name, then the references'), ``max_components``,
        ``n_inputs``, ``layers``, ``components_kept`` (layer x split), ``heldout`` (every mapping's test predictions,
        :func:`heldout`), what the main mapping reports
        (:meth:`nrp_plugin.mappings.Mapping.figures`), and per reference ``<name>_mae``, ``_mae_error``, ``_r2``,
        ``_r2_error``, ``_pearson``, ``_raw`` and what it reports, prefixed with its name.
    """
    #: how many components each layer keeps, and how they are scaled (:mod:`nrp_plugin.core.reduction`)
    n_components = 'noise+loo'
    scaling = 'common'

    def __init__(self, mapping, references=(), max_components=DEFAULT_MAX_COMPONENTS, crossvalidation_kwargs=None,
                 device='auto', layer_inputs=False):
        if not isinstance(max_components, (int, np.integer)) or max_components < 1:
            raise ValueError(f"max_components={max_components!r} must be a positive integer.")
        self.max_components = max_components
        self.crossvalidation_kwargs = crossvalidation_kwargs
        self.device = device
        self.main = mapping if isinstance(mapping, mappings.Mapping) else mappings.get(mapping)()
        self.references = mappings.resolve_references(references, main=self.main.name)
        self.layer_inputs = bool(layer_inputs)

    @property
    def spec(self):
        return CrossValidationSpec.from_kwargs(self.crossvalidation_kwargs)

    def all_mappings(self, with_references=True):
        """The mappings this metric fits: the main one, then the references (built with their defaults)."""
        return [self.main] + ([mappings.get(name)() for name in self.references] if with_references else [])

    def prepare(self, source, target, windows=None, split_mappings=(), layer=None):
        """:func:`prepare` with this metric's settings; returns ``(data, split_fits)``.

        ``windows`` (dict: candidate layer -> the input layers it stands for) chooses the input layers inside each
        split, on its training rows (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`); a list of per-split
        choices already made is taken as it is. With ``layer_inputs``, ``split_mappings`` are also fitted on the
        committed layer alone: ``layer`` (one of the source's layers), or each split's chosen layer.
        """
        from .layer_choice import nested_choice
        choice = windows
        if isinstance(windows, dict):
            choice = nested_choice(source, target, windows, self.spec, resolve_device(self.device))
        return prepare(source, target, self.spec, self.max_components, resolve_device(self.device),
                       with_kernels=self._with_kernels(), layer_choice=choice, all_layers=self._all_layers(),
                       n_components=self.n_components, scaling=self.scaling, split_mappings=split_mappings,
                       split_layer=self._split_layer(choice, layer, self.spec.splits))

    def _split_layer(self, choice, layer, n_splits):
        """Per split, the committed layer the mappings are also fitted on alone, or None (no ``layer_inputs``, or
        no layer known)."""
        if not self.layer_inputs:
            return None
        if choice is not None:
            return [str(split['layer']) for split in choice]
        return None if layer is None else [str(layer)] * n_splits

    def _with_kernels(self):
        return any(mapping.reads == 'kernels' for mapping in self.all_mappings())

    def _all_layers(self):
        return False

    def fit(self, source, target, windows=None, with_references=True, layer=None):
        """Prepare the inputs and fit every mapping of this metric (the main one alone without ``with_references``)
        on the same splits; with ``layer_inputs`` and a committed layer (``layer``, or each split's chosen one), also
        every mapping on that layer alone (fits named with :data:`LAYER_SUFFIX`).

        Returns
        -------
        data : CrossValidatedData
        fits : dict of str -> MappingFit
            In the order of :meth:`all_mappings`, then the same on the committed layer.
        """
        fitted = self.all_mappings(with_references)
        data, split_fits = self.prepare(source, target, windows,
                                        [mapping for mapping in fitted if mapping.reads == 'components'], layer)
        fits = mappings.fit_mappings(fitted, data, split_fits)
        if LAYER_SUFFIX in split_fits.input_sets:  # the same mappings on the committed layer alone
            layers = [groups[0] for groups in split_fits.input_sets[LAYER_SUFFIX]]
            names = [str(name) for name in data.group_names]
            alone = replace(data, layer_choice=[
                dict((data.layer_choice or [{}] * data.n_splits)[split], layer=names[group], layers=[names[group]])
                for split, group in enumerate(layers)])
            fits.update(mappings.fit_mappings(fitted, alone, split_fits, suffix=LAYER_SUFFIX))
        return data, fits

    def split_predictions(self, source, target, windows=None):
        """Each split's test predictions of the main mapping, without a Score.

        Returns
        -------
        data : CrossValidatedData
        prediction : Tensor, shape (S, n_test, n_targets), float64, in the targets' units
        info : list of dict
            What each split's fit chose.
        """
        data, fits = self.fit(source, target, windows, with_references=False)
        fit = fits[self.main.name]
        return data, fit.prediction, fit.splits

    def __call__(self, source, target, windows=None, layer=None):
        """The Score of ``source`` against ``target``; ``windows`` chooses the input layers inside each split
        (:meth:`prepare`); ``layer`` names the committed layer (:meth:`fit`)."""
        return self.package(*self.fit(source, target, windows, layer=layer))

    def package(self, data, fits):
        """The Score of the fits (:meth:`fit`): the main mapping's figures, then each reference's, prefixed."""
        main = fits[self.main.name]
        figures = measures(main.prediction, data)
        score = Score(figures['mae'])
        score.attrs['error'] = figures['mae_error']
        score.attrs[Score.RAW_VALUES_KEY] = figures['raw']
        for name in ('r2', 'r2_error', 'pearson'):
            score.attrs[name] = figures[name]
        score.attrs['mean_predictor_mae'] = _summary(mean_predictor_mae(data))[0]
        score.attrs['higher_is_better'] = False
        score.attrs['mappings'] = list(fits)
        score.attrs['max_components'] = int(self.max_components)
        score.attrs['n_inputs'] = [int(size) for size in data.group_sizes]
        score.attrs['layers'] = [str(name) for name in data.group_names if name is not None]
        if data.kept is not None:
            score.attrs['components_kept'] = np.asarray(data.kept).tolist()
        add_layer_choice(score, data)
        score.attrs['heldout'] = heldout(data, fits, self.spec.train_size)
        score.attrs.update(self.main.figures(main))
        built = {mapping.name + suffix: mapping for mapping in self.all_mappings() for suffix in ('', LAYER_SUFFIX)}
        for name, fit in fits.items():
            if name == self.main.name:
                continue
            figures = measures(fit.prediction, data)
            figures.update(built[name].figures(fit))
            score.attrs.update({f'{name}_{key}': value for key, value in figures.items()})
        return score


def heldout(data, fits, train_size):
    """Every mapping's held-out predictions with the targets, per split, test stimulus and site
    (:class:`nrp_plugin.inference.HeldOut`), for intervals that resample the images and the sites."""
    to_numpy = lambda tensor: tensor.detach().double().cpu().numpy()
    n_stimuli = len(np.unique(np.concatenate([np.concatenate([train, test])
                                              for train, test in zip(data.train_ids, data.test_ids)])))
    return HeldOut(np.stack([np.asarray(ids) for ids in data.test_ids]), data.neuroid_ids,
                   to_numpy(data.test_targets), {name: to_numpy(fit.prediction) for name, fit in fits.items()},
                   n_stimuli, train_size)


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


class NRPErrorMetric(CrossValidatedMetric):
    """Cross-validated NRP-error (Anand, Sen & Roy 2021), with the reference mappings on the same splits.

    Parameters
    ----------
    config : NRPConfig, dict or 'paper', optional
        Network and training settings; :class:`nrp_plugin.core.network.NRPConfig` defaults otherwise. ``'paper'``:
        as close to Anand, Sen & Roy (2021) as they specify it, inputs included: every non-zero principal
        component of each layer, unscaled (the layer's centred activations in an orthonormal basis), and
        :meth:`nrp_plugin.core.network.NRPConfig.paper` (docs/metric.md, "This package's NRP and the paper's").
    max_components, crossvalidation_kwargs, device
        As :class:`CrossValidatedMetric`.
    random_state : int
        Seeds every split's network.
    references : 'all', 'none', str or sequence of str
        The reference mappings fitted on the same splits (:func:`nrp_plugin.mappings.resolve_references`; 'all':
        least squares on the NRP inputs, ridge, banded ridge and RBF kernel ridge).
    with_linear : bool, optional
        Deprecated: True is ``references='all'``, False ``references='none'``.
    layer_inputs : bool
        Also fit the NRP and every reference on the committed layer alone (fits named ``<mapping>_on_layer``), so
        that the inputs can be told apart from the mapping (the factorial analysis of a comparison).
    search : SearchGrid, dict, path or True, optional
        Choose input layers, L1/L2 sizes and learning rate per split by a nested grid search on the
        split's training stimuli (:mod:`nrp_plugin.search`); attrs ``search_choices``, ``search_table``.

    Returns (on call)
    -----------------
    Score
        The NRP-error (mean over splits of the mean over neuroids of the test MAE), with the attrs of
        :class:`CrossValidatedMetric` and what the NRP reports (:meth:`nrp_plugin.mappings.NRP.figures`):
        ``config``, ``random_state``, ``best_epoch``, and per split ``linear_start_every_component``,
        ``linear_start_banded``, ``linear_start_validation_mse``, ``linear_path_weight`` and ``paper_best_epoch``.
    """

    def __init__(self, config=None, max_components=DEFAULT_MAX_COMPONENTS, crossvalidation_kwargs=None,
                 device='auto', random_state=0, references='all', progress=None, search=None, with_linear=None,
                 layer_inputs=False):
        if config == 'paper':  # the paper's network on the paper's inputs: every component, unscaled
            config, max_components = network.NRPConfig.paper(), ALL_COMPONENTS
            self.n_components, self.scaling = 'fixed', 'none'
        if isinstance(config, str):
            raise ValueError(f"config={config!r} is unknown; give 'paper', an NRPConfig or a dict of its fields.")
        config = config if isinstance(config, network.NRPConfig) else network.NRPConfig(**(config or {}))
        main = mappings.NRP(config=config, random_state=random_state, device=device, search=search, progress=progress)
        super().__init__(main, _deprecated_with_linear(with_linear, references), max_components,
                         crossvalidation_kwargs, device, layer_inputs)
        self.search = search

    @property
    def config(self):
        return self.main.config

    @property
    def random_state(self):
        return self.main.random_state

    def _with_kernels(self):
        return self.config.linear_path or super()._with_kernels()

    def _all_layers(self):
        return self.search is not None


def _reference_metric(mapping, doc):
    """A metric scoring one reference mapping under the NRP protocol (its Score's value is that mapping's MAE)."""

    class ReferenceMetric(CrossValidatedMetric):
        def __init__(self, max_components=DEFAULT_MAX_COMPONENTS, crossvalidation_kwargs=None, device='auto'):
            super().__init__(mapping, (), max_components, crossvalidation_kwargs, device)

    ReferenceMetric.__doc__ = doc
    return ReferenceMetric


LeastSquaresErrorMetric = _reference_metric('least_squares', """Least squares on the NRP inputs under the NRP
    protocol: same splits, same prepared inputs, MAE (:class:`nrp_plugin.mappings.LeastSquares`).

    The two differ only in the mapping. (The paper's linear baseline was linear regression on the layers'
    activations; with ``NRPErrorMetric(config='paper')``'s inputs, every component unscaled, least squares is that.)
    Attrs as :class:`CrossValidatedMetric`'s.""")
LeastSquaresErrorMetric.__name__ = LeastSquaresErrorMetric.__qualname__ = 'LeastSquaresErrorMetric'
#: The former name of :class:`LeastSquaresErrorMetric`
LinearErrorMetric = LeastSquaresErrorMetric
RidgeErrorMetric = _reference_metric('ridge', """The strong linear reference under the NRP protocol: ridge
    regression on every non-zero principal component of every source layer, each site's penalty by leave-one-out
    on the split's training stimuli only (:class:`nrp_plugin.mappings.Ridge`); same splits, MAE. Attrs as
    :class:`CrossValidatedMetric`'s, with ``alpha_at_edge`` (share of penalties at the grid's edge).""")
RidgeErrorMetric.__name__ = RidgeErrorMetric.__qualname__ = 'RidgeErrorMetric'
BandedRidgeErrorMetric = _reference_metric('banded_ridge', """Banded ridge under the NRP protocol: ridge on every
    component of every layer with one weight per layer (:class:`nrp_plugin.mappings.BandedRidge`), each site's
    layer weighting and penalty chosen by leave-one-out on each split's training stimuli only; same splits, MAE.
    Attrs as :class:`CrossValidatedMetric`'s, with ``layer_weights`` (per split, each layer's mean weight).""")
BandedRidgeErrorMetric.__name__ = BandedRidgeErrorMetric.__qualname__ = 'BandedRidgeErrorMetric'
KernelRidgeErrorMetric = _reference_metric('kernel_ridge', """RBF kernel ridge on the NRP inputs under the NRP
    protocol (:class:`nrp_plugin.mappings.KernelRidge`): each site's penalty and one bandwidth per split chosen by
    leave-one-out on its training stimuli only; same splits, MAE. Attrs as
    :class:`CrossValidatedMetric`'s, with ``bandwidth`` (per split).""")
KernelRidgeErrorMetric.__name__ = KernelRidgeErrorMetric.__qualname__ = 'KernelRidgeErrorMetric'
