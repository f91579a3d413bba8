"""Cross-validation splits, made exactly as Brain-Score's ``pls`` metric makes them.

Brain-Score's ``CrossRegressedCorrelation`` builds its splits with
``brainscore_vision.metric_helpers.transformations.Split`` from the *target* assembly's
``stimulus_id`` values, stratified on ``object_name``: 10 ``StratifiedShuffleSplit`` splits,
90% train, ``random_state=1``. This module calls that same class, so every metric of this package
sees the same train and test stimuli as ``pls`` for the same target.
"""
from dataclasses import dataclass

import numpy as np

DEFAULT_SPLITS = 10
DEFAULT_TRAIN_SIZE = 0.9
DEFAULT_STRATIFICATION = 'object_name'
DEFAULT_RANDOM_STATE = 1


@dataclass(frozen=True)
class CrossValidationSpec:
    """The cross-validation protocol; the defaults are Brain-Score's."""
    splits: int = DEFAULT_SPLITS
    train_size: float = DEFAULT_TRAIN_SIZE
    stratification_coord: str = DEFAULT_STRATIFICATION
    random_state: int = DEFAULT_RANDOM_STATE

    @classmethod
    def from_kwargs(cls, crossvalidation_kwargs=None):
        """Build from the ``crossvalidation_kwargs`` dictionary Brain-Score's metrics accept."""
        kwargs = dict(crossvalidation_kwargs or {})
        known = {'splits', 'train_size', 'stratification_coord', 'random_state'}
        unknown = set(kwargs) - known - {'test_size'}
        if unknown:
            raise ValueError(f"Unknown cross-validation argument(s) {sorted(unknown)}; "
                             f"accepted: {sorted(known)}.")
        kwargs.pop('test_size', None)
        return cls(**{key: kwargs[key] for key in known if key in kwargs})


def build_splits(target, spec=CrossValidationSpec()):
    """Train/test stimulus ids for each split, as Brain-Score's ``pls`` metric draws them.

    Parameters
    ----------
    target : NeuroidAssembly, shape (n_stimuli, n_neuroids)
        Must carry ``stimulus_id`` and, when stratifying, ``spec.stratification_coord``.
    spec : CrossValidationSpec

    Returns
    -------
    list of (ndarray, ndarray)
        ``(train_stimulus_ids, test_stimulus_ids)`` per split.
    """
    from brainscore_vision.metric_helpers.transformations import Split
    split = Split(splits=spec.splits, train_size=spec.train_size,
                  stratification_coord=spec.stratification_coord or None,
                  random_state=spec.random_state)
    values, splits = split.build_splits(target)
    ids = np.asarray(values['stimulus_id'].values if 'stimulus_id' in values.coords else values.values)
    return [(ids[train], ids[test]) for train, test in splits]


def split_indices(stimulus_ids, splits):
    """Convert stimulus-id splits into row indices of an array ordered by ``stimulus_ids``.

    Returns
    -------
    list of (ndarray of int, ndarray of int)
    """
    position = {stimulus_id: index for index, stimulus_id in enumerate(np.asarray(stimulus_ids))}
    return [(np.array([position[s] for s in train]), np.array([position[s] for s in test]))
            for train, test in splits]
