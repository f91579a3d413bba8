"""Intervals and tests over the cross-validation splits: the corrected resampled t of Nadeau & Bengio (2003) for one
mapping's per-split figure and for paired differences, and Holm's (1979) correction. Pure numpy and scipy.

The splits of one benchmark overlap (Brain-Score's 10 splits share 90% of their training stimuli), so the naive
SEM over splits is too small; :func:`resampled_t` widens it by ``1/k + n_test/n_train``. docs/compare.md has the
formulas and references.
"""
import math

import numpy as np

__all__ = ['DEFAULT_TRAIN_SIZE', 'holm', 'holm_within', 'ordered_unique', 'paired_difference', 'resampled_t',
           'split_half_width', 'split_interval', 'split_ratio']

DEFAULT_TRAIN_SIZE = 0.9


def ordered_unique(values):
    """The distinct ``values`` in the order they first appear.

    Parameters
    ----------
    values : iterable
        Any values comparable with ``==`` (hashable or not).

    Returns
    -------
    list
    """
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def resampled_t(differences, test_train_ratio, alpha=0.05, corrected=True):
    """Paired t over repeated random train/test splits, with Nadeau & Bengio's (2003) correction.

    Parameters
    ----------
    differences : array-like, shape (k,)
        Per-split difference of two mappings' (or models') test errors, on the same splits.
    test_train_ratio : float
        n_test / n_train of each split (1/9 for Brain-Score's 90/10 splits).
    alpha : float
        1 - the confidence level of the interval.
    corrected : bool
        True: variance ``(1/k + n_test/n_train) * s^2`` (the corrected resampled t); False: the naive
        ``s^2 / k``, which ignores that the splits' training and test sets overlap and so is too small.

    Returns
    -------
    dict
        ``mean``, ``se``, ``t``, ``df`` (k - 1), ``p`` (two-sided), ``ci_low``, ``ci_high``, ``n_splits``;
        the numbers are None with fewer than 2 splits. A zero variance gives ``se`` 0 and ``t``/``p`` None.
    """
    from scipy import stats as scipy_stats
    d = np.asarray(differences, dtype=float)
    k = d.size
    out = {'mean': float(d.mean()) if k else None, 'se': None, 't': None, 'df': k - 1 if k else None, 'p': None,
           'ci_low': None, 'ci_high': None, 'n_splits': int(k)}
    if k < 2 or not np.all(np.isfinite(d)):
        return out
    factor = (1.0 / k + float(test_train_ratio)) if corrected else 1.0 / k
    se = math.sqrt(factor * d.var(ddof=1))
    half = float(scipy_stats.t.ppf(1 - alpha / 2, k - 1)) * se
    out.update(se=se, ci_low=out['mean'] - half, ci_high=out['mean'] + half)
    if se > 0:
        t = out['mean'] / se
        out.update(t=float(t), p=float(2 * scipy_stats.t.sf(abs(t), k - 1)))
    return out


def split_ratio(train_size):
    """n_test / n_train for a training fraction ``train_size`` (Brain-Score's 0.9 when None)."""
    train_size = DEFAULT_TRAIN_SIZE if train_size is None else float(train_size)
    return (1.0 - train_size) / train_size


def paired_difference(a_splits, b_splits, train_size=None, alpha=0.05):
    """Per-split ``a - b`` on the same splits with the corrected resampled t; None when they do not pair."""
    a, b = np.asarray(a_splits, dtype=float), np.asarray(b_splits, dtype=float)
    if a.size == 0 or a.shape != b.shape:
        return None
    return resampled_t(a - b, split_ratio(train_size), alpha)


def split_interval(values, train_size=None, alpha=0.05):
    """Mean of one mapping's per-split figure with its corrected resampled t interval.

    The per-split values (e.g. the NRP-error of each split, or PLS r) come from overlapping random
    splits, so the naive SEM ``s / sqrt(k)`` is too small. The interval uses Nadeau & Bengio's (2003)
    variance ``(1/k + n_test/n_train) s^2`` with ``k - 1`` degrees of freedom, as for differences
    (:func:`resampled_t`).

    Parameters
    ----------
    values : array-like, shape (k,)
        One figure per split.
    train_size : float, optional
        Training fraction of each split (Brain-Score's 0.9 when None).
    alpha : float
        1 - the confidence level.

    Returns
    -------
    dict or None
        ``mean``, ``se``, ``half_width`` (``t_{k-1, 1-alpha/2} * se``), ``ci_low``, ``ci_high``, ``df``,
        ``n_splits``; the interval entries are None with fewer than 2 splits or a non-finite value.
        None when there are no values.
    """
    values = np.asarray(values if values is not None else [], dtype=float).ravel()
    if values.size == 0:
        return None
    test = resampled_t(values, split_ratio(train_size), alpha)
    half = None if test['ci_high'] is None else test['ci_high'] - test['mean']
    return {'mean': test['mean'], 'se': test['se'], 'half_width': half, 'ci_low': test['ci_low'],
            'ci_high': test['ci_high'], 'df': test['df'], 'n_splits': test['n_splits']}


def split_half_width(values, train_size=None, alpha=0.05):
    """The corrected half-width (95% by default) of :func:`split_interval`; None when it cannot be computed."""
    interval = split_interval(values, train_size, alpha)
    return None if interval is None else interval['half_width']


def holm(p_values):
    """Holm's (1979) step-down adjusted p-values, in the order given.

    Parameters
    ----------
    p_values : sequence of float or None
        One family of tests; None (or NaN) is a test without a p-value and is left out of the count.

    Returns
    -------
    list of float or None
        With ``m`` the number of p-values, the i-th smallest (i = 1..m) times ``m - i + 1``, made non-decreasing
        in that order by a running maximum and capped at 1; None where the input is None or NaN.
    """
    present = sorted((float(p), index) for index, p in enumerate(p_values)
                     if p is not None and np.isfinite(p))
    m = len(present)
    adjusted = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def holm_within(entries, group, p_key='p', out_key='p_holm'):
    """Set ``entry[out_key]`` to the Holm-adjusted ``entry[p_key]`` (:func:`holm`) within each ``group(entry)``.

    Parameters
    ----------
    entries : list of dict
        Changed in place.
    group : callable
        The family of tests an entry belongs to (a hashable value).
    p_key, out_key : str
        The key of the unadjusted p-value (None: no test) and the key to write.
    """
    for key in ordered_unique(group(entry) for entry in entries):
        members = [entry for entry in entries if group(entry) == key]
        for entry, adjusted in zip(members, holm([entry.get(p_key) for entry in members])):
            entry[out_key] = adjusted
