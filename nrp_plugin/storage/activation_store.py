"""A bounded on-disk store of recorded layers, keyed on everything that determines them.

One entry is one layer of one network on one stimulus set: a float array of shape (n_stimuli, width)
and a small JSON description, in one ``.npz`` file written atomically. The key is a hash of the parts
the caller passes (network weights, stimuli, layer, preprocessing, code version), so a changed
network or stimulus set never reads another's entry. The store keeps its total size under a limit by
deleting the entries read or written longest ago; ``nrp-plugin cache clear`` empties it.
"""
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .cache import atomic_path, cache_root

__all__ = ['ActivationStore', 'LIMIT_ENV', 'store_key']

#: Environment variable: the store's size limit in GB (default :data:`DEFAULT_LIMIT_GB`).
LIMIT_ENV = 'NRP_PLUGIN_ACTIVATION_STORE_GB'
DEFAULT_LIMIT_GB = 5.0
_SUFFIX = '.npz'


def store_key(**parts):
    """A 32-character hex key for ``parts`` (JSON-serialisable values), independent of their order."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode('utf-8'), digest_size=16).hexdigest()


class ActivationStore:
    """Layers on disk under ``root`` (``$NRP_PLUGIN_HOME/activations`` by default).

    Parameters
    ----------
    root : str or Path, optional
    limit_bytes : int, optional
        Total size kept; by default ``$NRP_PLUGIN_ACTIVATION_STORE_GB`` GB, else 5 GB. 0 stores nothing.
    """

    def __init__(self, root=None, limit_bytes=None):
        self.root = Path(root) if root is not None else cache_root() / 'activations'
        if limit_bytes is None:
            text = os.environ.get(LIMIT_ENV)
            try:
                gigabytes = float(text) if text else DEFAULT_LIMIT_GB
            except ValueError:
                raise ValueError(f"{LIMIT_ENV}={text!r} is not a number of gigabytes (e.g. 5 or 0.5).") from None
            if gigabytes < 0:
                raise ValueError(f"{LIMIT_ENV}={text!r} must not be negative.")
            limit_bytes = int(gigabytes * 2 ** 30)
        self.limit_bytes = int(limit_bytes)

    def _path(self, key):
        return self.root / f'{key}{_SUFFIX}'

    def entries(self):
        """Paths of the stored entries."""
        if not self.root.is_dir():
            return []
        return sorted(path for path in self.root.iterdir() if path.suffix == _SUFFIX and not path.name.startswith('.'))

    def size(self):
        """Total bytes of the stored entries."""
        return sum(path.stat().st_size for path in self.entries())

    def get(self, key):
        """``(values, meta)`` stored under ``key``, or None (also for an unreadable entry, which is removed)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as stored:
                values = stored['values']
                meta = json.loads(bytes(stored['meta']).decode('utf-8'))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # most recently used
        return values, meta

    def put(self, key, values, meta):
        """Store ``values`` (ndarray) with ``meta`` (JSON-serialisable dict) under ``key``; then trim the store
        to its limit. An entry larger than the limit is not stored."""
        values = np.ascontiguousarray(values)
        if values.nbytes > self.limit_bytes:
            return False
        buffer = io.BytesIO()
        np.savez(buffer, values=values, meta=np.frombuffer(json.dumps(meta).encode('utf-8'), dtype=np.uint8))
        with atomic_path(self._path(key)) as tmp:
            Path(tmp).write_bytes(buffer.getbuffer())
        self.trim(keep=key)
        return True

    def trim(self, keep=None):
        """Delete the least recently used entries until the store fits its limit (never ``keep``)."""
        entries = [(path.stat().st_mtime, path.stat().st_size, path) for path in self.entries()]
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit_bytes:
                break
            if keep is not None and path == self._path(keep):
                continue
            path.unlink(missing_ok=True)
            total -= size

    def clear(self):
        """Delete every entry (and leftovers of interrupted writes); returns ``(n_entries, bytes)`` removed."""
        if not self.root.is_dir():
            return 0, 0
        count, size = 0, 0
        for path in self.root.iterdir():
            if path.is_file() and (path.suffix == _SUFFIX or path.name.startswith('.')):
                size += path.stat().st_size
                count += path.suffix == _SUFFIX and not path.name.startswith('.')
                path.unlink(missing_ok=True)
        return count, size
