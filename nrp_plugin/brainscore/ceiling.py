"""The noise floor of the MAE: how close to the recorded responses any predictor can get.

Each stimulus's trials are split at random into two halves of ``n1 = floor(N / 2)`` and
``n2 = N - n1`` trials, and one half's mean predicts the other's. With trial noise of standard
deviation ``sigma``, the difference of the half means has standard deviation
``sigma * sqrt(1 / n1 + 1 / n2)``, while the full mean that the metric predicts carries noise of
``sigma / sqrt(N)``: the difference's times ``sqrt(n1 * n2) / (n1 + n2)`` (1/2 when the halves are
equal). For noise that is symmetric about zero and of one shape (e.g. Gaussian) the mean absolute
value scales with the standard deviation, so the MAE a perfect predictor of the full mean makes on a
stimulus is ``|h1 - h2| * sqrt(n1 * n2) / (n1 + n2)``, with that stimulus's own counts: images
recorded with different numbers of repetitions (as in MajajHong2015) each get their own factor.
The floor is that quantity averaged over stimuli and neuroids, then over random halvings. A stimulus
with a single trial cannot be halved; it is left out and counted in the score's ``excluded_stimuli``.
"""
import logging

import numpy as np
from brainscore_core.metrics import Score

_logger = logging.getLogger(__name__)


def _trial_table(assembly):
    """Trial values (trials x neuroids, float64) and each trial's stimulus index."""
    try:
        stimuli = np.asarray(assembly['stimulus_id'].values)
    except KeyError:
        raise ValueError("The noise floor needs the non-averaged assembly with the presentation coordinate "
                         "'stimulus_id' (one presentation per trial, as Brain-Score's unaveraged assemblies "
                         "have); it is missing.") from None
    if 'time_bin' in assembly.dims:
        if assembly.sizes['time_bin'] != 1:
            raise ValueError(f"The noise floor reads one time bin; the assembly has {assembly.sizes['time_bin']}. "
                             f"Select one with assembly.sel(time_bin=...) first.")
        assembly = assembly.squeeze('time_bin')
    values = np.asarray(assembly.transpose('presentation', 'neuroid').values, dtype=np.float64)
    stimulus_ids, stimulus_index = np.unique(stimuli, return_inverse=True)
    # a canonical trial order (stimulus, then repetition when recorded), so the halving does not depend
    # on the order of the presentations
    try:
        repetition = np.asarray(assembly['repetition'].values)
    except KeyError:
        repetition = np.zeros(len(stimuli), dtype=int)
    order = np.lexsort((repetition, stimulus_index))
    return values[order], stimulus_ids, stimulus_index[order]


def noise_floor(assembly, n_halvings=10, random_state=0):
    """MAE a perfect predictor of the repetition-averaged responses would make.

    Parameters
    ----------
    assembly : NeuroidAssembly, dims (presentation, neuroid[, time_bin of size 1])
        Not averaged over repetitions: one presentation per trial, with the coordinate ``stimulus_id``.
        Stimuli may have different numbers of trials.
    n_halvings : int
    random_state : int

    Returns
    -------
    Score
        The floor; attrs ``error`` (SEM over halvings), ``raw`` (per halving), ``per_neuroid``,
        ``excluded_stimuli`` (ids of stimuli with a single trial, left out).
    """
    values, stimulus_ids, stimulus_index = _trial_table(assembly)
    counts = np.bincount(stimulus_index, minlength=len(stimulus_ids))
    usable = counts >= 2
    excluded = stimulus_ids[~usable]
    if not usable.any():
        raise ValueError("The noise floor needs at least 2 trials of a stimulus; every stimulus in the assembly "
                         "has one presentation. Pass the assembly before averaging over repetitions.")
    if len(excluded):
        _logger.warning('noise floor: %d of %d stimuli have a single trial and are left out (e.g. %s)',
                        len(excluded), len(stimulus_ids), excluded[0])
    keep = usable[stimulus_index]
    values, stimulus_index = values[keep], np.searchsorted(np.flatnonzero(usable), stimulus_index[keep])
    counts = counts[usable]
    first = counts // 2
    factor = np.sqrt(first * (counts - first)) / counts  # sqrt(n1 * n2) / (n1 + n2), per stimulus
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bounds = np.stack([starts, starts + first], axis=1).ravel()  # each stimulus's half A, then half B
    rng = np.random.default_rng(random_state)
    floors, per_neuroid = [], []
    for _ in range(n_halvings):
        order = np.lexsort((rng.random(len(stimulus_index)), stimulus_index))  # trials shuffled within stimulus
        sums = np.add.reduceat(values[order], bounds, axis=0)
        mean_a, mean_b = sums[0::2] / first[:, None], sums[1::2] / (counts - first)[:, None]
        error = np.abs(mean_a - mean_b) * factor[:, None]
        neuroid_floor = np.nanmean(error, axis=0)
        per_neuroid.append(neuroid_floor)
        floors.append(float(np.nanmean(neuroid_floor)))
    floors = np.array(floors)
    score = Score(float(floors.mean()))
    score.attrs['error'] = float(floors.std() / np.sqrt(len(floors)))
    score.attrs[Score.RAW_VALUES_KEY] = floors
    score.attrs['per_neuroid'] = np.mean(per_neuroid, axis=0)
    score.attrs['excluded_stimuli'] = excluded
    return score


def ceiled_nrp_score(nrp_error, mean_predictor_mae, floor):
    """Higher-is-better NRP score: 0 at the training-mean predictor, 1 at the noise floor.

    ``score = (MAE_mean - NRP_error) / (MAE_mean - floor)``, clipped to [0, 1]; the unclipped
    value is returned too.
    """
    span = mean_predictor_mae - floor
    if span <= 0:
        raise ValueError(f"The noise floor ({floor:.4f}) is not below the mean predictor's MAE "
                         f"({mean_predictor_mae:.4f}): the responses are indistinguishable from noise.")
    unclipped = (mean_predictor_mae - nrp_error) / span
    return float(np.clip(unclipped, 0, 1)), float(unclipped)
