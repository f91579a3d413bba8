"""Files on disk: the cache folder (``$NRP_PLUGIN_HOME``), atomic writes, model weights files
resolved, downloaded and checked against their checksums, the bounded store of recorded layers and the
column-chunked scratch files they are recorded to. No Brain-Score import.
"""
from .activation_store import ActivationStore, store_key
from .cache import atomic_path, atomic_write_bytes, atomic_write_text, cache_dir, cache_root
from .column_file import ColumnChunkedFile
from .weights import WeightSpec, WeightsChecksumError, WeightsError, WeightsUnavailableError, resolve_weights

__all__ = ['ActivationStore', 'ColumnChunkedFile', 'WeightSpec', 'WeightsChecksumError', 'WeightsError',
           'WeightsUnavailableError', 'atomic_path', 'atomic_write_bytes', 'atomic_write_text', 'cache_dir', 'cache_root', 'resolve_weights', 'store_key']
