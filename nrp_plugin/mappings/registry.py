"""The mapping registry: every mapping the package scores, by name, in display order.

A mapping is registered by its class (a factory: the metric builds it with its options). Everything that lists
mappings (the metrics' references, the records, tables, statistics and plots) reads the names, titles and the
linear/nonlinear grouping from here, in registration order.
"""
from .base import READS, Mapping

__all__ = ['get', 'names', 'register', 'registered', 'linear_names', 'title', 'unregister']

_REGISTRY = {}


def register(mapping_class):
    """Add a mapping class to the registry (usable as a class decorator); returns it.

    Raises
    ------
    ValueError
        When the class lacks a name, title, ``linear`` or ``reads``, or its name is taken by another class.
    """
    if not (isinstance(mapping_class, type) and issubclass(mapping_class, Mapping)):
        raise ValueError(f'{mapping_class!r} is not a Mapping subclass; subclass nrp_plugin.mappings.Mapping.')
    name = mapping_class.name
    missing = [attribute for attribute in ('name', 'title', 'linear', 'reads')
               if getattr(mapping_class, attribute) is None]
    if missing:
        raise ValueError(f'{mapping_class.__name__} sets no {", ".join(missing)}; every mapping needs a name, a title, '
                         f'whether it is linear and what it reads.')
    if mapping_class.reads not in READS:
        raise ValueError(f'{mapping_class.__name__}.reads={mapping_class.reads!r} must be one of {READS}.')
    if name in _REGISTRY and _REGISTRY[name] is not mapping_class:
        raise ValueError(f'A mapping named {name!r} is registered already ({_REGISTRY[name].__name__}); choose '
                         f'another name.')
    _REGISTRY[name] = mapping_class
    return mapping_class


def unregister(name):
    """Remove a mapping from the registry (a mapping a test or a session added); no error when absent."""
    _REGISTRY.pop(name, None)


def registered():
    """``{name: class}`` of every registered mapping, in registration (display) order."""
    return dict(_REGISTRY)


def names():
    """Every registered mapping's name, in display order."""
    return list(_REGISTRY)


def linear_names():
    """The names of the linear mappings, in display order."""
    return [name for name, mapping in _REGISTRY.items() if mapping.linear]


def get(name):
    """The class registered under ``name``.

    Raises
    ------
    ValueError
        Naming the registered mappings when ``name`` is not one of them.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f'No mapping named {name!r}; the registered mappings are {", ".join(_REGISTRY)}.') from None


def title(name):
    """How tables and plots name a mapping (its name when it is not registered, e.g. in an old record)."""
    mapping = _REGISTRY.get(name)
    return mapping.title if mapping is not None else name
