"""The configurations the nested NRP search tries: input layers, NRP-L1/L2 sizes, learning rates."""
import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DEFAULT_L1_SIZES = (32, 128, 512)
DEFAULT_L2_SIZES = (0, 32, 128, 512)
DEFAULT_LEARNING_RATES = (1e-3, 3e-3)
DEFAULT_MAX_SUBSET_SIZE = 3
DEFAULT_INNER_VALIDATION_FRACTION = 0.2


def _positive_ints(name, values, allow_zero=False):
    values = tuple(values) if isinstance(values, (list, tuple)) else None
    if not values:
        raise ValueError(f"SearchGrid.{name} must be a non-empty list of integers, got {values!r}.")
    lowest = 0 if allow_zero else 1
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
            kind = 'non-negative' if allow_zero else 'positive'
            raise ValueError(f"SearchGrid.{name} must hold {kind} integers; {value!r} is not.")
    if len(set(values)) != len(values):
        raise ValueError(f"SearchGrid.{name} has repeated values: {list(values)}.")
    return tuple(int(value) for value in values)


@dataclass(frozen=True)
class SearchGrid:
    """The configurations the nested search tries.

    Attributes
    ----------
    layer_subsets : None or tuple of tuple of str
        Input layers (groups of the source's ``layer`` coordinate) per candidate. ``None``: every
        non-empty subset of the source's layers with at most ``max_subset_size`` layers. A source
        without a ``layer`` coordinate has one group and one candidate (all columns).
    l1_sizes : tuple of int
        Units per NRP-L1 block.
    l2_sizes : tuple of int
        Units of NRP-L2; ``0`` drops NRP-L2 (one hidden layer).
    learning_rates : tuple of float
    inner_validation_fraction : float
        Share of each split's outer training stimuli held out to compare configurations.
    max_subset_size : int
        Largest layer subset generated when ``layer_subsets`` is ``None``.
    """
    layer_subsets: tuple = None
    l1_sizes: tuple = DEFAULT_L1_SIZES
    l2_sizes: tuple = DEFAULT_L2_SIZES
    learning_rates: tuple = DEFAULT_LEARNING_RATES
    inner_validation_fraction: float = DEFAULT_INNER_VALIDATION_FRACTION
    max_subset_size: int = DEFAULT_MAX_SUBSET_SIZE

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        if self.layer_subsets is not None:
            if isinstance(self.layer_subsets, str) or not isinstance(self.layer_subsets, (list, tuple)) \
                    or not self.layer_subsets:
                raise ValueError(f"SearchGrid.layer_subsets must be null or a non-empty list of lists of "
                                 f"layer names, got {self.layer_subsets!r}.")
            subsets = []
            for subset in self.layer_subsets:
                if isinstance(subset, str) or not isinstance(subset, (list, tuple)) or not subset \
                        or not all(isinstance(name, str) for name in subset):
                    raise ValueError(f"SearchGrid.layer_subsets: every entry must be a non-empty list of layer "
                                     f"names, {subset!r} is not.")
                if len(set(subset)) != len(subset):
                    raise ValueError(f"SearchGrid.layer_subsets: {list(subset)} repeats a layer.")
                subsets.append(tuple(subset))
            set_('layer_subsets', tuple(subsets))
        set_('l1_sizes', _positive_ints('l1_sizes', self.l1_sizes))
        set_('l2_sizes', _positive_ints('l2_sizes', self.l2_sizes, allow_zero=True))
        rates = self.learning_rates
        if not isinstance(rates, (list, tuple)) or not rates:
            raise ValueError(f"SearchGrid.learning_rates must be a non-empty list of numbers, got {rates!r}.")
        for rate in rates:
            if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                    or not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"SearchGrid.learning_rates must hold finite numbers > 0; {rate!r} is not.")
        set_('learning_rates', tuple(float(rate) for rate in rates))
        fraction = self.inner_validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (0 < fraction < 1):
            raise ValueError(f"SearchGrid.inner_validation_fraction={fraction!r} must lie in (0, 1).")
        size = self.max_subset_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"SearchGrid.max_subset_size={size!r} must be a positive integer.")

    @classmethod
    def default(cls):
        """The default grid: every subset of up to 3 layers x L1 (32, 128, 512) x L2 (0, 32, 128, 512)
        x learning rate (1e-3, 3e-3), inner validation 20% of each split's training stimuli."""
        return cls()

    @classmethod
    def from_dict(cls, values):
        if not isinstance(values, dict):
            raise ValueError(f"A search grid must be a JSON object, got {type(values).__name__}.")
        known = {'layer_subsets', 'l1_sizes', 'l2_sizes', 'learning_rates', 'inner_validation_fraction',
                 'max_subset_size'}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown search grid field(s) {sorted(unknown)}; accepted: {sorted(known)}.")
        return cls(**values)

    @classmethod
    def from_json(cls, path):
        """Read a grid from a JSON file; fields left out keep their defaults."""
        try:
            values = json.loads(Path(path).read_text(encoding='utf-8'))
        except json.JSONDecodeError as error:
            raise ValueError(f"Search grid {path} is not valid JSON: {error}") from None
        return cls.from_dict(values)

    @classmethod
    def coerce(cls, value):
        """A SearchGrid from a SearchGrid, ``True`` (the default grid), a dict or a JSON file path."""
        if isinstance(value, cls):
            return value
        if value is True:
            return cls.default()
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, (str, Path)):
            return cls.from_json(value)
        raise ValueError(f"search={value!r} must be a SearchGrid, True, a dict or a path to a JSON grid.")

    def to_dict(self):
        values = asdict(self)
        if self.layer_subsets is not None:
            values['layer_subsets'] = [list(subset) for subset in self.layer_subsets]
        for name in ('l1_sizes', 'l2_sizes', 'learning_rates'):
            values[name] = list(values[name])
        return values

    def subsets_for(self, group_names):
        """The layer subsets to try for a source whose groups are ``group_names`` (tuples of names)."""
        names = [None if name is None else str(name) for name in group_names]
        if names == [None]:
            if self.layer_subsets is not None:
                raise ValueError("SearchGrid.layer_subsets is set but the source has no 'layer' coordinate "
                                 "(one input group); leave layer_subsets null.")
            return [(None,)]
        if self.layer_subsets is None:
            return [subset for size in range(1, min(self.max_subset_size, len(names)) + 1)
                    for subset in itertools.combinations(names, size)]
        for subset in self.layer_subsets:
            missing = [name for name in subset if name not in names]
            if missing:
                raise ValueError(f"SearchGrid.layer_subsets names unknown layer(s) {missing}; "
                                 f"the source's layers are {names}.")
        order = {name: i for i, name in enumerate(names)}
        return [tuple(sorted(subset, key=order.get)) for subset in self.layer_subsets]

    def configurations(self, group_names):
        """Every candidate as ``(layers, l1_size, l2_size, learning_rate)``."""
        return list(itertools.product(self.subsets_for(group_names), self.l1_sizes, self.l2_sizes,
                                      self.learning_rates))
