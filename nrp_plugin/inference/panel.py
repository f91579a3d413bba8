"""A panel: the scores of several models and mappings on one design (the same splits, test images and sites), with
their resampled versions.

Three sources of uncertainty are drawn separately, one factor at a time:

- **sites** (:meth:`Panel.site_draws`): the recording sites resampled with replacement (the test images as they are);
- **images** (:meth:`Panel.image_draws`): the stimuli resampled with replacement, each split keeping the drawn ones
  among its test images, as often as drawn (the sites as they are);
- **splits** (:meth:`Panel.per_split`): each split's score, whose spread over the overlapping splits is what the
  corrected resampled t of Nadeau & Bengio (2003) reads.

Every model's and mapping's scores are computed from the same draws, so anything computed from several of them (a
difference, a rank correlation across models) keeps their dependence.
"""
from dataclasses import dataclass

import numpy as np

from .scores import score

__all__ = ['Item', 'Panel']


@dataclass(frozen=True)
class Item:
    """One score of a panel: a model's mapping taken in one measure (``'mae'`` or ``'r'``)."""
    model: str
    mapping: str
    measure: str


class Panel:
    """Scores of several items over one design.

    Parameters
    ----------
    heldouts : dict of Item -> HeldOut
        Each item's held-out set (its ``predictions[item.mapping]``); all over the same splits, test stimuli and
        sites (:meth:`nrp_plugin.inference.HeldOut.same_design`).

    Raises
    ------
    ValueError
        When two items are not over the same design.
    """

    def __init__(self, heldouts):
        self.items = list(heldouts)
        if not self.items:
            raise ValueError('a panel needs at least one item')
        first = next(iter(heldouts.values()))
        self._arrays = {}
        for item, heldout in heldouts.items():
            if not first.same_design(heldout):
                raise ValueError(f'{item} is not over the same splits, test stimuli and sites as {self.items[0]}')
            heldout = heldout.in_site_order(first.neuroid_ids)
            if item.mapping not in heldout.predictions:
                raise ValueError(f'{item}: the held-out set has no predictions of {item.mapping!r}')
            self._arrays[item] = (heldout.predictions[item.mapping], heldout.targets)
        self.design = first
        self.n_splits = first.n_splits
        self.n_sites = len(first.neuroid_ids)
        self.ratio = (1 - first.train_size) / first.train_size

    def point(self):
        """Each item's score: ``{item: float}``."""
        return {item: score(*self._arrays[item], item.measure) for item in self.items}

    def per_split(self):
        """Each item's score in each split: ``{item: ndarray (S,)}``."""
        return {item: score(*self._arrays[item], item.measure, per_split=True) for item in self.items}

    def site_draws(self, rng, draws):
        """Each item's score under ``draws`` resamples of the sites: ``{item: ndarray (draws,)}``."""
        counts = rng.multinomial(self.n_sites, np.full(self.n_sites, 1 / self.n_sites), size=draws)
        return {item: score(*self._arrays[item], item.measure, site_counts=counts) for item in self.items}

    def image_draws(self, rng, draws):
        """Each item's score under ``draws`` resamples of the stimuli: ``{item: ndarray (draws,)}``."""
        n = self.design.n_stimuli
        counts = rng.multinomial(n, np.full(n, 1 / n), size=draws)  # (draws, n_stimuli)
        weights = counts[:, self.design.stimulus_index()]  # (draws, S, n_test)
        return {item: score(*self._arrays[item], item.measure, image_weights=weights) for item in self.items}

    def split_draws(self, rng, draws):
        """Each item's score under ``draws`` resamples of the splits taken as independent (with replacement):
        ``{item: ndarray (draws,)}`` (the assumption the corrected resampled t exists to avoid)."""
        chosen = rng.integers(0, self.n_splits, size=(draws, self.n_splits))
        return {item: values[chosen].mean(axis=1) for item, values in self.per_split().items()}

    def site_and_split_draws(self, rng, draws):
        """Each item's score when the sites and the splits are drawn together, the splits as independent: per draw,
        the mean over the drawn splits of each split's aggregate over the drawn sites."""
        counts = rng.multinomial(self.n_sites, np.full(self.n_sites, 1 / self.n_sites), size=draws)
        chosen = rng.integers(0, self.n_splits, size=(draws, self.n_splits))
        out = {}
        for item in self.items:
            splits = score(*self._arrays[item], item.measure, site_counts=counts, per_split=True)  # (draws, S)
            out[item] = np.nanmean(np.take_along_axis(splits, chosen, axis=1), axis=1)
        return out

