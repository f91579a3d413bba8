"""The noise floor of the MAE: how close to the recorded responses any predictor can get.

One half of the repetitions predicting the other half gives ``|h1 - h2|``. With trial noise of
standard deviation ``sigma`` per repetition and ``R`` repetitions, each half mean carries noise of
standard deviation ``sigma * sqrt(2 / R)``, their difference ``2 * sigma / sqrt(R)``, while the full
mean that the metric predicts carries ``sigma / sqrt(R)``: half the difference's. For noise that is
symmetric about zero and of one shape (e.g. Gaussian), the mean absolute value scales with the
standard deviation, so the MAE of a perfect predictor of the full mean is ``mean |h1 - h2| / 2``.
The floor is that quantity averaged over stimuli and neuroids, then over random halvings.
"""
import numpy as np
from brainscore_core.metrics import Score


def noise_floor(assembly, n_halvings=10, random_state=0):
    """MAE a perfect predictor of the repetition-averaged responses would make.

    Parameters
    ----------
    assembly : NeuroidAssembly, dims (presentation, neuroid[, time_bin of size 1])
        Not averaged over repetitions: presentation coords ``stimulus_id`` and ``repetition``.
    n_halvings : int
    random_state : int

    Returns
    -------
    Score
        The floor; attrs ``error`` (SEM over halvings), ``raw`` (per halving), ``per_neuroid``.
    """
    try:
        repetitions = np.asarray(assembly['repetition'].values)
        stimuli = np.asarray(assembly['stimulus_id'].values)
    except KeyError as missing:
        raise ValueError(f"The noise floor needs the non-averaged assembly with presentation coordinates "
                         f"'stimulus_id' and 'repetition'; {missing} is missing.") from None
    if 'time_bin' in assembly.dims:
        assembly = assembly.squeeze('time_bin')
    values = np.asarray(assembly.transpose('presentation', 'neuroid').values, dtype=float)
    stimulus_ids, stimulus_index = np.unique(stimuli, return_inverse=True)
    unique_reps = np.unique(repetitions)
    if len(unique_reps) < 2:
        raise ValueError("The noise floor needs at least 2 repetitions per stimulus; the assembly has "
                         f"{len(unique_reps)} 'repetition' value(s).")
    rng = np.random.default_rng(random_state)
    floors, per_neuroid = [], []
    for _ in range(n_halvings):
        half_a = set(rng.permutation(unique_reps)[:len(unique_reps) // 2].tolist())
        in_a = np.array([rep in half_a for rep in repetitions])
        means = []
        for mask in (in_a, ~in_a):
            sums = np.zeros((len(stimulus_ids), values.shape[1]))
            counts = np.zeros(len(stimulus_ids))
            np.add.at(sums, stimulus_index[mask], values[mask])
            np.add.at(counts, stimulus_index[mask], 1)
            means.append(sums / np.where(counts > 0, counts, np.nan)[:, None])
        difference = np.abs(means[0] - means[1]) / 2
        neuroid_floor = np.nanmean(difference, axis=0)
        per_neuroid.append(neuroid_floor)
        floors.append(float(np.mean(neuroid_floor)))
    floors = np.array(floors)
    score = Score(float(floors.mean()))
    score.attrs['error'] = float(floors.std() / np.sqrt(len(floors)))
    score.attrs[Score.RAW_VALUES_KEY] = floors
    score.attrs['per_neuroid'] = np.mean(per_neuroid, axis=0)
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
