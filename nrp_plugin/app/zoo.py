"""Many models at once: ``--models`` given as files of specs and as patterns over torchvision's architectures.

:func:`expand_models` turns ``compare --models`` into the list of models to score:

- a registered identifier or a spec (``torchvision:<arch>[:weights]``, ``path/to/file.py:function``) stands for
  itself;
- a pattern over torchvision's classification architectures (``torchvision:resnet*``, ``torchvision:*``, any
  ``fnmatch`` pattern after ``torchvision:``, optionally followed by ``:pretrained``) stands for every matching
  name of ``torchvision.models.list_models(module=torchvision.models)``, sorted;
- a file (a path that exists and is not a ``.py:function`` spec) holds one model or pattern per line; ``#`` starts a
  comment, blank lines are skipped.

The expansion is printed before a run, so what is scored is visible; duplicates keep their first place.
"""
import fnmatch
from pathlib import Path

from .checks import CompareError
from .model_specs import TORCHVISION_PREFIX, is_spec

__all__ = ['expand_models', 'is_pattern', 'torchvision_architectures']

_WILDCARDS = set('*?[')


def torchvision_architectures():
    """torchvision's classification architectures, sorted."""
    import torchvision
    return sorted(torchvision.models.list_models(module=torchvision.models))


def is_pattern(item):
    """Whether ``item`` is a pattern over torchvision's architectures (``torchvision:`` then a wildcard)."""
    return item.startswith(TORCHVISION_PREFIX) and bool(_WILDCARDS & set(item[len(TORCHVISION_PREFIX):].split(':')[0]))


def _expand_pattern(item):
    pattern, _, weights = item[len(TORCHVISION_PREFIX):].partition(':')
    names = [name for name in torchvision_architectures() if fnmatch.fnmatchcase(name, pattern)]
    if not names:
        raise CompareError(f"--models {item}: no torchvision architecture matches {pattern!r} (names are "
                           f"torchvision.models.list_models(), e.g. resnet18, mobilenet_v3_small)")
    return [f'{TORCHVISION_PREFIX}{name}' + (f':{weights}' if weights else '') for name in names]


def _read_file(path):
    items = []
    for line in Path(path).read_text(encoding='utf-8').splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            items.append(line)
    if not items:
        raise CompareError(f"--models {path}: the file lists no model (one identifier, spec or pattern per line, "
                           f"'#' starts a comment)")
    return items


def expand_models(items, _depth=0):
    """The models ``compare --models`` stands for (see the module notes), in order, without duplicates.

    Raises
    ------
    CompareError
        A pattern that matches nothing, or an empty file (one line naming it).
    """
    models = []
    for item in items:
        if is_pattern(item):
            models.extend(_expand_pattern(item))
        elif not is_spec(item) and _depth == 0 and Path(item).expanduser().is_file():
            models.extend(expand_models(_read_file(Path(item).expanduser()), _depth=1))
        else:
            models.append(item)
    return list(dict.fromkeys(models))
