"""Score models on V4 and IT under Brain-Score's PLS metric and the NRP metric, with a result cache.

:func:`run_compare` loads each model once, scores it on ``<family>.<region>-pls`` and
``<family>.<region>-nrp`` for every requested family and region, and keeps one small JSON per
score under the result cache (:func:`result_cache_dir`), keyed on everything the score depends on
(:func:`nrp_plugin.app.result_cache.key_payload`: code fingerprint, metric configuration, model and
weights identity, data identity, library versions). A later run with the same key reuses it, so an
interrupted run resumes where it stopped. The tables and plots are made by :mod:`nrp_plugin.app.report`.
"""

import re
from collections import Counter

import numpy as np

from .. import mappings
from ..brainscore.out_of_core import OutOfCoreActivations, scratch_root
from ..brainscore.nrp_metric import NRPErrorMetric, neuroid_identifiers
from ..search import SearchGrid
from .activation_memo import memoize_model, model_layers
from .checks import benchmark_identifiers
from .memory_check import check_activation_memory, check_scratch_space
from .model_specs import cache_identifier, is_spec, load_spec_model
from .result_cache import (ResultCache, benchmark_metric, jsonable, key_payload, loaded_model_identity,
                           metric_configuration, result_cache_dir)
from .settings import RunSettings

# ----------------------------------------------------------------------------------------------
# scoring (module-level so tests can replace them)

def nrp_metric(settings):
    """The metric NRP benchmarks score with in this run, None for the benchmark's own default: with a nested search,
    another NRP configuration (``'paper'`` or :class:`nrp_plugin.core.network.NRPConfig` fields), other reference
    mappings than the default ones, or the factorial analysis's fits (:class:`RunSettings`)."""
    from ..mappings import DEFAULT_REFERENCES
    if settings.search_grid is None and settings.nrp_config is None and settings.references == DEFAULT_REFERENCES \
            and not settings.factorial:
        return None
    config = dict(settings.nrp_config) if isinstance(settings.nrp_config, dict) else settings.nrp_config
    search = SearchGrid.coerce(settings.search_grid) if settings.search_grid is not None else None
    references = settings.references
    if settings.factorial:  # every mapping, PLS included, on both inputs
        references = tuple(dict.fromkeys(tuple(references) + DEFAULT_REFERENCES + ('pls',)))
    return NRPErrorMetric(search=search, config=config, references=references, layer_inputs=settings.factorial)


def load_model(identifier):
    """A registered model, or the model of a spec (``torchvision:...``, ``file.py:function``)."""
    if is_spec(identifier):
        return load_spec_model(identifier)
    from brainscore_vision import load_model as _load
    return _load(identifier)


def score_layers(score, model_obj, region):
    """The layers a score was computed from, for the record: ``layer`` (the region's committed layer, or the layer
    most splits chose when the layer is chosen inside each split), ``nrp_layers`` (the NRP's inputs) and
    ``layer_choice`` (how they were chosen, :mod:`nrp_plugin.brainscore.layer_choice`)."""
    layer = score.attrs.get('layer')
    choice = jsonable(score.attrs.get('layer_choice'))
    if layer is None and isinstance(choice, dict):
        layer = choice.get('layer') or (Counter(choice['split_layer']).most_common(1)[0][0]
                                         if choice.get('split_layer') else None)
    nrp = score.attrs.get('nrp_layers')
    return {'layer': None if layer is None else str(layer),
            'nrp_layers': None if nrp is None else [str(name) for name in nrp],
            'layer_choice': choice}


def layers_markdown(records):
    """A markdown table of the layers each (family, model, region) was scored from and how they were chosen; ''
    when none is known."""
    rows = {}
    for record in records:
        entry = rows.setdefault((record['family'], record['model'], record['region']), {})
        for key in ('layer', 'nrp_layers'):
            if record.get(key):
                entry[key] = record[key]
        choice = record.get('layer_choice') or {}
        if choice.get('method'):
            entry['how'] = choice['method'] + (f" ({choice['images']})" if choice.get('images') else '')
    if not any(rows.values()):
        return ''
    lines = ['| family | model | region | layer (-pls) | NRP layers | chosen by |', '|---|---|---|---|---|---|']
    for (family, model, region), entry in rows.items():
        layer = entry.get('layer', '')
        if entry.get('how') == 'inside each split':
            layer = f'{layer} (most splits)' if layer else ''
        lines.append(f"| {family} | {model} | {region} | {layer} | {', '.join(entry.get('nrp_layers') or [])} | "
                     f"{entry.get('how', '')} |")
    return '\n'.join(lines)


def n_scored_stimuli(benchmark):
    """How many stimuli a benchmark records a model on (its assembly's stimulus set); 0 if unknown."""
    stimuli = getattr(getattr(benchmark, '_assembly', None), 'stimulus_set', None)
    return 0 if stimuli is None else len(stimuli)


def load_benchmark(identifier):
    """``brainscore_vision.load_benchmark``; Brain-Score's own real-data ``-pls`` benchmarks come wrapped so that a
    model without a region-layer map never chooses its layer on scored images (:func:`real_pls_access`)."""
    from brainscore_vision import load_benchmark as _load
    from ..brainscore.benchmark import CommittingNeuralBenchmark
    from ..brainscore.majajhong import explain_data_errors, layer_choice
    with explain_data_errors(identifier):
        benchmark = _load(identifier)
    access = real_pls_access(identifier)
    if access is not None:
        benchmark = CommittingNeuralBenchmark.wrapping(benchmark, layer_choice(access))
    return benchmark


def real_pls_access(identifier):
    """``'private'`` or ``'public'`` for Brain-Score's ``MajajHong2015[public].<region>-pls``; None otherwise."""
    match = re.fullmatch(r'MajajHong2015(public)?\.(V4|IT)-pls', identifier)
    if match is None:
        return None
    return 'public' if match.group(1) else 'private'


def score_model(model, benchmark):
    """``benchmark(model)``, as ``brainscore_vision.score`` does."""
    return benchmark(model)


def _float(value):
    if value is None:
        return None
    try:
        return float(np.asarray(getattr(value, 'values', value)).squeeze())
    except (TypeError, ValueError):
        return None


def _metadata(model_obj):
    metadata = getattr(model_obj, 'metadata', None) if model_obj is not None else None
    return metadata if isinstance(metadata, dict) else {}


def model_sparsity(model_obj):
    """The fraction of a model's weights that are zero, as its ``metadata`` states it:
    ``measured_sparsity``, else ``sparsity`` (the intended one), else None."""
    metadata = _metadata(model_obj)
    for key in ('measured_sparsity', 'sparsity'):
        if metadata.get(key) is not None:
            return float(metadata[key])
    return None


def model_plot_family(model_obj):
    """The group of models a model is drawn with in the sparsity plot, as its ``metadata`` states it
    (``plot_family``, e.g. ``'ResNet50 (untrained)'``), else None."""
    family = _metadata(model_obj).get('plot_family')
    return None if family is None else str(family)


def _split_means(values, aggregate=np.mean):
    """Per-split aggregate over neuroids of a split x neuroid array (DataAssembly or array); [] if absent."""
    if values is None:
        return []
    array = np.asarray(getattr(values, 'values', values), dtype=float)
    if array.ndim != 2:
        return []
    with np.errstate(all='ignore'):
        return [float(v) for v in aggregate(array, axis=1)]


def _neuroid_ids(values):
    """The sites' ids of a split x neuroid DataAssembly (:func:`nrp_plugin.brainscore.nrp_metric.neuroid_identifiers`);
    None for anything else (a plain array, a MultiIndex of tuples)."""
    try:
        ids = neuroid_identifiers(values)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError):
        return None
    return ids if ids.ndim == 1 and not (ids.size and isinstance(ids[0], tuple)) else None


def _site_values(values):
    """Per split, per site values of a split x neuroid array, the sites ordered by ``neuroid_id``.

    Parameters
    ----------
    values : DataAssembly, array-like or None
        Split x neuroid (a DataAssembly with dims ``split`` and ``neuroid`` in either order); its neuroid ids
        (:func:`_neuroid_ids`) order the sites (stable), as the PLS metric lays out its ``raw``, so that the PLS and
        the NRP records of one benchmark family list the same site at the same index.

    Returns
    -------
    values : list of list of float or None
        Split x site, NaN as None (JSON); [] when absent or not two-dimensional.
    neuroid_ids : list of str or None
        The sites' ``neuroid_id`` in that order; None without the coordinate.
    """
    if values is None:
        return [], None
    dims = tuple(getattr(values, 'dims', ()))
    if set(dims) == {'split', 'neuroid'} and dims[0] != 'split':
        values = values.transpose('split', 'neuroid')
    array = np.asarray(getattr(values, 'values', values), dtype=float)
    if array.ndim != 2:
        return [], None
    ids = _neuroid_ids(values)
    if ids is not None and ids.shape == (array.shape[1],):
        order = np.argsort(ids, kind='stable')
        array, ids = array[:, order], [str(i) for i in ids[order]]
    else:
        ids = None
    return [[float(v) if np.isfinite(v) else None for v in split] for split in array], ids


#: The shared measures a record keeps of every mapping, as ``<mapping>_<measure>`` (the Score's attrs' names)
MEASURE_KEYS = ('mae', 'mae_error', 'r2', 'r2_error', 'pearson')
#: A reference mapping's attrs that are not what it reports (:meth:`nrp_plugin.mappings.Mapping.figures`)
_SHARED_ATTRS = MEASURE_KEYS + ('raw',)


def _mapping_names(raw_attrs):
    """The mappings an NRP benchmark's metric fitted, the main one first: its ``mappings`` attr, or for a Score
    without it, the NRP and every registered mapping it reports (``<name>_mae``)."""
    found = raw_attrs.get('mappings')
    if found:
        return [str(name) for name in found]
    return ['nrp'] + [name for name in mappings.names() if name != 'nrp' and f'{name}_mae' in raw_attrs]


def summarize(score, kind):
    """The numbers the table needs from a benchmark's Score (JSON-able dict).

    Every mapping a Score reports gets the same keys: ``<m>_mae``, ``<m>_mae_error`` (SEM over splits),
    ``<m>_r2``, ``<m>_r2_error``, ``<m>_pearson`` (median over sites, mean over splits), the per-split MAE
    ``split_<m>_mae`` and the per-split, per-site MAE ``site_<m>_mae`` (the sites ordered by ``neuroid_id``,
    :func:`_site_values`, listed once in ``site_neuroid_id``); None / [] when the metric does not report it,
    never 0.

    PLS benchmarks (mapping ``pls``): ``raw_r`` (= ``pls_pearson``), ``split_pls_r``, ``site_pls_r`` (split x site
    r), the internal consistency ``ceiling``, and the MAE figures of the same predictions when the metric reports
    them (``pls_torch``; None for Brain-Score's own ``pls``). NRP benchmarks: ``mappings`` (the NRP, then the
    references fitted on the same splits), the NRP-error (``nrp_error`` = ``nrp_mae``, ``nrp_error_sem``,
    ``pearson``, ``split_nrp_error``), the noise floor (``ceiling``), the mean-predictor MAE, the NRP's ``config``
    and per-split ``linear_start_every_component``, ``linear_start_banded`` and ``linear_path_weight``, each
    reference's measures, and what each reference reports per split, as ``<m>_<figure>`` (e.g.
    ``banded_ridge_layer_weights``: per split, each layer's weight, mean over sites; ``kernel_ridge_bandwidth``).

    Both kinds keep every split's held-out predictions in ``heldout`` (:class:`nrp_plugin.inference.HeldOut`; None
    when the metric does not report them); the result cache stores them beside the record
    (:meth:`nrp_plugin.app.result_cache.ResultCache.put`).
    """
    attrs = score.attrs
    record = {'kind': kind, 'score': _float(score), 'score_error': _float(attrs.get('error')),
              'ceiling': _float(attrs.get('ceiling'))}
    raw = attrs.get('raw')
    raw_attrs = getattr(raw, 'attrs', {}) if raw is not None else {}
    if kind == 'pls':
        record['raw_r'] = _float(raw)
        record['raw_r_error'] = _float(raw_attrs.get('error'))
        record['split_pls_r'] = _split_means(raw_attrs.get('raw'), np.nanmedian)
        record['site_pls_r'], record['site_neuroid_id'] = _site_values(raw_attrs.get('raw'))
        record['pls_pearson'] = record['raw_r']
        record['pls_mae'] = _float(raw_attrs.get('mae'))
        record['pls_mae_error'] = _float(raw_attrs.get('mae_error'))
        record['split_pls_mae'] = _split_means(raw_attrs.get('mae_raw'))
        sites, ids = _site_values(raw_attrs.get('mae_raw'))
        record['site_pls_mae'] = sites if ids == record['site_neuroid_id'] else []
        record['heldout'] = raw_attrs.get('heldout')
        return record
    names = _mapping_names(raw_attrs)
    main = names[0]
    record.update(mappings=names, nrp_error=_float(attrs.get('nrp_error', raw)),
                  nrp_error_sem=_float(attrs.get('nrp_error_sem')), pearson=_float(raw_attrs.get('pearson')),
                  mean_predictor_mae=_float(raw_attrs.get('mean_predictor_mae')),
                  split_nrp_error=[float(v) for v in raw_attrs.get('split_nrp_error', [])]
                  or _split_means(raw_attrs.get('raw')),
                  config=jsonable(raw_attrs.get('config')),
                  linear_start_every_component=jsonable(raw_attrs.get('linear_start_every_component')),
                  linear_start_banded=jsonable(raw_attrs.get('linear_start_banded')),
                  linear_path_weight=jsonable(raw_attrs.get('linear_path_weight')))
    record.update({f'{main}_mae': _float(raw), f'{main}_mae_error': _float(raw_attrs.get('error')),
                   f'{main}_r2': _float(raw_attrs.get('r2')), f'{main}_r2_error': _float(raw_attrs.get('r2_error')),
                   f'{main}_pearson': record['pearson'], f'split_{main}_mae': record['split_nrp_error']})
    record[f'site_{main}_mae'], record['site_neuroid_id'] = _site_values(raw_attrs.get('raw'))
    references = [name for name, mapping in mappings.registered().items()
                  if name != main and mapping.standard_benchmark is None]
    for name in dict.fromkeys(names[1:] + references):  # every reference, None / [] where not reported
        for measure in MEASURE_KEYS:
            record[f'{name}_{measure}'] = _float(raw_attrs.get(f'{name}_{measure}'))
        record[f'split_{name}_mae'] = _split_means(raw_attrs.get(f'{name}_raw'))
        sites, ids = _site_values(raw_attrs.get(f'{name}_raw'))
        record[f'site_{name}_mae'] = sites if ids == record['site_neuroid_id'] else []
        prefix = f'{name}_'
        for key, value in raw_attrs.items():  # what the mapping reports besides the shared measures
            if key.startswith(prefix) and key[len(prefix):] not in _SHARED_ATTRS:
                record[key] = jsonable(value)
        mapping = mappings.registered().get(name)
        for figure in getattr(mapping, 'per_split_figures', ()):
            record.setdefault(f'{prefix}{figure}', [])
    record['heldout'] = raw_attrs.get('heldout')
    return record


def train_size(benchmark):
    """The training fraction of the splits a loaded benchmark's metric draws (Brain-Score's 0.9 by default)."""
    from ..brainscore.splits import CrossValidationSpec
    metric = benchmark_metric(benchmark, 'nrp') or benchmark_metric(benchmark, 'pls')
    spec = getattr(metric, 'spec', None)
    if not isinstance(spec, CrossValidationSpec):
        kwargs = getattr(metric, 'crossvalidation_kwargs', None)
        try:
            spec = CrossValidationSpec.from_kwargs(kwargs if isinstance(kwargs, dict) else None)
        except (ValueError, TypeError):
            spec = CrossValidationSpec()
    return float(spec.train_size)


def _progress(iterable, **kwargs):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return iterable
    return tqdm(iterable, **kwargs)


def pls_metric():
    """The PLS metric a comparison scores ``-pls`` benchmarks with unless ``reference_pls``:
    ``pls_torch``, Brain-Score's PLS (same algorithm, same splits, Pearson r within 1e-8) in kernel form."""
    from brainscore_vision import load_metric
    return load_metric('pls_torch', crossvalidation_kwargs=dict(stratification_coord='object_name'))


class ModelFailed(RuntimeError):
    """A model that could not be scored: a one-line reason (its row in the tables says it)."""


#: Errors that end a whole run rather than one model's scores (the user's interrupt)
FATAL = (KeyboardInterrupt, SystemExit)


def failure_reason(error):
    """One line saying why a model could not be scored."""
    import torch
    if isinstance(error, getattr(torch, 'OutOfMemoryError', ())):
        kind = 'out of GPU memory'
    elif isinstance(error, MemoryError):
        kind = 'out of memory'
    else:
        kind = type(error).__name__
    text = ' '.join(str(error).split())
    return f"{kind}: {text[:1000]}" if text else kind


def failure_record(model_id, reason):
    """The record of a model that could not be scored (``kind='failed'``)."""
    return {'kind': 'failed', 'model': model_id, 'reason': reason}


class Comparison:
    """One run's benchmarks (each loaded once, with the metric this run scores it with) and result cache.

    Parameters
    ----------
    settings : RunSettings
    """

    def __init__(self, settings):
        self.settings = settings
        self.cache = ResultCache(settings.cache_directory if settings.cache_directory is not None
                                 else result_cache_dir())
        self.benchmarks = benchmark_identifiers(settings.families, settings.regions)
        self._loaded, self._payloads = {}, {}

    def benchmark(self, benchmark_id, kind):
        """Load a benchmark once per run, with the metric this run scores it with (no model needed)."""
        if benchmark_id not in self._loaded:
            benchmark = load_benchmark(benchmark_id)
            if kind == 'nrp':
                metric = nrp_metric(self.settings)
                if metric is not None:
                    benchmark.metric = metric
            if kind == 'pls' and not self.settings.reference_pls:
                benchmark._similarity_metric = pls_metric()
            self._loaded[benchmark_id] = benchmark
            self._payloads[benchmark_id] = metric_configuration(kind, benchmark_metric(benchmark, kind))
        return self._loaded[benchmark_id]

    def _payload(self, model_id, benchmark_id):
        kind = benchmark_id.rsplit('-', 1)[1]
        self.benchmark(benchmark_id, kind)
        return key_payload(cache_identifier(model_id), benchmark_id, self._payloads[benchmark_id])

    def cached(self, model_id):
        """Whether every score of ``model_id`` is in the result cache (no model is built to know it: a spec is
        keyed on its file's or weights' hash)."""
        if not self.settings.use_cache:
            return False
        return all(self.cache.get(self._payload(model_id, benchmark_id)) is not None
                   for benchmark_id in self.benchmarks)

    def model_records(self, model_id):
        """Every score of one model, from the cache or computed (and then cached).

        Raises
        ------
        ModelFailed
            When the model cannot be built or scored (an error in its code, weights that cannot be had, too little
            memory or scratch disk); the reason is one line. Data that cannot be had and interrupts end the run
            instead.
        """
        from ..brainscore.majajhong import DataUnavailableError, data_error
        model_obj = None
        records = []
        bench_bar = _progress(self.benchmarks, desc=model_id, unit='benchmark', leave=False,
                              disable=not self.settings.progress)
        try:
            for benchmark_id in bench_bar:
                family, rest = benchmark_id.split('.', 1)
                region, kind = rest.rsplit('-', 1)
                # the key is known without building the model: a hit costs a benchmark load (once per run)
                benchmark = self.benchmark(benchmark_id, kind)
                payload = self._payload(model_id, benchmark_id)
                record = self.cache.get(payload) if self.settings.use_cache else None
                cached = record is not None
                if record is None:
                    if model_obj is None:
                        model_obj = self._build(model_id, benchmark)
                    score = score_model(model_obj, benchmark)
                    record = summarize(score, kind)
                    record.update(model=model_id, benchmark=benchmark_id, family=family, region=region,
                                  sparsity=model_sparsity(model_obj), plot_family=model_plot_family(model_obj),
                                  train_size=train_size(benchmark), model_loaded=loaded_model_identity(model_obj),
                                  **score_layers(score, model_obj, region))
                    record = self.cache.put(payload, record)
                records.append(dict(record, cached=cached))
        except (DataUnavailableError,) + FATAL:  # data that cannot be had fails every model alike
            raise
        except Exception as error:  # noqa: BLE001 - one model's failure is its row, the others go on
            unavailable = data_error(error, self.benchmarks)
            if unavailable is not None:  # Brain-Score's own loader failed on missing data: that ends the run
                raise unavailable from error
            raise ModelFailed(failure_reason(error)) from error
        return records

    def _build(self, model_id, benchmark):
        model_obj = load_model(model_id)
        # each layer's activations computed once for all of this model's benchmarks; an uncommitted model's layers
        # are chosen later, from every candidate layer, so each pass records them all
        candidates = list(getattr(model_obj, 'layers', []))
        by_region = {region: model_layers(model_obj, [region]) or candidates for region in self.settings.regions}
        prefetch = list(dict.fromkeys(layer for layers in by_region.values() for layer in layers))
        # Brain-Score's own pls reads features, not the out-of-core Gram form
        memo = memoize_model(model_obj, prefetch=prefetch,
                             out_of_core=self.settings.out_of_core and not self.settings.reference_pls,
                             progress=self.settings.progress)
        if isinstance(memo, OutOfCoreActivations):
            check_scratch_space(model_obj, model_id, by_region, n_scored_stimuli(benchmark), scratch_root())
        else:
            check_activation_memory(model_obj, model_id, by_region, n_scored_stimuli(benchmark))
        return model_obj


def run_compare(settings=None, failures=None, log=print, **fields):
    """Score every model on every ``<family>.<region>-<pls|nrp>`` benchmark, one model after another.

    Parameters
    ----------
    settings : RunSettings, optional
        What to score and how (:class:`nrp_plugin.app.settings.RunSettings`); ``fields`` change some of them (or
        make them, without ``settings``).
    failures : dict of str -> str, optional
        Models already known to fail, with why: not tried again, reported as failed.
    log : callable
        Receives a line per model that fails, and about unreadable cache files.

    Returns
    -------
    list of dict
        One record per (model, benchmark) as :func:`summarize` makes it, plus ``model``,
        ``benchmark``, ``family``, ``region``, ``sparsity`` (:func:`model_sparsity`), ``plot_family``
        (:func:`model_plot_family`), ``train_size``, ``model_loaded`` (what
        the loaded model's ``metadata`` said about its weights), ``key`` (the cache key's payload,
        :func:`nrp_plugin.app.result_cache.key_payload`) and ``cached``; and one :func:`failure_record` per model
        that could not be scored (the other models go on).

    Notes
    -----
    Each benchmark is loaded once per run before the cache lookup, so the key holds the metric
    the benchmark really scores with; the model is built only when one of its scores is missing.
    """
    settings = (settings or RunSettings()).replace(**fields) if fields else (settings or RunSettings())
    comparison = Comparison(settings)
    records = []
    for model_id in _progress(list(settings.models), desc='models', unit='model', disable=not settings.progress):
        if failures and model_id in failures:
            records.append(failure_record(model_id, failures[model_id]))
            continue
        try:
            records.extend(comparison.model_records(model_id))
        except ModelFailed as error:
            log(f'{model_id}: {error}')
            records.append(failure_record(model_id, str(error)))
    if comparison.cache.rejected:
        log(f'result cache: {len(comparison.cache.rejected)} unreadable or mismatched file(s) recomputed, e.g. '
            f'{comparison.cache.rejected[0]}')
    return records
