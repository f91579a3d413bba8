"""The result cache: one small JSON per score, keyed on everything the score depends on.

A later run with the same model, benchmark, metric configuration, package version and synthetic
world reuses a cached record; anything else recomputes. Records are written atomically.
"""
import hashlib
import json
import os
import re
from pathlib import Path

from .. import __version__
from ..storage.cache import atomic_write_text, cache_dir
from ..brainscore.nrp_metric import NRPErrorMetric
from ..synthetic.world import PRESET_ENV, WorldConfig

CACHE_FORMAT = 1


def jsonable(value):
    """``value`` as plain JSON types (dataclasses and objects with ``to_dict`` included)."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    elif hasattr(value, '__dataclass_fields__'):
        import dataclasses
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def metric_configuration(kind, search_grid=None, reference_pls=False):
    """A JSON-able description of the metric a benchmark of ``kind`` scores with: part of the cache key."""
    if kind == 'nrp':
        metric = NRPErrorMetric()
        described = {'metric': 'NRPErrorMetric', 'config': jsonable(metric.config),
                     'max_components': int(metric.max_components), 'random_state': int(metric.random_state),
                     'crossvalidation_kwargs': jsonable(metric.crossvalidation_kwargs),
                     'with_linear': bool(metric.with_linear)}
        if search_grid is not None:
            described['search'] = jsonable(search_grid)
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
    """``<out>/cache`` when ``out`` is given, else ``nrp_plugin.storage.cache.cache_dir('results')``."""
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
