"""Files on disk: the cache folder (``$NRP_PLUGIN_HOME``), atomic writes, and model weights files
resolved, downloaded and checked against their checksums. No Brain-Score import.
"""
from .cache import atomic_path, atomic_write_bytes, atomic_write_text, cache_dir, cache_root
from .weights import WeightSpec, WeightsChecksumError, WeightsError, WeightsUnavailableError, resolve_weights

__all__ = ['WeightSpec', 'WeightsChecksumError', 'WeightsError', 'WeightsUnavailableError', 'atomic_path',
           'atomic_write_bytes', 'atomic_write_text', 'cache_dir', 'cache_root', 'resolve_weights']
