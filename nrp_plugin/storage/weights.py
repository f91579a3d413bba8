"""The one place where pretrained weight files are found, checked and fetched.

Every pretrained model of this package asks :func:`resolve_weights` for its file (the files are described in
:mod:`nrp_plugin.registry`; a ``torchvision:<arch>:pretrained`` spec describes torchvision's). The file is looked
for, in this order:

1. an explicit path passed by the caller (``path=...``);
2. the file named by the spec's environment variable (e.g. ``NRP_CORNET_S_WEIGHTS``);
3. caches, by file name: ``$NRP_PLUGIN_WEIGHTS_DIR`` (when set), ``<nrp_plugin cache>/weights``,
   torch's hub cache ``$TORCH_HOME/hub/checkpoints`` (where torchvision keeps its downloads), and
   spec-specific places such as Brain-Score's weight cache ``$BRAINSCORE_HOME/...``;
4. a download from the published address into torch's hub cache, streamed to a temporary file,
   hash-checked, and only then renamed into place (:func:`nrp_plugin.storage.cache.atomic_path`).
   ``NRP_PLUGIN_OFFLINE=1`` skips this step.

Whatever the source, a file is accepted only if its hash matches the published one, so an
identifier always means the same weights (and Brain-Score's result caches,
keyed on the identifier, never mix two sets of weights). A missing file raises
:class:`WeightsUnavailableError` naming the file, where to put it and the untrained alternative; a
file with the wrong hash raises :class:`WeightsChecksumError`. No network stack trace reaches the
user: network failures are reported in one line inside these errors.
"""
import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .cache import atomic_path, cache_root
from .hashing import file_digest

OFFLINE_ENV = 'NRP_PLUGIN_OFFLINE'
WEIGHTS_DIR_ENV = 'NRP_PLUGIN_WEIGHTS_DIR'
DOWNLOAD_TIMEOUT_S = 30
_CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """Base class of the errors raised while resolving pretrained weights."""


class WeightsUnavailableError(WeightsError):
    """The weight file is not on this machine and could not be downloaded."""


class WeightsChecksumError(WeightsError):
    """A weight file was found (or downloaded) but its hash is not the published one."""


@dataclass(frozen=True)
class WeightSpec:
    """A published weight file.

    Attributes
    ----------
    name : str
        Short key, e.g. ``'cornet_s'``.
    filename : str
        The published file name; caches are searched for this name.
    url : str
        Where the file is downloaded from.
    algorithm : {'sha1', 'sha256'}
        Hash used to check the file.
    digest : str
        Expected hex digest, or its leading characters (torchvision publishes the first 8 hex
        digits of the sha256 in the file name and checks only those).
    env_var : str
        Environment variable that may name the file explicitly.
    alternative : str
        What to use instead when the file cannot be had (named in the error message).
    extra_locations : tuple of str
        Further candidate paths, relative to an environment-variable root, written as
        ``'ENV_VAR|default_root|relative/path'``.
    """
    name: str
    filename: str
    url: str
    algorithm: str
    digest: str
    env_var: str
    alternative: str
    extra_locations: tuple = ()


_verified = {}  # (path, size, mtime_ns, algorithm, digest) -> True, so a file is hashed once per process


def torch_hub_checkpoints():
    """torch's checkpoint cache, ``$TORCH_HOME/hub/checkpoints`` (``~/.cache/torch/hub/checkpoints``)."""
    import torch.hub
    return Path(torch.hub.get_dir()) / 'checkpoints'


def cache_directories():
    """The directories searched for weight files by name, in order."""
    directories = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        directories.append(Path(os.path.expanduser(os.environ[WEIGHTS_DIR_ENV])))
    directories.append(cache_root() / 'weights')
    directories.append(torch_hub_checkpoints())
    return directories


def candidate_locations(spec):
    """Every cache path where ``spec``'s file is looked for, in order (the env var excluded)."""
    paths = [directory / spec.filename for directory in cache_directories()]
    for entry in spec.extra_locations:
        env_var, default_root, relative = entry.split('|')
        root = os.environ.get(env_var) or default_root
        paths.append(Path(os.path.expanduser(root)) / relative)
    return paths


def download_destination(spec):
    """Where a download is written: torch's hub cache, shared with torchvision."""
    return torch_hub_checkpoints() / spec.filename


def _digest_matches(actual, expected):
    expected = expected.lower()
    return actual.lower().startswith(expected) if len(expected) < len(actual) else actual.lower() == expected


def verify_file(path, spec):
    """Raise :class:`WeightsChecksumError` unless ``path`` has ``spec``'s published hash."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, spec.algorithm, spec.digest)
    if _verified.get(key):
        return path
    actual = file_digest(path, spec.algorithm)
    if not _digest_matches(actual, spec.digest):
        raise WeightsChecksumError(
            f"The weight file {path} is not the published {spec.filename}: its {spec.algorithm} is {actual}, "
            f"expected {spec.digest}{'...' if len(spec.digest) < 40 else ''}. The file is corrupted, truncated or "
            f"a different checkpoint. Delete it (or point {spec.env_var} elsewhere) and place the published file "
            f"from {spec.url} there instead.")
    _verified[key] = True
    return path


def _open_url(url, timeout):
    """Open ``url`` for reading (a seam for tests)."""
    request = urllib.request.Request(url, headers={'User-Agent': 'nrp_plugin'})
    return urllib.request.urlopen(request, timeout=timeout)


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError, TimeoutError,
                   OSError)


def download(spec, destination=None, timeout=DOWNLOAD_TIMEOUT_S):
    """Download ``spec``'s file to ``destination`` (atomically, hash-checked) and return its path.

    Raises
    ------
    WeightsUnavailableError
        When the network fails; the message holds the one-line reason.
    WeightsChecksumError
        When the downloaded bytes do not have the published hash; nothing is left on disk.
    """
    destination = Path(destination) if destination is not None else download_destination(spec)
    try:
        with atomic_path(destination) as tmp:
            hasher = hashlib.new(spec.algorithm)
            with _open_url(spec.url, timeout) as response, open(tmp, 'wb') as out:
                while chunk := response.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            actual = hasher.hexdigest()
            if not _digest_matches(actual, spec.digest):
                raise WeightsChecksumError(
                    f"The file downloaded from {spec.url} does not have the published {spec.algorithm} "
                    f"({actual}, expected {spec.digest}); it was discarded. Try again, or place a verified copy "
                    f"of {spec.filename} at {destination}.")
    except WeightsError:
        raise
    except _NETWORK_ERRORS as error:
        raise _unavailable(spec, reason=f"downloading {spec.url} failed ({_one_line(error)})") from None
    return destination


def _one_line(error):
    text = ' '.join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _unavailable(spec, reason):
    places = '\n'.join(f"  - {path}" for path in candidate_locations(spec))
    return WeightsUnavailableError(
        f"Pretrained weights for '{spec.name}' are not available: the file {spec.filename} "
        f"({spec.algorithm} {spec.digest}) is not on this machine and {reason}.\n"
        f"To run offline, download {spec.url} elsewhere and either set {spec.env_var}=/path/to/{spec.filename} "
        f"or copy it to one of these places (searched in this order):\n{places}\n"
        f"Without the file, use {spec.alternative}.")


def offline():
    """Whether downloads are switched off (``NRP_PLUGIN_OFFLINE`` set to 1/true/yes)."""
    return os.environ.get(OFFLINE_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def resolve_weights(spec, path=None, allow_download=None):
    """Return the path of a verified local copy of ``spec``'s weight file.

    Parameters
    ----------
    spec : WeightSpec
        The published file (this package's models' are in :mod:`nrp_plugin.registry`).
    path : path, optional
        An explicit file. When given (or when the spec's environment variable is set) it must exist
        and pass the hash check; no other place is tried.
    allow_download : bool, optional
        ``False`` never downloads; ``None`` (default) downloads unless ``NRP_PLUGIN_OFFLINE`` is set.

    Raises
    ------
    WeightsUnavailableError
        The file is nowhere to be found and cannot be downloaded.
    WeightsChecksumError
        A file was found but is not the published one.
    """
    explicit, source = (path, 'argument') if path is not None else (os.environ.get(spec.env_var), spec.env_var)
    if explicit:
        explicit = Path(os.path.expanduser(str(explicit)))
        if not explicit.is_file():
            raise WeightsUnavailableError(
                f"The weight file given by {source} does not exist: {explicit}. It should be the published "
                f"{spec.filename} ({spec.url}). Without the file, use {spec.alternative}.")
        return verify_file(explicit, spec)
    for candidate in candidate_locations(spec):
        if candidate.is_file():
            return verify_file(candidate, spec)
    if allow_download is None:
        allow_download = not offline()
    if not allow_download:
        raise _unavailable(spec, reason=f"downloads are switched off ({OFFLINE_ENV} is set)"
                           if offline() else "downloads are switched off")
    return download(spec)


def offline_locations(root, specs=()):
    """Environment settings under which every place a weight file is looked for or written lies in ``root`` and
    nothing is downloaded: for a reproducible offline run (and for tests).

    Parameters
    ----------
    root : path
    specs : iterable of WeightSpec
        Their environment variables (which name a file explicitly) are unset too.

    Returns
    -------
    dict of str -> str or None
        Each variable and its value; None: unset it.
    """
    root = Path(root)
    settings = {'TORCH_HOME': str(root / 'torch'), 'BRAINSCORE_HOME': str(root / 'brainscore'),
                'NRP_PLUGIN_HOME': str(root / 'nrp'), WEIGHTS_DIR_ENV: None, OFFLINE_ENV: '1'}
    settings.update({spec.env_var: None for spec in specs})
    return settings


def load_checkpoint(path):
    """``torch.load`` a verified checkpoint onto the CPU.

    Tries ``weights_only=True`` first; old checkpoints holding other pickled objects are loaded with
    ``weights_only=False``, which is acceptable only because callers pass files that passed
    :func:`verify_file` against the published hash.
    """
    import pickle

    import torch
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except (pickle.UnpicklingError, RuntimeError):  # torch reports a refused object as either
        return torch.load(path, map_location='cpu', weights_only=False)
