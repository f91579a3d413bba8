"""What a score keeps for its intervals: every split's held-out predictions, per mapping, test image and site.

A benchmark score is an average over splits, sites and test images of one mapping's errors (MAE) or of per-site
correlations (Pearson r). Keeping the predictions themselves lets the images and the sites be resampled after the
fact, without refitting anything (:mod:`nrp_plugin.inference.resampling`).
"""
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ['HeldOut', 'combine_splits']


@dataclass
class HeldOut:
    """Every split's held-out predictions of one benchmark score.

    Attributes
    ----------
    test_ids : ndarray of str, shape (S, n_test)
        Each split's test stimuli, in the order of the arrays' second axis.
    neuroid_ids : ndarray of str, shape (n_sites,)
    targets : ndarray, shape (S, n_test, n_sites)
        The recorded (repetition-averaged) responses of each split's test stimuli.
    predictions : dict of str -> ndarray, shape (S, n_test, n_sites)
        Per mapping, its predictions of the same rows.
    n_stimuli : int
        How many stimuli the splits were drawn from (the population of images a resample draws from).
    train_size : float
        Each split's training fraction.
    """
    test_ids: np.ndarray
    neuroid_ids: np.ndarray
    targets: np.ndarray
    predictions: dict = field(default_factory=dict)
    n_stimuli: int = 0
    train_size: float = 0.9

    def __post_init__(self):
        self.test_ids = np.asarray(self.test_ids).astype(str)
        self.neuroid_ids = np.asarray(self.neuroid_ids).astype(str)
        self.targets = np.asarray(self.targets)
        shape = self.targets.shape
        if self.targets.ndim != 3 or self.test_ids.shape != shape[:2] or self.neuroid_ids.shape != shape[2:]:
            raise ValueError(f'held-out targets of shape {shape} do not match {self.test_ids.shape} test ids and '
                             f'{self.neuroid_ids.shape} sites')
        for name, values in self.predictions.items():
            if np.shape(values) != shape:
                raise ValueError(f"{name}'s held-out predictions have shape {np.shape(values)}, not {shape}")
        self.n_stimuli = int(self.n_stimuli or len(np.unique(self.test_ids)))

    @property
    def n_splits(self):
        return self.targets.shape[0]

    def same_design(self, other):
        """Whether two held-out sets are over the same splits, test stimuli and sites (so that one resample of the
        images and sites applies to both)."""
        return (self.test_ids.shape == other.test_ids.shape and np.array_equal(self.test_ids, other.test_ids)
                and np.array_equal(np.sort(self.neuroid_ids), np.sort(other.neuroid_ids))
                and self.n_stimuli == other.n_stimuli)

    def in_site_order(self, neuroid_ids):
        """The same held-out set with its sites in the order of ``neuroid_ids``."""
        position = {site: index for index, site in enumerate(self.neuroid_ids)}
        order = np.asarray([position[site] for site in np.asarray(neuroid_ids).astype(str)])
        return HeldOut(self.test_ids, self.neuroid_ids[order], self.targets[:, :, order],
                       {name: values[:, :, order] for name, values in self.predictions.items()}, self.n_stimuli,
                       self.train_size)

    def stimulus_index(self):
        """Each test row's stimulus as an index in ``[0, n_stimuli)`` (the stimuli never tested take the rest):
        shape (S, n_test)."""
        names, index = np.unique(self.test_ids, return_inverse=True)
        if len(names) > self.n_stimuli:
            raise ValueError(f'{len(names)} distinct test stimuli but n_stimuli={self.n_stimuli}')
        return index.reshape(self.test_ids.shape)

    def save(self, path):
        """Write to ``path`` (compressed ``.npz``, float32), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {'test_ids': self.test_ids, 'neuroid_ids': self.neuroid_ids,
                  'targets': self.targets.astype(np.float32), 'n_stimuli': np.int64(self.n_stimuli),
                  'train_size': np.float64(self.train_size)}
        arrays.update({f'prediction:{name}': values.astype(np.float32) for name, values in self.predictions.items()})
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
        os.close(fd)
        try:
            with open(tmp, 'wb') as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path):
        """Read what :meth:`save` wrote (float64 arrays)."""
        with np.load(path, allow_pickle=False) as data:
            predictions = {key.split(':', 1)[1]: data[key].astype(np.float64) for key in data.files
                           if key.startswith('prediction:')}
            return cls(data['test_ids'], data['neuroid_ids'], data['targets'].astype(np.float64), predictions,
                       int(data['n_stimuli']), float(data['train_size']))


def combine_splits(runs, split_runs):
    """One held-out set from several runs over the same splits, each split taken from its own run (a layer chosen
    inside each split).

    Parameters
    ----------
    runs : dict of str -> HeldOut
    split_runs : list of str
        Per split, the run it comes from.
    """
    first = runs[split_runs[0]]
    pick = lambda array_of: np.stack([array_of(runs[run])[split] for split, run in enumerate(split_runs)])
    names = set.intersection(*(set(run.predictions) for run in runs.values()))
    return HeldOut(first.test_ids, first.neuroid_ids, pick(lambda run: run.targets),
                   {name: pick(lambda run, name=name: run.predictions[name]) for name in sorted(names)},
                   first.n_stimuli, first.train_size)
