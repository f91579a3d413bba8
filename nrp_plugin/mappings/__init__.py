"""The mappings from a model's layers to the recorded sites, one object each, in one registry.

Each mapping (:class:`Mapping`) has a name, a title, whether it is linear, what it reads, and one method that fits
on every cross-validation split and returns the test predictions with what each split chose. The registry
(:func:`register`, :func:`names`, :func:`get`) lists them in display order: Brain-Score's PLS, ridge, banded
ridge and least squares on the NRP inputs (the linear ones, in the order that breaks a tie for the best linear
mapping), then RBF kernel ridge and the NRP. Adding a mapping is one new module with a :class:`Mapping` subclass
and one :func:`register` call.

No Brain-Score here: the metrics that score with these mappings are in :mod:`nrp_plugin.brainscore.nrp_metric`.
"""
from .base import READS, Mapping, MappingFit, SplitPieces
from .banded_ridge import BandedRidge
from .fitting import SplitFits, fit_mappings
from .kernel_ridge import KernelRidge
from .least_squares import LeastSquares
from .nrp import NRP
from .pls import PLS
from .registry import get, linear_names, names, register, registered, title, unregister
from .ridge import Ridge

for _mapping in (PLS, Ridge, BandedRidge, LeastSquares, KernelRidge, NRP):
    register(_mapping)

#: The mappings an NRP score reports beside the NRP by default, on the same splits
DEFAULT_REFERENCES = ('ridge', 'banded_ridge', 'least_squares', 'kernel_ridge')


def resolve_references(references, main='nrp'):
    """The reference mappings asked for, as a tuple of registered names in display order.

    Parameters
    ----------
    references : 'all', 'none', None, str or sequence of str
        ``'all'`` (or None): :data:`DEFAULT_REFERENCES`; ``'none'`` or an empty sequence: no reference; a
        comma-separated string or a sequence of registered names.
    main : str
        The mapping the references are beside (never one of them).

    Raises
    ------
    ValueError
        Naming an unknown mapping and the registered ones.
    """
    if references is None or references == 'all':
        chosen = DEFAULT_REFERENCES
    elif references == 'none':
        chosen = ()
    else:
        chosen = [part.strip() for part in references.split(',')] if isinstance(references, str) else list(references)
        chosen = [name for name in chosen if name]
        unknown = [name for name in chosen if name not in registered()]
        if unknown:
            raise ValueError(f"Unknown reference mapping(s) {', '.join(map(repr, unknown))}; choose among "
                             f"{', '.join(name for name in names() if name != main)}, or 'all' or 'none'.")
    return tuple(name for name in names() if name in chosen and name != main)


__all__ = ['DEFAULT_REFERENCES', 'READS', 'BandedRidge', 'KernelRidge', 'LeastSquares', 'Mapping', 'MappingFit', 'NRP',
           'PLS', 'Ridge', 'SplitFits', 'SplitPieces', 'fit_mappings', 'get', 'linear_names', 'names', 'register',
           'registered', 'resolve_references', 'title', 'unregister']
