"""Place this package's plugin folders into the installed ``brainscore_vision`` tree, and take them out.

Brain-Score finds plugins only as folders under the installed ``brainscore_vision/{benchmarks,data,
metrics,models}`` (see ``brainscore_core.plugin_management.import_plugin``). :func:`install` copies
this package's folders there (or, with ``link=True``, places symbolic links to an editable
checkout's folders, so an edit is live without re-installing), records what it placed in a manifest
together with a content hash of every folder, and :func:`uninstall` removes exactly the folders named
in that manifest. :func:`installation_status` compares the tree with the package's folders, so that
a brainscore-vision upgrade or reinstall (which drops or keeps stale folders) is detected.
:func:`pack` writes the zip Brain-Score's website takes for a submission.
"""
import fnmatch
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..storage import hashing

PLUGIN_KINDS = ('benchmarks', 'data', 'metrics', 'models')
REGISTRY_NAMES = {'benchmarks': 'benchmark_registry', 'data': 'data_registry',
                  'metrics': 'metric_registry', 'models': 'model_registry'}
# the registries a plugin folder of each kind may fill (a data plugin registers stimulus sets too)
ALLOWED_REGISTRIES = {'benchmarks': {'benchmark_registry'}, 'data': {'data_registry', 'stimulus_set_registry'},
                      'metrics': {'metric_registry'}, 'models': {'model_registry'}}
MANIFEST_NAME = '.nrp_plugin_manifest.json'
MARKER_NAME = '.nrp_plugin'
# files every submitted plugin folder must hold: Brain-Score's website refuses a folder without
# __init__.py and test.py; its plugin runner installs requirements.txt into the folder's fresh environment
REQUIRED_FILES = ('__init__.py', 'test.py', 'requirements.txt')
# not part of a folder's content: caches, our marker, and the metadata Brain-Score may generate in place
_IGNORED = ('__pycache__', '*.pyc', '.pytest_cache', MARKER_NAME, 'metadata.yaml')
_REGISTRATION = re.compile(r"""(\w+_registry)\[['"]([^'"]+)['"]\]\s*=""")


class InstallError(RuntimeError):
    """Raised when the plugin folders cannot be placed or removed."""


def brainscore_root():
    """The directory of the installed ``brainscore_vision`` package."""
    import brainscore_vision
    return Path(brainscore_vision.__file__).resolve().parent


def plugin_sources():
    """The plugin folders this package ships, as ``{(kind, name): path}``.

    A wheel carries them in ``nrp_plugin/_plugins/<kind>/<name>``; an editable install finds them
    in the repository root next to the package.
    """
    package_dir = Path(__file__).resolve().parents[1]  # nrp_plugin/
    for base in (package_dir / '_plugins', package_dir.parent):
        found = {}
        for kind in PLUGIN_KINDS:
            kind_dir = base / kind
            if not kind_dir.is_dir():
                continue
            for folder in sorted(kind_dir.iterdir()):
                if folder.is_dir() and (folder / '__init__.py').is_file():
                    found[(kind, folder.name)] = folder
        if found:
            return found
    raise InstallError("nrp_plugin's plugin folders were not found next to the package; "
                       "reinstall it with `pip install -e .` from the repository root.")


def registrations(init_file):
    """Identifiers registered by a plugin ``__init__.py``: ``[(registry_name, identifier), ...]``."""
    text = Path(init_file).read_text(encoding='utf-8')
    return [match.groups() for line in text.splitlines() if not line.lstrip().startswith('#')
            for match in _REGISTRATION.finditer(line)]


def _read_manifest(root):
    path = root / MANIFEST_NAME
    if not path.is_file():
        return {'folders': []}
    return json.loads(path.read_text(encoding='utf-8'))


def _write_manifest(root, manifest):
    fd, tmp = tempfile.mkstemp(prefix='.nrp_manifest.', dir=root)
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        json.dump(manifest, handle, indent=2)
    os.replace(tmp, root / MANIFEST_NAME)


def _foreign_identifiers(root, own_folders):
    """Identifiers registered by folders in the tree that are not ours: ``{(registry, id): folder}``."""
    taken = {}
    for kind in PLUGIN_KINDS:
        for init in (root / kind).glob('*/__init__.py'):
            rel = f'{kind}/{init.parent.name}'
            if rel in own_folders:
                continue
            try:
                for registry, identifier in registrations(init):
                    taken[(registry, identifier)] = rel
            except (OSError, UnicodeDecodeError):
                continue
    return taken


def check_collisions(root=None):
    """Identifiers of ours that a folder already in the tree registers too: ``[(id, ours, theirs)]``. A folder an
    earlier install placed (named in the manifest) is ours: an upgrade that renames a folder replaces it."""
    root = Path(root) if root is not None else brainscore_root()
    sources = plugin_sources()
    own = {f'{kind}/{name}' for kind, name in sources} | set(_read_manifest(root).get('folders', []))
    taken = _foreign_identifiers(root, own)
    clashes = []
    for (kind, name), folder in sources.items():
        for registry, identifier in registrations(folder / '__init__.py'):
            if (registry, identifier) in taken:
                clashes.append((identifier, f'{kind}/{name}', taken[(registry, identifier)]))
    return clashes


def _check_writable(root):
    for kind in PLUGIN_KINDS:
        directory = root / kind
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InstallError(f"Cannot write into {directory}: the installed brainscore_vision tree is not "
                               f"writable by this user. Install brainscore-vision into a virtual environment "
                               f"you own (python -m venv .venv), or run with permission to write there.")


def folder_hash(folder):
    """SHA-256 over a plugin folder's files (relative path and bytes), ignoring caches and our marker
    (:func:`nrp_plugin.storage.hashing.folder_hash`); equal for two folders exactly when they hold the same files."""
    return hashing.folder_hash(folder, ignore=_IGNORED)


def _ignored(name):
    return any(fnmatch.fnmatch(name, pattern) for pattern in _IGNORED)


def _remove(path):
    """Remove a placed folder, or the symbolic link standing for it (never the link's target)."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _is_our_link(destination, source):
    return destination.is_symlink() and Path(os.path.realpath(destination)) == Path(source).resolve()


def install(root=None, link=None):
    """Copy (or link) the plugin folders into the ``brainscore_vision`` tree; safe to run again (a copy whose
    content is current is left in place, so a run that imports the plugins meanwhile never finds one missing).

    Parameters
    ----------
    root : path, optional
        The ``brainscore_vision`` package directory; the installed one by default.
    link : bool, optional
        True: place symbolic links to this package's folders instead of copies, so an edit in an
        editable checkout is live without re-installing. False: copies. None (default): keep the
        mode of the previous install (copies the first time).

    Returns
    -------
    list of str
        The folders placed, as ``'<kind>/<name>'``.
    """
    from .. import __version__
    root = Path(root) if root is not None else brainscore_root()
    _check_writable(root)
    sources = plugin_sources()
    clashes = check_collisions(root)
    if clashes:
        lines = '; '.join(f"'{identifier}' ({ours} and {theirs})" for identifier, ours, theirs in clashes)
        raise InstallError(f"Identifiers already registered in {root}: {lines}. Rename ours before installing.")
    manifest = _read_manifest(root)
    if link is None:
        link = manifest.get('mode') == 'link'
    owned = set(manifest.get('folders', []))
    placed, hashes = [], {}
    for (kind, name), source in sources.items():
        destination = root / kind / name
        rel = f'{kind}/{name}'
        present = destination.exists() or destination.is_symlink()
        if present and rel not in owned and not (destination / MARKER_NAME).exists() \
                and not _is_our_link(destination, source):
            raise InstallError(f"{destination} exists and was not placed by nrp_plugin; remove or rename it "
                               f"before `nrp-plugin install`.")
        hashes[rel] = folder_hash(source)
        if link:
            if not _is_our_link(destination, source):
                staging = root / kind / f'.{name}.link.{os.getpid()}'
                if staging.is_symlink():
                    staging.unlink()
                os.symlink(Path(source).resolve(), staging, target_is_directory=True)
                if present and not destination.is_symlink():
                    shutil.rmtree(destination)
                os.replace(staging, destination)  # replaces an older link atomically
        elif not (present and not destination.is_symlink() and (destination / MARKER_NAME).exists()
                  and folder_hash(destination) == hashes[rel]):  # a current copy is left in place
            staging = Path(tempfile.mkdtemp(prefix=f'.{name}.', dir=root / kind))
            try:
                shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
                (staging / name / MARKER_NAME).write_text('placed by nrp-plugin install\n', encoding='utf-8')
                _remove(destination)
                os.replace(staging / name, destination)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        placed.append(rel)
        owned.add(rel)
    stale = owned - set(placed)
    for rel in sorted(stale):  # folders an older version placed and this one no longer ships
        _remove(root / rel)
    _write_manifest(root, {'folders': sorted(placed), 'mode': 'link' if link else 'copy',
                           'nrp_plugin': __version__, 'hashes': hashes,
                           'brainscore_vision': _brainscore_version()})
    return placed


def _brainscore_version():
    try:
        from importlib.metadata import version
        return version('brainscore-vision')
    except Exception:  # noqa: BLE001 - informational only
        return None


def installation_mode(root=None):
    """``'link'`` or ``'copy'`` as recorded by the last install; None when nothing is installed."""
    root = Path(root) if root is not None else brainscore_root()
    manifest = _read_manifest(root)
    return manifest.get('mode', 'copy') if manifest.get('folders') else None


def installation_status(root=None):
    """How each of this package's folders stands in the ``brainscore_vision`` tree.

    Returns
    -------
    dict
        ``{'<kind>/<name>': state}`` with state ``'current'`` (a copy with the package's content),
        ``'linked'`` (a link to the package's folder), ``'missing'`` (absent, e.g. after brainscore-vision
        was reinstalled or upgraded) or ``'outdated'`` (its content differs from the package's, e.g.
        the package was updated and ``install`` not re-run).
    """
    root = Path(root) if root is not None else brainscore_root()
    status = {}
    for (kind, name), source in plugin_sources().items():
        destination = root / kind / name
        rel = f'{kind}/{name}'
        if _is_our_link(destination, source):
            status[rel] = 'linked'
        elif not (destination / '__init__.py').is_file():
            status[rel] = 'missing'
        else:
            status[rel] = 'current' if folder_hash(destination) == folder_hash(source) else 'outdated'
    return status


def status_problem(status):
    """A one-line description of what is missing or outdated, with the fix; None when all is well."""
    bad = {state: sorted(rel for rel, s in status.items() if s == state) for state in ('missing', 'outdated')}
    if not bad['missing'] and not bad['outdated']:
        return None
    parts = [f"{state}: {', '.join(rels)}" for state, rels in bad.items() if rels]
    return (f"nrp_plugin's plugin folders in {brainscore_root()} are not current ({'; '.join(parts)}); "
            f"brainscore-vision was probably upgraded or reinstalled, or nrp_plugin updated. "
            f"Run `nrp-plugin install` (or `nrp-plugin install --link` in an editable checkout).")


def pack(out, sources=None):
    """Write the zip Brain-Score's website takes: the plugin folders only, in its layout.

    The website (``brain-score.web``, ``validate_zip``) expects one top-level folder holding
    ``models/``, ``benchmarks/``, ``metrics/`` and ``data/`` with one folder per plugin, each with an
    ``__init__.py`` and a ``test.py``; directory entries are written explicitly, as it reads them.
    The top-level folder is named after the zip (``submission.zip`` -> ``submission/``). Caches are
    left out; entries are sorted with a fixed time stamp, so the same folders give the same bytes.

    Parameters
    ----------
    out : path
        The zip to write (atomically: absent or complete).
    sources : dict, optional
        ``{(kind, name): folder}``; :func:`plugin_sources` by default.

    Returns
    -------
    list of str
        The archive's entry names.
    """
    from ..storage.cache import atomic_path
    out = Path(out)
    if out.suffix != '.zip':
        raise InstallError(f"--out {out}: the submission must be a .zip file; name it e.g. submission.zip")
    sources = sources if sources is not None else plugin_sources()
    missing = [f"{kind}/{name}/{required}" for (kind, name), folder in sorted(sources.items())
               for required in REQUIRED_FILES if not (Path(folder) / required).is_file()]
    if missing:
        raise InstallError(f"cannot pack: missing {', '.join(missing)}; Brain-Score refuses plugin folders "
                           f"without them.")
    top = out.stem
    entries = []
    stamp = (1980, 1, 1, 0, 0, 0)
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
            def add_dir(name):
                info = zipfile.ZipInfo(name + '/', date_time=stamp)
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b'')
                entries.append(name + '/')
            add_dir(top)
            for kind in PLUGIN_KINDS:
                folders = sorted((name, folder) for (k, name), folder in sources.items() if k == kind)
                if not folders:
                    continue
                add_dir(f'{top}/{kind}')
                for name, folder in folders:
                    add_dir(f'{top}/{kind}/{name}')
                    folder = Path(folder)
                    for path in sorted(folder.rglob('*')):
                        rel = path.relative_to(folder)
                        if any(_ignored(part) for part in rel.parts):
                            continue
                        name_in_zip = f'{top}/{kind}/{name}/{rel.as_posix()}'
                        if path.is_dir():
                            add_dir(name_in_zip)
                            continue
                        info = zipfile.ZipInfo(name_in_zip, date_time=stamp)
                        info.external_attr = 0o644 << 16
                        info.compress_type = zipfile.ZIP_DEFLATED
                        archive.writestr(info, path.read_bytes())
                        entries.append(name_in_zip)
    return entries


def uninstall(root=None):
    """Remove exactly the folders :func:`install` placed; returns them as ``'<kind>/<name>'``."""
    root = Path(root) if root is not None else brainscore_root()
    manifest = _read_manifest(root)
    removed = []
    for rel in manifest.get('folders', []):
        folder = root / rel
        if folder.exists() or folder.is_symlink():
            _remove(folder)
            removed.append(rel)
    manifest_path = root / MANIFEST_NAME
    if manifest_path.exists():
        manifest_path.unlink()
    return removed
