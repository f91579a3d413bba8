"""MajajHong2015's data files: loading them as Brain-Score's PLS benchmarks do, finding and checking the
placed files, and one clear message when the data cannot be had.

Brain-Score fetches each file from S3 (bucket ``brainscore-storage``, folder ``brainio-brainscore``; the
private files need credentials), keeps it at ``$BRAINIO_HOME/<sha1>/<file name>`` (default
``~/.brainio``), fetches nothing that is already there and checks the sha1 on every load. So on a
machine without network or credentials the data can be placed by hand: :func:`missing_files` says what
is still missing, :func:`check_files` checks what was placed (``nrp-plugin data check``).

Which files a benchmark reads (:data:`FAMILY_ACCESSES`): the ``MajajHong2015public`` family reads the
public files (variations 0 and 3); the ``MajajHong2015`` family scores the private files (variation 6)
and also reads the public ones, on which a model without a region-layer map has its layers chosen
(Brain-Score's ``ModelCommitment`` selects them on ``MajajHong2015public.*-pls``). So the private family
needs all six files.

Pre-flight (:func:`ensure_data`, before any model is built)
-----------------------------------------------------------
* Every file is under ``$BRAINIO_HOME``: nothing is loaded or hashed, only the paths are looked up.
  Loading the data here would read every file once more for nothing: Brain-Score keeps nothing in
  memory between ``load_dataset`` calls and hashes each file on every load, and the benchmark's own
  load reads and checks the same files moments later. A placed file with the wrong bytes is reported
  then, in the same form (:func:`data_error`); ``nrp-plugin data check`` finds it beforehand.
* Some file is missing: Brain-Score's own ``load_dataset('MajajHong2015.<access>')`` is tried for each
  access with a missing file, which downloads the files when the network (and, for the private ones,
  credentials) allow, so users with access never place anything. When a load raises (botocore's errors
  arrive as plain or wrapped ``Exception``), :class:`DataUnavailableError` carries
  :func:`unavailable_message`: which data could not be loaded and why, every still-missing file with
  its full path, the command that checks them once placed, and the embedded benchmarks that run offline.

A failure after the pre-flight (a file removed meanwhile, a wrong file placed, a benchmark loaded
without the pre-flight) is turned into the same message by :func:`data_error` /
:func:`explain_data_errors`, rather than Brain-Score's raw ``Exception([NoCredentialsError(...), ...])``
or bare ``ValueError('SHA1 mismatch...')``; errors that do not come from fetching a file (a bug, an
import error) are left as they are, even while files are missing.
"""
import contextlib
import hashlib
import os
import re
from typing import NamedTuple

VISUAL_DEGREES = 8
NUMBER_OF_TRIALS = 50

# The files Brain-Score fetches from S3 (bucket brainscore-storage, folder brainio-brainscore) and
# their sha1s, as registered in brainscore_vision/data/majajhong2015; brainio keeps each file at
# $BRAINIO_HOME/<sha1>/<file name> and does not fetch a file that is already there.
FILES = {
    'private': [('assy_dicarlo_MajajHong2015_private.nc', '7a40d16148d6f82939155f0bd976d310857fb156'),
                ('stimulus_hvm-private.csv', '6ff4981722fa05feb73a2bd26bbbba8b50dc29a6'),
                ('stimulus_hvm-private.zip', 'd7b1ca1876dad87e15b0242b4c82c0203ff3cbd3')],
    'public': [('assy_dicarlo_MajajHong2015_public.nc', '13d28ca0ce88ee550b54db3004374ae19096e9b9'),
               ('stimulus_hvm-public.csv', '5ca7a3da00d8e9c694a9cd725df5ba0ad6d735af'),
               ('stimulus_hvm-public.zip', '8aa44e038d7b551efa8077467622f9d48d72e473')],
}
SOURCE = "Brain-Score's S3 bucket brainscore-storage, folder brainio-brainscore"

# the accesses (keys of FILES) each real benchmark family reads; see the module docstring
FAMILY_ACCESSES = {'MajajHong2015': ('private', 'public'), 'MajajHong2015public': ('public',)}
REAL_FAMILIES = tuple(FAMILY_ACCESSES)
ACCESS_FAMILY = {'private': 'MajajHong2015', 'public': 'MajajHong2015public'}
# the benchmarks of a real family that read these files (not e.g. Brain-Score's '-temporal-pls' ones)
_BENCHMARK = re.compile(r'^(?P<family>[^.]+)\.(?:V4|IT)-(?:pls|nrp)$')
_SHA1_MISMATCH = re.compile(r'SHA1 mismatch\. Expected: (?P<expected>[0-9a-f]{40}), Actual: (?P<actual>[0-9a-f]{40})')
_URL = re.compile(r'"?https?://[^\s"]+"?')
OFFLINE_HINT = ("Without the data, the embedded benchmarks run offline: SyntheticMajajHong2015.V4-nrp, "
                "SyntheticMajajHong2015.IT-nrp, SyntheticMajajHong2015.V4-pls, SyntheticMajajHong2015.IT-pls "
                "(nrp-plugin compare --benchmarks SyntheticMajajHong2015).")

# packages whose exceptions mean a file could not be fetched
FETCH_MODULES = ('botocore', 'boto3', 's3transfer', 'urllib3')
OK, MISSING, MISMATCH = 'ok', 'missing', 'sha1 mismatch'
FILE_STATES = (OK, MISSING, MISMATCH)


class DataUnavailableError(RuntimeError):
    """MajajHong2015 could not be loaded (no network, no credentials, or a wrong file placed); the message
    names every file to place and where (:func:`unavailable_message`)."""


class DataFile(NamedTuple):
    """One file Brain-Score reads for MajajHong2015, where it keeps it."""
    path: str    # <brainio_home>/<sha1>/<name>
    folder: str  # <brainio_home>/<sha1>
    name: str
    sha1: str
    access: str  # 'private' or 'public'


class FileState(NamedTuple):
    """What :func:`check_files` found for one file: ``state`` is one of :data:`FILE_STATES`."""
    file: DataFile
    state: str
    sha1: str = None  # the placed file's sha1 when it is present


def brainio_home():
    """Brain-Score's data folder: ``$BRAINIO_HOME``, default ``~/.brainio``."""
    return os.path.expanduser(os.getenv('BRAINIO_HOME', '~/.brainio'))


def _names(names):
    return [names] if isinstance(names, str) else list(names)


def family_of(name):
    """The real family a family name or benchmark identifier reads the files of, or None.

    ``'MajajHong2015'`` and ``'MajajHong2015.IT-pls'`` give ``'MajajHong2015'``; synthetic, unknown
    and other in-tree benchmarks (e.g. ``'MajajHong2015public.IT-temporal-pls'``) give None.
    """
    if name in FAMILY_ACCESSES:
        return name
    match = _BENCHMARK.match(name)
    return match['family'] if match and match['family'] in FAMILY_ACCESSES else None


def real_families(names):
    """The real families among family names and benchmark identifiers, in order, once each."""
    return list(dict.fromkeys(f for f in map(family_of, _names(names)) if f is not None))


def accesses(names):
    """The accesses (``'private'``, ``'public'``) whose files ``names`` read, in :data:`FILES` order."""
    needed = {access for family in real_families(names) for access in FAMILY_ACCESSES[family]}
    return [access for access in FILES if access in needed]


def data_files(names, home=None):
    """The files that the real families or benchmarks in ``names`` read.

    Parameters
    ----------
    names : str or sequence of str
        Benchmark families (``'MajajHong2015'``, ``'MajajHong2015public'``) or benchmark identifiers
        (``'MajajHong2015.IT-pls'``); others (``'SyntheticMajajHong2015'``) need no file and are skipped.
    home : path, optional
        Brain-Score's data folder; :func:`brainio_home` by default.

    Returns
    -------
    list of DataFile
        In :data:`FILES` order, each file once.
    """
    home = brainio_home() if home is None else os.path.expanduser(str(home))
    return [DataFile(path=os.path.join(home, sha1, name), folder=os.path.join(home, sha1), name=name, sha1=sha1,
                     access=access)
            for access in accesses(names) for name, sha1 in FILES[access]]


def missing_files(names, home=None):
    """The files of :func:`data_files` that are not under ``home`` (no file at their path)."""
    return [file for file in data_files(names, home) if not os.path.isfile(file.path)]


def file_sha1(path, chunk_size=1 << 20):
    """The sha1 hex digest of a file, read ``chunk_size`` bytes at a time."""
    digest = hashlib.sha1()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def check_files(names=REAL_FAMILIES, home=None):
    """Check every file ``names`` read: present, and with the sha1 Brain-Score checks on loading.

    Returns
    -------
    list of FileState
        One per file of :func:`data_files`, ``state`` ``'ok'``, ``'missing'`` or ``'sha1 mismatch'``.
    """
    states = []
    for file in data_files(names, home):
        if not os.path.isfile(file.path):
            states.append(FileState(file, MISSING))
            continue
        actual = file_sha1(file.path)
        states.append(FileState(file, OK if actual == file.sha1 else MISMATCH, actual))
    return states


def check_problem(states):
    """One line naming what :func:`check_files` found wrong and the fix, or None when all are ok."""
    missing = sum(found.state == MISSING for found in states)
    mismatched = sum(found.state == MISMATCH for found in states)
    if not missing and not mismatched:
        return None
    found = ', '.join(f'{count} {state}' for state, count in ((MISSING, missing), (MISMATCH, mismatched)) if count)
    fixes = (['place the missing ones'] if missing else []) + (['replace the mismatched ones'] if mismatched else [])
    return (f"{found} of {len(states)} files: {' and '.join(fixes)} at the paths shown, with the files from {SOURCE}"
            + (' (a run with access to the bucket downloads missing ones itself)' if missing else ''))


def check_command(names):
    """The command that checks the files of ``names`` once placed."""
    families = real_families(names)
    return 'nrp-plugin data check' + (f" --benchmarks {' '.join(families)}" if families else '')


def _causes(error):
    """``error``, or the exceptions it wraps as Brain-Score's fetcher does (``Exception([signed, unsigned])``)."""
    args = getattr(error, 'args', ())
    if len(args) == 1 and isinstance(args[0], (list, tuple)) and args[0] \
            and all(isinstance(inner, BaseException) for inner in args[0]):
        for inner in args[0]:
            yield from _causes(inner)
    else:
        yield error


def _chain(error, limit=32):
    """``error``, what it wraps (:func:`_causes`) and what it was raised from or while handling (at most ``limit``)."""
    seen, todo = [], [error]
    while todo and len(seen) < limit:
        current = todo.pop(0)
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        todo.extend(inner for inner in _causes(current) if inner is not current)
        todo.extend((current.__cause__, current.__context__))
    return seen


def is_fetch_error(error):
    """Whether ``error`` comes from fetching or reading a data file: a DataUnavailableError, botocore's (or
    boto3's, s3transfer's, urllib3's) errors, plain or wrapped as Brain-Score's fetcher wraps them, or an
    ``OSError`` (no connection, a missing or unreadable file)."""
    for inner in _chain(error):
        module = type(inner).__module__.split('.')[0]
        if isinstance(inner, (DataUnavailableError, OSError)) or module in FETCH_MODULES:
            return True
    return False


def short_cause(error, limit=300):
    """A one-line account of ``error``: the messages of the exceptions it wraps, joined by '; '.

    botocore's messages stand alone ("Unable to locate credentials"); other exceptions keep their type
    name. Cut to ``limit`` characters.
    """
    parts = []
    for inner in _causes(error):
        text = ' '.join(str(inner).split())
        if not type(inner).__module__.startswith('botocore') or not text:
            text = f'{type(inner).__name__}: {text}' if text else type(inner).__name__
        parts.append(text)
    text = '; '.join(dict.fromkeys(parts))
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _joined_causes(failures, limit=300):
    """The causes of ``{access: cause}`` as one line: once when they differ only in the URLs they name."""
    first = next(iter(failures.values()))
    if len({_URL.sub('<url>', cause) for cause in failures.values()}) == 1:
        return first
    text = '; '.join(f'{access}: {cause}' for access, cause in failures.items())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _dataset(access):
    return f'MajajHong2015.{access}'


def unavailable_message(names, failures, files=None):
    """The message of :class:`DataUnavailableError`.

    Parameters
    ----------
    names : str or sequence of str
        The requested families or benchmark identifiers (for the check command).
    failures : dict
        ``{access: cause}``: the data that could not be loaded and why (one line each).
    files : list of DataFile, optional
        The files to place; :func:`missing_files` of ``names`` by default.

    Returns
    -------
    str
        A first line naming the data and the cause, one line per file with its full path, the command
        that checks them once placed, and the embedded benchmarks that run offline.
    """
    files = missing_files(names) if files is None else files
    cause = _joined_causes(failures)
    what = ' and '.join(_dataset(access) for access in failures)
    if files:
        first = f'{what} could not be loaded ({cause}); place these files from {SOURCE}:'
    else:
        first = f'{what} could not be loaded ({cause}).'
    lines = [first] + [f'  {file.path}' for file in files]
    lines.append(f'then check the files with: {check_command(names)}  ($BRAINIO_HOME, now {brainio_home()}, '
                 f'sets the folder; a file is checked against the sha1 in its folder name)')
    lines.append(OFFLINE_HINT)
    return '\n'.join(lines)


def _mismatch_message(names, file, actual):
    return '\n'.join([
        f'{_dataset(file.access)} could not be loaded (a placed file does not have the sha1 Brain-Score expects, '
        f'{file.sha1}, but {actual}); replace it with the file from {SOURCE}, or remove it to let a run with '
        f'network download it:',
        f'  {file.path}',
        f'then check the files with: {check_command(names)}',
        OFFLINE_HINT])


def _mismatched_file(error):
    """``(DataFile, actual sha1)`` when ``error`` is Brain-Score's sha1 check failing on one of :data:`FILES`."""
    match = _SHA1_MISMATCH.search(str(error)) if isinstance(error, ValueError) else None
    if match is None:
        return None
    file = next((f for f in data_files(REAL_FAMILIES) if f.sha1 == match['expected']), None)
    return None if file is None else (file, match['actual'])


def data_error(error, names):
    """The :class:`DataUnavailableError` that ``error``, raised while loading a benchmark of ``names``,
    stands for; None when it is no data problem.

    A data problem: ``error`` is a DataUnavailableError already, or Brain-Score's sha1 check failed on one
    of :data:`FILES`, or a fetch error (:func:`is_fetch_error`; offline, botocore's errors arrive as plain or
    wrapped ``Exception``) while some file of ``names`` is missing. Other errors are left alone.

    Parameters
    ----------
    error : BaseException
    names : str or sequence of str
        Families or benchmark identifiers being loaded (see :func:`data_files`).
    """
    if isinstance(error, DataUnavailableError):
        return error
    if not isinstance(error, Exception) or not real_families(names):
        return None
    mismatch = _mismatched_file(error)
    if mismatch is not None:
        return DataUnavailableError(_mismatch_message(names, *mismatch))
    missing = missing_files(names)
    if not missing or not is_fetch_error(error):
        return None
    failed = list(dict.fromkeys(file.access for file in missing))
    return DataUnavailableError(unavailable_message(names, {access: short_cause(error) for access in failed}, missing))


@contextlib.contextmanager
def explain_data_errors(names):
    """Re-raise a data problem inside the block as :class:`DataUnavailableError` (:func:`data_error`).

    Examples
    --------
    >>> with explain_data_errors(identifier):  # doctest: +SKIP
    ...     benchmark = brainscore_vision.load_benchmark(identifier)
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001 - botocore/network errors arrive as plain or wrapped Exceptions
        translated = data_error(error, names)
        if translated is None or translated is error:
            raise
        raise translated from None


def _load_dataset(identifier):
    from brainscore_vision import load_dataset
    return load_dataset(identifier)


def ensure_data(names, load=None):
    """Pre-flight: make sure the data of the real families or benchmarks in ``names`` can be had.

    Every file present: returns at once (nothing is read). Otherwise Brain-Score's own
    ``load_dataset('MajajHong2015.<access>')`` is tried for each access with a missing file, which
    downloads them when it can (see the module docstring).

    Parameters
    ----------
    names : str or sequence of str
        Families or benchmark identifiers; those that read no MajajHong2015 file are skipped.
    load : callable, optional
        ``load(dataset_identifier)``; ``brainscore_vision.load_dataset`` by default.

    Returns
    -------
    list of str
        The datasets that were loaded (empty when every file was present).

    Raises
    ------
    DataUnavailableError
        With :func:`unavailable_message` (or the sha1 mismatch) when a load fails.
    """
    load = _load_dataset if load is None else load
    to_load = list(dict.fromkeys(file.access for file in missing_files(names)))
    failures = {}
    for access in to_load:
        try:
            load(_dataset(access))
        except Exception as error:  # noqa: BLE001 - botocore/network errors arrive as plain or wrapped Exceptions
            mismatch = _mismatched_file(error)
            if mismatch is not None:  # fetched, or placed, with the wrong bytes
                raise DataUnavailableError(_mismatch_message(names, *mismatch)) from None
            failures[access] = short_cause(error)
    if not failures:
        return [_dataset(access) for access in to_load]
    raise DataUnavailableError(unavailable_message(names, failures))


def load_region(region, access, average_repetitions):
    """One region of MajajHong2015 as Brain-Score's ``MajajHong2015.<region>-pls`` loads it.

    Raises
    ------
    DataUnavailableError
        With the files to place and where, when the data cannot be fetched (:func:`data_error`).
    """
    from brainscore_vision.benchmarks.majajhong2015.benchmark import load_assembly
    with explain_data_errors([ACCESS_FAMILY[access]]):
        return load_assembly(average_repetitions=average_repetitions, region=region, access=access)


#: What the private family's models without a region-layer map have their layers chosen on
PUBLIC_SELECTION = 'MajajHong2015 public images'


def public_selection():
    """The public images (variations 0 and 3) and their repetition-averaged responses, both regions: where a
    model without a region-layer map has its layers chosen for the private family, which scores other images.

    Returns
    -------
    stimulus_set : StimulusSet
    assembly : NeuroidAssembly, shape (n_images, n_sites)
    """
    from brainscore_vision import load_dataset
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition
    with explain_data_errors([ACCESS_FAMILY['public']]):
        trials = load_dataset('MajajHong2015.public')
    if 'time_bin' in trials.dims:
        trials = trials.squeeze('time_bin')
    stimulus_set = trials.attrs['stimulus_set']
    averaged = average_repetition(trials.transpose('presentation', 'neuroid'))
    return stimulus_set, averaged


def layer_choice(access):
    """How a model without a region-layer map has its layers chosen for a family of ``access``: on the public
    images for the private family (disjoint from the images it scores), inside each split on its training
    stimuli for the public family (which scores the public images themselves)."""
    from .benchmark import InEachSplit, SelectionSet
    if access == 'private':
        return SelectionSet(public_selection, PUBLIC_SELECTION)
    if access == 'public':
        return InEachSplit()
    raise ValueError(f"access={access!r} is unknown; use 'private' or 'public'.")
