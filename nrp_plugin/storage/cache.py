"""The one place for on-disk caching: where the cache lives and how files are written atomically."""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

ENV_VAR = 'NRP_PLUGIN_HOME'


def cache_root():
    """Directory under which nrp_plugin caches generated data and results.

    ``$NRP_PLUGIN_HOME`` when set, else ``~/.cache/nrp_plugin``.
    """
    root = os.environ.get(ENV_VAR) or os.path.join(os.path.expanduser('~'), '.cache', 'nrp_plugin')
    return Path(root)


def cache_dir(*parts, root=None):
    """Return (and create) a sub-directory of the cache root (or of ``root`` when given)."""
    path = Path(root) if root is not None else cache_root()
    path = path.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    An exception or an interrupt inside the block removes the temporary file, so ``path`` is either
    absent or complete, never half written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    atomic_write_bytes(path, text.encode('utf-8'))


def pid_alive(pid):
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_folders(parent, pattern, pid_of):
    """Delete the folders in ``parent`` matching ``pattern`` whose owning process no longer runs.

    ``pid_of(name)`` reads the owner's process id from a folder's name; names it cannot read (ValueError,
    IndexError) are left alone, and so are this process's own folders.
    """
    for folder in Path(parent).glob(pattern):
        try:
            pid = pid_of(folder.name)
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
