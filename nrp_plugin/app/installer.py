"""Place this package's plugin folders into the installed ``brainscore_vision`` tree, and take them out.

Brain-Score finds plugins only as folders under the installed ``brainscore_vision/{benchmarks,data,
metrics,models}`` (see ``brainscore_core.plugin_management.import_plugin``). :func:`install` copies
this package's folders there, records what it placed in a manifest, and :func:`uninstall` removes
exactly the folders named in that manifest.
"""
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

PLUGIN_KINDS = ('benchmarks', 'data', 'metrics', 'models')
REGISTRY_NAMES = {'benchmarks': 'benchmark_registry', 'data': 'data_registry',
                  'metrics': 'metric_registry', 'models': 'model_registry'}
# the registries a plugin folder of each kind may fill (a data plugin registers stimulus sets too)
ALLOWED_REGISTRIES = {'benchmarks': {'benchmark_registry'}, 'data': {'data_registry', 'stimulus_set_registry'},
                      'metrics': {'metric_registry'}, 'models': {'model_registry'}}
MANIFEST_NAME = '.nrp_plugin_manifest.json'
MARKER_NAME = '.nrp_plugin'
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
    """Identifiers of ours that a folder already in the tree registers too: ``[(id, ours, theirs)]``."""
    root = Path(root) if root is not None else brainscore_root()
    sources = plugin_sources()
    own = {f'{kind}/{name}' for kind, name in sources}
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


def install(root=None):
    """Copy the plugin folders into the ``brainscore_vision`` tree; safe to run again.

    Parameters
    ----------
    root : path, optional
        The ``brainscore_vision`` package directory; the installed one by default.

    Returns
    -------
    list of str
        The folders placed, as ``'<kind>/<name>'``.
    """
    root = Path(root) if root is not None else brainscore_root()
    _check_writable(root)
    sources = plugin_sources()
    clashes = check_collisions(root)
    if clashes:
        lines = '; '.join(f"'{identifier}' ({ours} and {theirs})" for identifier, ours, theirs in clashes)
        raise InstallError(f"Identifiers already registered in {root}: {lines}. Rename ours before installing.")
    manifest = _read_manifest(root)
    owned = set(manifest.get('folders', []))
    placed = []
    for (kind, name), source in sources.items():
        destination = root / kind / name
        rel = f'{kind}/{name}'
        if destination.exists() and rel not in owned and not (destination / MARKER_NAME).exists():
            raise InstallError(f"{destination} exists and was not placed by nrp_plugin; remove or rename it "
                               f"before `nrp-plugin install`.")
        staging = Path(tempfile.mkdtemp(prefix=f'.{name}.', dir=root / kind))
        try:
            shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            (staging / name / MARKER_NAME).write_text('placed by nrp-plugin install\n', encoding='utf-8')
            if destination.exists():
                shutil.rmtree(destination)
            os.replace(staging / name, destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        placed.append(rel)
        owned.add(rel)
    stale = owned - set(placed)
    for rel in sorted(stale):  # folders an older version placed and this one no longer ships
        shutil.rmtree(root / rel, ignore_errors=True)
    _write_manifest(root, {'folders': sorted(placed)})
    return placed


def uninstall(root=None):
    """Remove exactly the folders :func:`install` placed; returns them as ``'<kind>/<name>'``."""
    root = Path(root) if root is not None else brainscore_root()
    manifest = _read_manifest(root)
    removed = []
    for rel in manifest.get('folders', []):
        folder = root / rel
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(rel)
    manifest_path = root / MANIFEST_NAME
    if manifest_path.exists():
        manifest_path.unlink()
    return removed
