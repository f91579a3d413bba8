"""What a run checks before any scoring: identifiers, benchmark families and the output folder.

Every problem is a :class:`CompareError` with a one-line message for the user.
"""
import difflib
import uuid
from pathlib import Path

from ..synthetic.config import REGIONS
from . import installer

KINDS = ('pls', 'nrp')


class CompareError(RuntimeError):
    """A problem found before (or instead of) scoring: a one-line message for the user."""


def registered_identifiers(root=None):
    """Identifiers registered in the installed ``brainscore_vision`` tree, read from the
    registration lines of every ``<kind>/*/__init__.py`` (no plugin is imported).

    Returns
    -------
    dict
        ``{'model_registry': set, 'benchmark_registry': set, 'metric_registry': set, 'data_registry': set}``
    """
    root = Path(root) if root is not None else installer.brainscore_root()
    found = {name: set() for name in installer.REGISTRY_NAMES.values()}
    for kind in installer.PLUGIN_KINDS:
        for init in sorted((root / kind).glob('*/__init__.py')):
            try:
                for registry, identifier in installer.registrations(init):
                    found.setdefault(registry, set()).add(identifier)
            except (OSError, UnicodeDecodeError):
                continue
    return found


def own_identifiers():
    """Identifiers this package's plugin folders register: ``{registry: set}``."""
    found = {}
    for (kind, name), folder in installer.plugin_sources().items():
        for registry, identifier in installer.registrations(folder / '__init__.py'):
            found.setdefault(registry, set()).add(identifier)
    return found


def benchmark_identifiers(families, regions=REGIONS, kinds=KINDS):
    """``<family>.<region>-<kind>`` for every family, region and kind, in that order."""
    return [f'{family}.{region}-{kind}' for family in families for region in regions for kind in kinds]


def _closest(name, candidates, n=5):
    return difflib.get_close_matches(name, sorted(candidates), n=n, cutoff=0.4)


def _unknown_message(what, names, candidates, own):
    parts = []
    for name in names:
        close = _closest(name, candidates)
        hint = f"closest registered: {', '.join(close)}" if close else 'no close registered identifier'
        if name in own:
            hint += '; it is one of nrp_plugin\'s: run `nrp-plugin install` first'
        parts.append(f"'{name}' ({hint})")
    return f"unknown {what}: " + '; '.join(parts)


def check_identifiers(models=(), benchmarks=(), registered=None, specs=True):
    """Raise :class:`CompareError` naming unknown model/benchmark identifiers and their closest
    registered ones (difflib). Benchmark families are suggested as families. Model specs
    (``torchvision:...``, ``file.py:function``; :mod:`nrp_plugin.app.model_specs`) are built and checked
    instead of looked up (``specs=False``: left to the caller)."""
    from . import model_specs
    spec_problem = None
    try:
        if specs:
            model_specs.check_specs(models)
    except model_specs.ModelSpecError as error:
        spec_problem = str(error)
    models = [m for m in models if not model_specs.is_spec(m)]
    registered = registered if registered is not None else registered_identifiers()
    try:
        own = own_identifiers()
    except Exception:  # noqa: BLE001 - only a hint
        own = {}
    problems = [spec_problem] if spec_problem else []
    known_models = registered.get('model_registry', set())
    unknown = [m for m in models if m not in known_models]
    if unknown:
        problems.append(_unknown_message('model', unknown, known_models, own.get('model_registry', set())))
    known_benchmarks = registered.get('benchmark_registry', set())
    unknown = [b for b in benchmarks if b not in known_benchmarks]
    if unknown:
        problems.append(_unknown_message('benchmark', unknown, known_benchmarks,
                                         own.get('benchmark_registry', set())))
    if problems:
        raise CompareError(' | '.join(problems))


def check_families(families, regions=REGIONS, registered=None):
    """Each family must register ``<family>.<region>-pls`` and ``-nrp``; else a CompareError that
    suggests the closest families (prefixes before the first '.')."""
    registered = registered if registered is not None else registered_identifiers()
    known = registered.get('benchmark_registry', set())
    families_known = {b.split('.', 1)[0] for b in known if '.' in b}
    problems = []
    for family in families:
        missing = [b for b in benchmark_identifiers([family], regions) if b not in known]
        if not missing:
            continue
        if family not in families_known:
            close = _closest(family, families_known)
            hint = f"closest families: {', '.join(close)}" if close else 'no close family'
            problems.append(f"unknown benchmark family '{family}' ({hint})")
        else:
            problems.append(_unknown_message('benchmark', missing, known, set()))
    if problems:
        raise CompareError(' | '.join(problems))


def check_writable(out):
    """Create ``out`` and write/remove a probe file in it; CompareError if that fails."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f'.nrp_probe_{uuid.uuid4().hex}'
        probe.write_text('probe', encoding='utf-8')
        probe.unlink()
    except OSError as error:
        raise CompareError(f"cannot write into --out {out}: {error.strerror or error}") from None
    return out
