"""Score models on V4 and IT under Brain-Score's PLS metric and the NRP metric, with a result cache.

:func:`run_compare` loads each model once, scores it on ``<family>.<region>-pls`` and
``<family>.<region>-nrp`` for every requested family and region, and keeps one small JSON per
score under the result cache (:func:`result_cache_dir`). A later run with the same model,
benchmark, metric configuration, ``nrp_plugin`` version and synthetic preset reuses it, so an
interrupted run resumes where it stopped. The tables and plots are made by :mod:`nrp_plugin.report`.
"""
import difflib
import hashlib
import json
import os
import re
import uuid
from pathlib import Path

import numpy as np

from . import __version__
from .activation_memo import memoize_model, model_layers
from .cache import atomic_write_text, cache_dir

REGIONS = ('V4', 'IT')
KINDS = ('pls', 'nrp')
DEFAULT_FAMILIES = ('SyntheticMajajHong2015',)
# Offline-capable models covering each architecture and the pruning contrast (0 vs 80%); every
# ResNet50 adds about three minutes on a 2-core CPU, so intermediate sparsities are opt-in (--models).
DEFAULT_MODELS = ('cornet_s_untrained', 'resnet50_untrained_pruned00', 'resnet50_untrained_pruned80',
                  'SyntheticMajajHong2015-teacher')
PRESET_ENV = 'NRP_SYNTHETIC_PRESET'
CACHE_FORMAT = 1


class CompareError(RuntimeError):
    """A problem found before (or instead of) scoring: a one-line message for the user."""


# ----------------------------------------------------------------------------------------------
# identifiers

def registered_identifiers(root=None):
    """Identifiers registered in the installed ``brainscore_vision`` tree, read from the
    registration lines of every ``<kind>/*/__init__.py`` (no plugin is imported).

    Returns
    -------
    dict
        ``{'model_registry': set, 'benchmark_registry': set, 'metric_registry': set, 'data_registry': set}``
    """
    from . import installer
    root = Path(root) if root is not None else installer.brainscore_root()
    found = {name: set() for name in installer.REGISTRY_NAMES.values()}
    for kind in installer.PLUGIN_KINDS:
        for init in sorted((root / kind).glob('*/__init__.py')):
            try:
                for registry, identifier in installer.registrations(init):
                    found.setdefault(registry, set()).add(identifier)
            except (OSError, UnicodeDecodeError):
                continue
    return found


def own_identifiers():
    """Identifiers this package's plugin folders register: ``{registry: set}``."""
    from . import installer
    found = {}
    for (kind, name), folder in installer.plugin_sources().items():
        for registry, identifier in installer.registrations(folder / '__init__.py'):
            found.setdefault(registry, set()).add(identifier)
    return found


def benchmark_identifiers(families, regions=REGIONS, kinds=KINDS):
    """``<family>.<region>-<kind>`` for every family, region and kind, in that order."""
    return [f'{family}.{region}-{kind}' for family in families for region in regions for kind in kinds]


def _closest(name, candidates, n=5):
    return difflib.get_close_matches(name, sorted(candidates), n=n, cutoff=0.4)


def _unknown_message(what, names, candidates, own):
    parts = []
    for name in names:
        close = _closest(name, candidates)
        hint = f"closest registered: {', '.join(close)}" if close else 'no close registered identifier'
        if name in own:
            hint += '; it is one of nrp_plugin\'s: run `nrp-plugin install` first'
        parts.append(f"'{name}' ({hint})")
    return f"unknown {what}: " + '; '.join(parts)


def check_identifiers(models=(), benchmarks=(), registered=None):
    """Raise :class:`CompareError` naming unknown model/benchmark identifiers and their closest
    registered ones (difflib). Benchmark families are suggested as families."""
    registered = registered if registered is not None else registered_identifiers()
    try:
        own = own_identifiers()
    except Exception:  # noqa: BLE001 - only a hint
        own = {}
    problems = []
    known_models = registered.get('model_registry', set())
    unknown = [m for m in models if m not in known_models]
    if unknown:
        problems.append(_unknown_message('model', unknown, known_models, own.get('model_registry', set())))
    known_benchmarks = registered.get('benchmark_registry', set())
    unknown = [b for b in benchmarks if b not in known_benchmarks]
    if unknown:
        problems.append(_unknown_message('benchmark', unknown, known_benchmarks,
                                         own.get('benchmark_registry', set())))
    if problems:
        raise CompareError(' | '.join(problems))


def check_families(families, regions=REGIONS, registered=None):
    """Each family must register ``<family>.<region>-pls`` and ``-nrp``; else a CompareError that
    suggests the closest families (prefixes before the first '.')."""
    registered = registered if registered is not None else registered_identifiers()
    known = registered.get('benchmark_registry', set())
    families_known = {b.split('.', 1)[0] for b in known if '.' in b}
    problems = []
    for family in families:
        missing = [b for b in benchmark_identifiers([family], regions) if b not in known]
        if not missing:
            continue
        if family not in families_known:
            close = _closest(family, families_known)
            hint = f"closest families: {', '.join(close)}" if close else 'no close family'
            problems.append(f"unknown benchmark family '{family}' ({hint})")
        else:
            problems.append(_unknown_message('benchmark', missing, known, set()))
    if problems:
        raise CompareError(' | '.join(problems))


def check_writable(out):
    """Create ``out`` and write/remove a probe file in it; CompareError if that fails."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f'.nrp_probe_{uuid.uuid4().hex}'
        probe.write_text('probe', encoding='utf-8')
        probe.unlink()
    except OSError as error:
        raise CompareError(f"cannot write into --out {out}: {error.strerror or error}") from None
    return out


# ----------------------------------------------------------------------------------------------
# metric configuration and the result cache

def load_search_grid(search=False, grid_path=None):
    """The :class:`nrp_plugin.search.SearchGrid` asked for by ``--search``/``--grid``, or None."""
    if not search and grid_path is None:
        return None
    try:
        from .search import SearchGrid
    except ImportError as error:
        raise CompareError(f"--search/--grid need nrp_plugin.search, which cannot be imported ({error})") from None
    if grid_path is not None:
        path = Path(grid_path)
        if not path.is_file():
            raise CompareError(f"--grid {grid_path}: no such file")
        try:
            return SearchGrid.from_json(str(path))
        except Exception as error:  # noqa: BLE001 - one line for the user
            raise CompareError(f"--grid {grid_path}: cannot read a search grid ({error})") from None
    return SearchGrid.default()


def _jsonable(value):
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    elif hasattr(value, '__dataclass_fields__'):
        import dataclasses
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def nrp_metric(search_grid=None):
    """The metric NRP benchmarks score with in this run (None: the benchmark's own default)."""
    if search_grid is None:
        return None
    from .metrics import NRPErrorMetric
    return NRPErrorMetric(search=search_grid)


def metric_configuration(kind, search_grid=None, reference_pls=False):
    """A JSON-able description of the metric a benchmark of ``kind`` scores with: part of the cache key."""
    if kind == 'nrp':
        from .metrics import NRPErrorMetric
        metric = NRPErrorMetric()
        described = {'metric': 'NRPErrorMetric', 'config': _jsonable(metric.config),
                     'max_components': int(metric.max_components), 'random_state': int(metric.random_state),
                     'crossvalidation_kwargs': _jsonable(metric.crossvalidation_kwargs),
                     'with_linear': bool(metric.with_linear)}
        if search_grid is not None:
            described['search'] = _jsonable(search_grid)
        return described
    import brainscore_vision
    if reference_pls:
        return {'metric': 'brainscore pls', 'brainscore_vision': getattr(brainscore_vision, '__version__', 'unknown')}
    return {'metric': 'pls_torch', 'n_components': 25, 'crossvalidation': 'brainscore pls splits'}


def world_identity(preset=None):
    """The synthetic world the registered data load: preset name and configuration hash.

    The hash covers every generation setting and the generator version, so a changed world never
    reuses scores cached for an older one under the same preset name.
    """
    from .synthetic import WorldConfig
    name = preset if preset is not None else (os.environ.get(PRESET_ENV) or 'default')
    try:
        return f'{name}:{WorldConfig.preset(name).config_hash()}'
    except ValueError:  # not a preset name: the data plugin will refuse it; key on the name alone
        return name


def result_key(model, benchmark, configuration, version=None, preset=None):
    """Hash of everything a cached score depends on."""
    payload = {'format': CACHE_FORMAT, 'model': model, 'benchmark': benchmark, 'configuration': configuration,
               'nrp_plugin': version if version is not None else __version__,
               'preset': world_identity(preset)}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:24], payload


def result_cache_dir(out=None):
    """``<out>/cache`` when ``out`` is given, else ``nrp_plugin.cache.cache_dir('results')``."""
    return cache_dir('cache', root=out) if out is not None else cache_dir('results')


def _safe(name):
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name)


class ResultCache:
    """One JSON per (model, benchmark, configuration, version, preset)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def path(self, model, benchmark, configuration):
        key, _ = result_key(model, benchmark, configuration)
        return self.directory / f'{_safe(model)}__{_safe(benchmark)}__{key}.json'

    def get(self, model, benchmark, configuration):
        path = self.path(model, benchmark, configuration)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return None
        _, payload = result_key(model, benchmark, configuration)
        return record if record.get('key') == payload else None

    def put(self, model, benchmark, configuration, record):
        _, payload = result_key(model, benchmark, configuration)
        record = dict(record, key=payload)
        atomic_write_text(self.path(model, benchmark, configuration), json.dumps(record, indent=1, sort_keys=True))
        return record


# ----------------------------------------------------------------------------------------------
# scoring (module-level so tests can replace them)

def load_model(identifier):
    from brainscore_vision import load_model as _load
    return _load(identifier)


def load_benchmark(identifier):
    from brainscore_vision import load_benchmark as _load
    return _load(identifier)


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


def model_sparsity(model_obj, identifier):
    """``model.metadata['measured_sparsity']`` or NN/100 parsed from ``..._prunedNN``; None otherwise."""
    metadata = getattr(model_obj, 'metadata', None) if model_obj is not None else None
    if isinstance(metadata, dict) and metadata.get('measured_sparsity') is not None:
        return float(metadata['measured_sparsity'])
    match = re.search(r'pruned(\d+)', identifier)
    return int(match.group(1)) / 100 if match else None


def summarize(score, kind):
    """The numbers the table needs from a benchmark's Score (JSON-able dict)."""
    attrs = score.attrs
    record = {'kind': kind, 'score': _float(score), 'score_error': _float(attrs.get('error')),
              'ceiling': _float(attrs.get('ceiling'))}
    raw = attrs.get('raw')
    if kind == 'pls':
        record['raw_r'] = _float(raw)
        record['raw_r_error'] = _float(raw.attrs.get('error')) if raw is not None else None
        return record
    raw_attrs = raw.attrs
    record.update(nrp_error=_float(attrs.get('nrp_error', raw)), nrp_error_sem=_float(attrs.get('nrp_error_sem')),
                  pearson=_float(raw_attrs.get('pearson')),
                  linear_mae=_float(raw_attrs.get('linear_mae')),
                  linear_mae_error=_float(raw_attrs.get('linear_mae_error')),
                  linear_r2=_float(raw_attrs.get('linear_r2')),
                  linear_r2_error=_float(raw_attrs.get('linear_r2_error')),
                  mean_predictor_mae=_float(raw_attrs.get('mean_predictor_mae')),
                  split_nrp_error=[float(v) for v in raw_attrs.get('split_nrp_error', [])],
                  config=_jsonable(raw_attrs.get('config')))
    linear_raw = raw_attrs.get('linear_raw')
    if linear_raw is not None:
        values = np.asarray(getattr(linear_raw, 'values', linear_raw), dtype=float)
        record['split_linear_mae'] = [float(v) for v in values.reshape(values.shape[0], -1).mean(axis=1)]
    else:
        record['split_linear_mae'] = []
    return record


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


def run_compare(models=DEFAULT_MODELS, families=DEFAULT_FAMILIES, regions=REGIONS, cache_directory=None,
                use_cache=True, search_grid=None, progress=True, log=print, reference_pls=False):
    """Score every model on every ``<family>.<region>-<pls|nrp>`` benchmark.

    Parameters
    ----------
    models, families, regions : sequences of str
    cache_directory : path, optional
        Where the per-score JSON files live (:func:`result_cache_dir` by default).
    use_cache : bool
        False: recompute every score (the results are still written to the cache).
    search_grid : SearchGrid, optional
        Replace every NRP benchmark's metric with ``NRPErrorMetric(search=search_grid)``.

    reference_pls : bool
        Score ``-pls`` benchmarks with Brain-Score's own ``pls`` (scikit-learn, slow) instead of
        ``pls_torch`` (same scores, see :func:`pls_metric`).

    Returns
    -------
    list of dict
        One record per (model, benchmark) as :func:`summarize` makes it, plus ``model``,
        ``benchmark``, ``family``, ``region``, ``sparsity`` and ``cached``.
    """
    cache = ResultCache(cache_directory if cache_directory is not None else result_cache_dir())
    benchmarks = benchmark_identifiers(families, regions)
    configurations = {kind: metric_configuration(kind, search_grid, reference_pls) for kind in KINDS}
    loaded_benchmarks = {}
    records = []
    model_bar = _progress(list(models), desc='models', unit='model', disable=not progress)
    for model_id in model_bar:
        model_obj = None
        bench_bar = _progress(benchmarks, desc=model_id, unit='benchmark', leave=False, disable=not progress)
        for benchmark_id in bench_bar:
            family, rest = benchmark_id.split('.', 1)
            region, kind = rest.rsplit('-', 1)
            configuration = configurations[kind]
            record = cache.get(model_id, benchmark_id, configuration) if use_cache else None
            cached = record is not None
            if record is None:
                if model_obj is None:
                    model_obj = load_model(model_id)
                    # each layer's activations computed once for all of this model's benchmarks
                    memoize_model(model_obj, prefetch=model_layers(model_obj, regions))
                if benchmark_id not in loaded_benchmarks:
                    benchmark = load_benchmark(benchmark_id)
                    if kind == 'nrp' and search_grid is not None:
                        benchmark.metric = nrp_metric(search_grid)
                    if kind == 'pls' and not reference_pls:
                        benchmark._similarity_metric = pls_metric()
                    loaded_benchmarks[benchmark_id] = benchmark
                score = score_model(model_obj, loaded_benchmarks[benchmark_id])
                record = summarize(score, kind)
                record.update(model=model_id, benchmark=benchmark_id, family=family, region=region,
                              sparsity=model_sparsity(model_obj, model_id))
                record = cache.put(model_id, benchmark_id, configuration, record)
            record = dict(record, cached=cached)
            record.pop('key', None)
            records.append(record)
        del model_obj
    return records
