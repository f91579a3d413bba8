"""Intervals for everything a comparison concludes, from one panel of scores (:class:`~.panel.Panel`).

The quantities (:class:`Quantity`): a score, the difference of two scores of one model (two mappings), a rank
correlation (Spearman's rho or Kendall's tau-b) between two orders of the same models, and the difference of two rank
correlations. Each is a function of the panel's scores, evaluated on draws of them.

The interval kinds (:data:`METHODS`):

- ``'factor'``: the images and the sites are resampled one factor at a time, and the split part is added as the
  corrected resampled t's covariance: each draw's scores are ``s + (s_sites - s) + (s_images - s) + d``, the sites'
  and the images' deviations from independent draws, ``d`` Gaussian with the covariance of the per-split scores
  times ``n_test / n_train`` (Nadeau & Bengio 2003: the part of the splits' variance their overlap keeps from
  averaging out). Resampling images and sites one at a time and adding the deviations keeps their variances apart;
  a draw of both at once counts the image-by-site noise twice (Schütt et al. 2023). The 95% interval is the
  quantity's 2.5% and 97.5% points over the draws.
- ``'factor_basic'``: the same draws, the basic bootstrap interval ``2 q - (upper, lower)``.
- ``'split_t'``: the corrected resampled t over the splits alone (a score or a difference: the per-split values'
  mean ± t · sqrt((1/k + n_test/n_train) s²)); the sites and the images taken as fixed.
- ``'sites_splits'``: the percentile interval over draws of the sites and of the splits together, the splits taken
  as independent (with replacement), the images as fixed.

Which of them a report prints is decided by their measured coverage (:mod:`nrp_plugin.inference.coverage`).
"""
import math
from dataclasses import dataclass

import numpy as np

__all__ = ['METHODS', 'Quantity', 'draws_of', 'interval', 'rank_correlation']

METHODS = ('factor', 'factor_basic', 'split_t', 'sites_splits')


def _ranks(values):
    """Ranks (0..n-1) along the last axis; ties by order (the scores are continuous)."""
    return np.argsort(np.argsort(values, axis=-1, kind='stable'), axis=-1, kind='stable').astype(float)


def rank_correlation(x, y, kind='spearman'):
    """Spearman's rho or Kendall's tau-b between two scores of the same models, along the last axis.

    Parameters
    ----------
    x, y : ndarray, shape (..., n_models)
        Oriented so that higher is better in both.
    kind : {'spearman', 'kendall'}

    Returns
    -------
    ndarray, shape (...)
        NaN where a row has a non-finite value or does not vary.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    bad = ~(np.isfinite(x).all(axis=-1) & np.isfinite(y).all(axis=-1))
    bad |= (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    with np.errstate(invalid='ignore', divide='ignore'):
        value = _correlation(x, y, kind)
    return np.where(bad, np.nan, value)


def _correlation(x, y, kind):
    if kind == 'spearman':
        rx, ry = _ranks(x), _ranks(y)
        rx -= rx.mean(axis=-1, keepdims=True)
        ry -= ry.mean(axis=-1, keepdims=True)
        value = (rx * ry).sum(axis=-1) / np.sqrt((rx ** 2).sum(axis=-1) * (ry ** 2).sum(axis=-1))
    elif kind == 'kendall':
        i, j = np.triu_indices(x.shape[-1], 1)
        dx, dy = np.sign(x[..., j] - x[..., i]), np.sign(y[..., j] - y[..., i])
        concordance = (dx * dy).sum(axis=-1)
        value = concordance / np.sqrt((dx != 0).sum(axis=-1) * (dy != 0).sum(axis=-1))
    else:
        raise ValueError(f"kind={kind!r} must be 'spearman' or 'kendall'")
    return value


@dataclass(frozen=True)
class Quantity:
    """A function of a panel's scores.

    Attributes
    ----------
    kind : {'score', 'difference', 'rank', 'rank_difference'}
    items : tuple
        ``'score'``: ``(item,)``; ``'difference'``: ``(a, b)`` for ``a - b``; ``'rank'``: ``(xs, ys)``, two tuples of
        items, one per model in the same order; ``'rank_difference'``: ``((xs, ys), (us, vs))`` for
        ``rank(xs, ys) - rank(us, vs)``.
    correlation : {'spearman', 'kendall'}
        For the rank quantities.
    name : str
        How a report names it.
    """
    kind: str
    items: tuple
    correlation: str = 'spearman'
    name: str = ''

    def evaluate(self, scores):
        """The quantity from ``{item: value or (draws,) array}``; a float or a (draws,) array."""
        if self.kind == 'score':
            return scores[self.items[0]]
        if self.kind == 'difference':
            return scores[self.items[0]] - scores[self.items[1]]
        if self.kind == 'rank':
            return self._rank(scores, *self.items)
        if self.kind == 'rank_difference':
            return self._rank(scores, *self.items[0]) - self._rank(scores, *self.items[1])
        raise ValueError(f'unknown quantity kind {self.kind!r}')

    def _rank(self, scores, xs, ys):
        x = np.stack([_oriented(scores[item], item) for item in xs], axis=-1)
        y = np.stack([_oriented(scores[item], item) for item in ys], axis=-1)
        value = rank_correlation(x, y, self.correlation)
        return float(value) if np.ndim(value) == 0 else value

    def linear(self):
        """Whether the quantity is linear in the scores (then the split-only t applies to it)."""
        return self.kind in ('score', 'difference')

    def involved(self):
        """Every item the quantity reads."""
        if self.kind in ('score', 'difference'):
            return list(self.items)
        pairs = [self.items] if self.kind == 'rank' else list(self.items)
        return [item for pair in pairs for side in pair for item in side]


def _oriented(values, item):
    """Scores oriented so that higher is better (an MAE negated)."""
    return -np.asarray(values, dtype=float) if item.measure == 'mae' else np.asarray(values, dtype=float)


@dataclass
class Draws:
    """A panel's scores and their draws, computed once for every quantity (:func:`draws_of`)."""
    point: dict
    per_split: dict
    sites: dict
    images: dict
    splits_gaussian: dict
    sites_splits: dict
    ratio: float
    n_splits: int


def draws_of(panel, draws=1000, random_state=0):
    """Every draw the interval kinds need, for the panel's items (all by default).

    The site, image and split draws come from independent seeded streams; the Gaussian split deviations are
    ``sqrt(n_test / n_train) * sum_s g_s (p_s - mean p) / sqrt(S - 1)`` with standard normal ``g``, whose covariance
    is the per-split scores' times ``n_test / n_train``.
    """
    sites_rng, images_rng, gauss_rng, joint_rng = (np.random.default_rng([random_state, k]) for k in range(4))
    per_split = panel.per_split()
    centred = {item: np.nan_to_num(values - np.nanmean(values)) for item, values in per_split.items()}
    gauss = gauss_rng.standard_normal((draws, panel.n_splits)) / math.sqrt(max(panel.n_splits - 1, 1))
    splits_gaussian = {item: math.sqrt(panel.ratio) * gauss @ values for item, values in centred.items()}
    return Draws(point=panel.point(), per_split=per_split, sites=panel.site_draws(sites_rng, draws),
                 images=panel.image_draws(images_rng, draws), splits_gaussian=splits_gaussian,
                 sites_splits=panel.site_and_split_draws(joint_rng, draws), ratio=panel.ratio,
                 n_splits=panel.n_splits)


def _factor_draws(quantity, draws):
    scores = {item: draws.point[item] + (draws.sites[item] - draws.point[item])
              + (draws.images[item] - draws.point[item]) + draws.splits_gaussian[item]
              for item in quantity.involved()}
    return np.asarray(quantity.evaluate(scores), dtype=float)


def interval(quantity, draws, method='factor', alpha=0.05):
    """The estimate and ``1 - alpha`` interval of a quantity by one interval kind.

    Parameters
    ----------
    quantity : Quantity
    draws : Draws
    method : one of :data:`METHODS`
    alpha : float

    Returns
    -------
    dict
        ``estimate``, ``low``, ``high`` (None where the kind does not apply, e.g. ``'split_t'`` to a rank
        correlation, or the draws leave it undefined), ``se`` (the draws' standard deviation, or the t's standard
        error) and ``p`` (two-sided, of the hypothesis that the quantity is 0, from ``estimate / se`` on the normal;
        the t distribution for ``'split_t'``).
    """
    from scipy import stats
    estimate = quantity.evaluate(draws.point)
    out = {'estimate': None if not np.isfinite(estimate) else float(estimate), 'low': None, 'high': None,
           'se': None, 'p': None}
    if out['estimate'] is None:
        return out
    if method == 'split_t':
        if not quantity.linear():
            return out
        values = np.asarray(quantity.evaluate(draws.per_split), dtype=float)
        k = values.size
        if k < 2 or not np.all(np.isfinite(values)):
            return out
        se = math.sqrt((1 / k + draws.ratio) * values.var(ddof=1))
        half = float(stats.t.ppf(1 - alpha / 2, k - 1)) * se
        mean = float(values.mean())
        out.update(estimate=mean, low=mean - half, high=mean + half, se=se)
        if se > 0:
            out['p'] = float(2 * stats.t.sf(abs(mean) / se, k - 1))
        return out
    if method in ('factor', 'factor_basic'):
        sample = _factor_draws(quantity, draws)
    elif method == 'sites_splits':
        sample = np.asarray(quantity.evaluate({item: draws.sites_splits[item] for item in quantity.involved()}),
                            dtype=float)
    else:
        raise ValueError(f'method={method!r} must be one of {METHODS}')
    sample = sample[np.isfinite(sample)]
    if sample.size < 10:
        return out
    low, high = np.quantile(sample, [alpha / 2, 1 - alpha / 2])
    if method == 'factor_basic':
        low, high = 2 * estimate - high, 2 * estimate - low
    se = float(sample.std(ddof=1))
    out.update(low=float(low), high=float(high), se=se)
    if se > 0:
        out['p'] = float(2 * stats.norm.sf(abs(out['estimate']) / se))
    return out
