"""The result cache: one small JSON per score, keyed on everything the score depends on.

The key's payload (:func:`key_payload`) holds

- ``code``: a fingerprint of the code that computes a score: a sha256 over this package's source
  files and the plugin folders Brain-Score imports (the installed copies when installed), computed
  once per process (:func:`code_fingerprint`);
- ``metric``: the configuration of the metric the loaded benchmark really scores with, read from
  the metric object (:func:`metric_configuration`, :func:`describe`), plus the device its computations run on;
- ``model``: the model's identity as it can be known *without building the model*
  (:func:`model_identity`): its identifier, the hash of the plugin folder that registers it, and
  the identity of its weights (the published hash a pretrained file must match, or the seed);
- ``data``: the data's identity (:func:`data_identity`): the synthetic world's configuration hash,
  or the sha1s of the MajajHong2015 files (checked by Brain-Score on every load);
- ``versions``: torch, numpy, brainscore-vision, brainscore-core and nrp_plugin.

A later run reuses a record only when the whole payload is equal; anything else recomputes.
Records are written atomically (a temporary file renamed into place), so concurrent runs on one
cache directory never see half-written files, and a corrupted or truncated file is recomputed.
"""
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import re
from pathlib import Path

import numpy as np

from .. import __version__, registry
from ..brainscore.majajhong import FILES as MAJAJHONG_FILES
from ..core.device import resolve_device
from ..storage import hashing
from ..storage.cache import atomic_write_text, cache_dir
from ..synthetic.config import PRESET_ENV, SEED_ENV, WorldConfig, seed_from_environment

CACHE_FORMAT = 3
# Modules that only parse arguments, check identifiers or draw tables: they cannot change a score,
# so editing them does not invalidate cached scores.
NOT_SCORING = ('app/cli.py', 'app/checks.py', 'app/run.py', 'app/settings.py', 'app/report.py', 'app/html_report.py',
               'app/contrasts.py', 'app/panels.py', 'app/ranking.py', 'app/methods.py', 'app/tables.py',
               'app/calibrate.py', 'app/recovery.py', 'inference/splits.py', 'inference/intervals.py',
               'inference/panel.py', 'inference/coverage.py', 'inference/measured_coverage.json',
               'validity/calibration.py', 'validity/recovery.py',
               'app/plots.py', 'app/report_assets/report.css', 'app/report_assets/report.js',
               'app/report_assets/report_body.html')
# a record without these fields is not a score: it is recomputed
REQUIRED_FIELDS = ('kind', 'score', 'model', 'benchmark')


def jsonable(value):
    """``value`` as plain JSON types (dataclasses and objects with ``to_dict`` included)."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    elif hasattr(value, '__dataclass_fields__'):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, sort_keys=True, default=str))


# ----------------------------------------------------------------------------------------------
# code

def code_roots():
    """``[(label, folder), ...]`` whose files make up the code fingerprint.

    The package itself and every plugin folder it ships; for a plugin folder the installed copy in
    ``brainscore_vision`` (what Brain-Score imports) when there is one, else the source.
    """
    from . import installer
    roots = [('nrp_plugin', Path(__file__).resolve().parents[1])]
    try:
        sources = installer.plugin_sources()
        installed_root = installer.brainscore_root()
    except (installer.InstallError, ImportError):
        return roots
    for (kind, name), source in sorted(sources.items()):
        installed = installed_root / kind / name
        roots.append((f'{kind}/{name}', installed if installed.is_dir() else source))
    return roots


def folder_hash(folder, exclude=()):
    """sha256 (hex) over the relative paths and bytes of a folder's files (caches and dot-files skipped)."""
    return hashing.folder_hash(folder, exclude=exclude)


@functools.lru_cache(maxsize=None)
def _fingerprint(roots):
    digest = hashlib.sha256()
    for label, folder in roots:
        exclude = NOT_SCORING if label == 'nrp_plugin' else ()
        digest.update(f'{label}:{folder_hash(folder, exclude)}\n'.encode('utf-8'))
    return digest.hexdigest()[:32]


def code_fingerprint():
    """Hash of the source files of the package and of its plugin folders, computed once per process.

    An edit takes effect for the cache in the next process, which is also when Python imports it.
    """
    return _fingerprint(tuple((label, str(folder)) for label, folder in code_roots()))


def _distribution_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions():
    """The versions of the libraries a score depends on."""
    import torch
    return {'nrp_plugin': __version__, 'torch': torch.__version__, 'numpy': np.__version__,
            'brainscore_vision': _distribution_version('brainscore-vision'),
            'brainscore_core': _distribution_version('brainscore-core')}


# ----------------------------------------------------------------------------------------------
# metric

_ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')


def describe(value, depth=4):
    """A JSON-able, deterministic description of ``value`` (an object's class and public attributes).

    Memory addresses are removed so the same configuration always describes the same way.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [describe(item, depth - 1) for item in value]
    if isinstance(value, dict):
        return {str(key): describe(item, depth - 1) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if hasattr(value, 'to_dict') and not isinstance(value, type):
        return describe(value.to_dict(), depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {'class': type(value).__qualname__, **describe(dataclasses.asdict(value), depth)}
    if isinstance(value, np.ndarray):
        return {'array': hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16],
                'shape': list(value.shape)}
    cls = type(value)
    name = f'{cls.__module__}.{cls.__qualname__}'
    if callable(value) and not hasattr(value, '__dict__'):
        return _ADDRESS.sub('', repr(value))
    if hasattr(value, '__qualname__'):  # functions and classes: their name
        return f'{getattr(value, "__module__", "")}.{value.__qualname__}'
    attributes = getattr(value, '__dict__', None)
    if depth <= 0 or attributes is None:
        return {'class': name, 'repr': _ADDRESS.sub('', repr(value))}
    return {'class': name, **{key: describe(item, depth - 1) for key, item in sorted(attributes.items())
                              if not key.startswith('__') and key not in ('progress',)}}


def benchmark_metric(benchmark, kind):
    """The metric object a loaded benchmark scores with (``metric`` or Brain-Score's ``_similarity_metric``)."""
    for attribute in (('metric', '_metric') if kind == 'nrp' else ('_similarity_metric', 'metric')):
        metric = getattr(benchmark, attribute, None)
        if metric is not None:
            return metric
    return None


def metric_configuration(kind, metric):
    """The part of the key describing the metric a ``kind`` benchmark really scores with.

    Parameters
    ----------
    kind : {'nrp', 'pls'}
    metric : object
        The loaded benchmark's metric (:func:`benchmark_metric`); None when it has none.
    """
    described = {'kind': kind, 'metric': describe(metric)}
    device = getattr(metric, 'device', None)
    if device is not None:  # 'auto' is resolved: a GPU and a CPU score differ in the last digits
        try:
            described['resolved_device'] = resolve_device(device).type
        except (ValueError, RuntimeError):
            described['resolved_device'] = str(device)
    return described


# ----------------------------------------------------------------------------------------------
# model

def _model_plugin_folders():
    """``{identifier: (label, folder)}`` for the model plugin folders Brain-Score would import."""
    from . import installer
    try:
        root = installer.brainscore_root()
    except ImportError:
        return {}
    found = {}
    models = root / 'models'
    if not models.is_dir():
        return found
    for folder in sorted(models.iterdir()):
        init = folder / '__init__.py'
        if not init.is_file():
            continue
        try:
            for kind, identifier in installer.registrations(init):
                if kind == 'model_registry':
                    found[identifier] = (f'models/{folder.name}', folder)
        except (OSError, UnicodeDecodeError):
            continue
    return found


@functools.lru_cache(maxsize=1)
def _model_plugins():
    return _model_plugin_folders()


@functools.lru_cache(maxsize=None)
def _plugin_hash(folder):
    return folder_hash(folder)[:24]


def model_identity(identifier):
    """The model's part of the key, computed without loading the model.

    Returns ``{'identifier', 'plugin', 'plugin_hash', 'weights'}``: the plugin folder that registers
    the identifier in the installed tree and its content hash, and :func:`nrp_plugin.registry.declared_weights`
    (None: weights not identifiable before loading; see docs/compare.md).
    """
    plugin = _model_plugins().get(identifier)
    return {'identifier': identifier, 'plugin': plugin[0] if plugin else None,
            'plugin_hash': _plugin_hash(str(plugin[1])) if plugin else None,
            'weights': registry.declared_weights(identifier)}


def loaded_model_identity(model):
    """What a loaded model says about its weights (``model.metadata``: weights, seed, sparsity); {} if nothing."""
    metadata = getattr(model, 'metadata', None)
    if not isinstance(metadata, dict):
        return {}
    keys = ('weights', 'seed', 'pretrained', 'weights_sha256', 'weights_sha1', 'measured_sparsity', 'pruning')
    return jsonable({key: metadata[key] for key in keys if key in metadata})


# ----------------------------------------------------------------------------------------------
# data

def world_identity(preset=None):
    """The synthetic world the registered data load: preset name, seed and configuration hash.

    ``'<preset>:<hash>'``, or ``'<preset>@seed<k>:<hash>'`` when ``$NRP_SYNTHETIC_SEED`` draws the preset at another
    seed ``k`` than its own. The hash covers every generation setting (the seed included) and the generator version,
    so a changed world never reuses scores cached for another under the same preset name.
    """
    name = preset if preset is not None else (os.environ.get(PRESET_ENV) or 'default')
    try:
        seed = seed_from_environment()
    except ValueError:  # not a seed: the data plugin will refuse it; key on the text alone
        return f"{name}@{SEED_ENV}={os.environ.get(SEED_ENV)!r}"
    try:
        own = WorldConfig.preset(name)
    except ValueError:  # not a preset name: the data plugin will refuse it; key on the name alone
        return name if seed is None else f'{name}@seed{seed}'
    config = own if seed is None else WorldConfig.preset(name, seed=seed)
    label = name if config.seed == own.seed else f'{name}@seed{config.seed}'
    return f'{label}:{config.config_hash()}'


def data_identity(benchmark):
    """The data a benchmark scores on: the synthetic world's hash, or the MajajHong2015 files' sha1s."""
    family = benchmark.split('.', 1)[0]
    if family.startswith('Synthetic'):
        return {'world': world_identity()}
    if family == 'MajajHong2015public':
        return {'files': dict((name, sha1) for name, sha1 in MAJAJHONG_FILES['public'])}
    if family == 'MajajHong2015':
        return {'files': dict((name, sha1) for name, sha1 in MAJAJHONG_FILES['private'])}
    # a family this module does not know: key on its name and, conservatively, on the synthetic world too
    return {'family': family, 'world': world_identity()}


# ----------------------------------------------------------------------------------------------

def key_payload(model, benchmark, configuration):
    """Everything a score of ``model`` on ``benchmark`` depends on (JSON-able dict)."""
    return {'format': CACHE_FORMAT, 'benchmark': benchmark, 'model': model_identity(model),
            'metric': jsonable(configuration), 'data': data_identity(benchmark), 'code': code_fingerprint(),
            'versions': versions()}


def payload_hash(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode('utf-8')).hexdigest()[:24]


def result_cache_dir(out=None):
    """``<out>/cache`` when ``out`` is given, else ``nrp_plugin.storage.cache.cache_dir('results')``."""
    return cache_dir('cache', root=out) if out is not None else cache_dir('results')


def _safe(name):
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name)


class ResultCache:
    """One JSON per key payload (:func:`key_payload`), named ``<model>__<benchmark>__<hash>.json``, and beside it the
    score's held-out predictions (``<same name>.heldout.npz``, :class:`nrp_plugin.inference.HeldOut`) when it has
    them."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.rejected = []  # files found but not used (unreadable, truncated, another key)

    def path(self, payload):
        return (self.directory /
                f"{_safe(payload['model']['identifier'])}__{_safe(payload['benchmark'])}__{payload_hash(payload)}.json")

    def get(self, payload):
        """The stored record for ``payload``, or None (absent, unreadable, truncated or another key). A record with
        held-out predictions names their file in ``heldout`` and gets its full path as ``heldout_path``."""
        path = self.path(payload)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            self.rejected.append(path)
            return None
        if (not isinstance(record, dict) or record.get('key') != jsonable(payload)
                or any(field not in record for field in REQUIRED_FIELDS)):
            self.rejected.append(path)
            return None
        return self._located(record)

    def put(self, payload, record):
        """Store a record (its ``heldout``, when a :class:`nrp_plugin.inference.HeldOut`, in its own file, written
        first, so a record never names a missing file); returns the record as :meth:`get` returns it."""
        record = dict(record, key=jsonable(payload))
        path = self.path(payload)
        heldout = record.pop('heldout', None)
        record['heldout'] = None
        if heldout is not None and not isinstance(heldout, str):
            heldout_path = path.with_name(path.stem + HELDOUT_SUFFIX)
            heldout.save(heldout_path)
            record['heldout'] = heldout_path.name
        atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
        return self._located(record)

    def _located(self, record):
        name = record.get('heldout')
        return dict(record, heldout_path=str(self.directory / name) if name else None)


#: The file name ending of a record's held-out predictions in the result cache
HELDOUT_SUFFIX = '.heldout.npz'
