"""Content hashes of files and folders: the one implementation every identity in the package is built from."""
import fnmatch
import hashlib
from pathlib import Path

__all__ = ['CACHE_PATTERNS', 'file_digest', 'folder_hash']

#: Names that never count as a folder's content: Python and test caches, and dot-files
CACHE_PATTERNS = ('__pycache__', '*.pyc', '*.pyo', '.*')
_CHUNK = 1 << 20


def file_digest(path, algorithm='sha256'):
    """Hex digest of a file's bytes, read in chunks."""
    hasher = hashlib.new(algorithm)
    with open(path, 'rb') as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def folder_hash(folder, ignore=CACHE_PATTERNS, exclude=()):
    """sha256 (hex) over a folder's files: each one's relative path and bytes, in sorted order.

    Parameters
    ----------
    folder : path
    ignore : sequence of str
        Glob patterns; a file is skipped when any part of its relative path matches one.
    exclude : collection of str
        Relative paths (POSIX) to skip as well.

    Returns
    -------
    str
        Equal for two folders exactly when they hold the same files (outside ``ignore``) with the same bytes.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob('*')):
        rel = path.relative_to(folder)
        if path.is_dir() or rel.as_posix() in exclude \
                or any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in ignore):
            continue
        digest.update(rel.as_posix().encode('utf-8') + b'\0')
        digest.update(path.read_bytes() + b'\0')
    return digest.hexdigest()
