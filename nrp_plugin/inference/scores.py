"""A mapping's score from its held-out predictions, under weights on the test images and the sites.

A score is defined as the benchmarks define it: per split and site a figure over the split's test images (``'mae'``,
the mean absolute error; ``'r'``, Pearson's r), per split an aggregate over the sites (MAE: the mean; r: the median,
as Brain-Score's ``pls`` takes it, NaN skipped), then the mean over splits. Integer weights are the multiplicities of
a resample (:mod:`nrp_plugin.inference.resampling`): all ones give the score itself; a draw of the images or of the
sites gives that draw's score, computed the way the score is defined. Everything is batched over draws.
"""
import warnings

import numpy as np

__all__ = ['MEASURES', 'score', 'site_aggregate', 'split_site_values', 'weighted_median']

#: The measures a score can be taken in, and how a split's sites are aggregated
MEASURES = {'mae': 'mean', 'r': 'median'}


def split_site_values(predictions, targets, measure, image_weights=None):
    """Per split and site, the figure over the split's test images.

    Parameters
    ----------
    predictions, targets : ndarray, shape (S, n_test, n_sites)
    measure : {'mae', 'r'}
    image_weights : ndarray, shape (B, S, n_test), optional
        Each test row's weight in each of ``B`` draws; every row once when None.

    Returns
    -------
    ndarray, shape (B, S, n_sites), or (S, n_sites) without weights
        NaN where a draw leaves a split without test rows, or (r) where the prediction or the target does not vary.
    """
    weights = np.ones((1,) + predictions.shape[:2]) if image_weights is None else np.asarray(image_weights, float)
    total = weights.sum(axis=-1)[..., None]  # (B, S, 1)
    with np.errstate(invalid='ignore', divide='ignore'):
        if measure == 'mae':
            values = np.einsum('bsi,sit->bst', weights, np.abs(predictions - targets)) / total
        elif measure == 'r':
            def moment(array):
                return np.einsum('bsi,sit->bst', weights, array) / total
            p_mean, t_mean = moment(predictions), moment(targets)
            covariance = moment(predictions * targets) - p_mean * t_mean
            p_square, t_square = moment(predictions ** 2), moment(targets ** 2)
            p_var = np.maximum(p_square - p_mean ** 2, 0)
            t_var = np.maximum(t_square - t_mean ** 2, 0)
            # a column that does not vary over the rows (up to rounding) has no r, as scipy's pearsonr says
            constant = (p_var <= 1e-10 * np.maximum(p_square, 1e-300)) | (t_var <= 1e-10 * np.maximum(t_square, 1e-300))
            values = np.where(constant, np.nan, np.clip(covariance / np.sqrt(p_var * t_var), -1, 1))
        else:
            raise ValueError(f"measure={measure!r} must be one of {sorted(MEASURES)}")
    return values[0] if image_weights is None else values


def weighted_median(values, counts):
    """The median of each row's values, each taken as often as its count says (NaN values left out).

    Parameters
    ----------
    values : ndarray, shape (..., n)
    counts : ndarray of int, shape (..., n) or (n,)

    Returns
    -------
    ndarray, shape (...)
        ``numpy.nanmedian`` of the expanded multiset; NaN where it is empty.
    """
    values = np.asarray(values, dtype=float)
    counts = np.broadcast_to(np.asarray(counts), values.shape).astype(float)
    counts = np.where(np.isnan(values), 0, counts)
    order = np.argsort(values, axis=-1)  # NaN last
    values = np.take_along_axis(values, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(counts, order, axis=-1), axis=-1)
    total = cumulative[..., -1]
    lower, upper = np.floor((total - 1) / 2), np.floor(total / 2)
    at = lambda position: np.take_along_axis(values, np.argmax(cumulative > position[..., None], axis=-1)[..., None],
                                             axis=-1)[..., 0]
    median = (at(lower) + at(upper)) / 2
    return np.where(total > 0, median, np.nan)


def site_aggregate(values, measure, site_counts=None):
    """Per split, the aggregate over sites (MAE: mean; r: median, NaN skipped), with each site's multiplicity.

    Parameters
    ----------
    values : ndarray, shape (..., S, n_sites)
    measure : {'mae', 'r'}
    site_counts : ndarray, shape (..., n_sites) or (n_sites,), optional
        Broadcast over splits; every site once when None.

    Returns
    -------
    ndarray, shape (..., S)
    """
    if site_counts is None:
        if MEASURES[measure] == 'mean':
            return values.mean(axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)
            return np.nanmedian(values, axis=-1)
    counts = np.asarray(site_counts, dtype=float)[..., None, :]
    if MEASURES[measure] == 'mean':
        return (values * counts).sum(axis=-1) / counts.sum(axis=-1)
    return weighted_median(values, np.broadcast_to(counts, values.shape))


def score(predictions, targets, measure, image_weights=None, site_counts=None, per_split=False):
    """A mapping's score from its held-out predictions.

    Parameters
    ----------
    predictions, targets : ndarray, shape (S, n_test, n_sites)
    measure : {'mae', 'r'}
    image_weights : ndarray, shape (B, S, n_test), optional
    site_counts : ndarray, shape (B, n_sites) or (n_sites,), optional
    per_split : bool
        Return each split's aggregate instead of their mean.

    Returns
    -------
    float, or ndarray of shape (B,) with weights; (S,) or (B, S) with ``per_split``
        The mean over splits (NaN splits skipped) of the per-split aggregate over sites.
    """
    values = split_site_values(predictions, targets, measure, image_weights)
    if site_counts is not None and image_weights is None and np.ndim(site_counts) == 2:
        values = np.broadcast_to(values, (len(site_counts),) + values.shape)
    splits = site_aggregate(values, measure, site_counts)
    if per_split:
        return splits
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        means = np.nanmean(splits, axis=-1)
    return float(means) if np.ndim(means) == 0 else means
