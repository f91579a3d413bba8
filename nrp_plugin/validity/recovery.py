"""Model recovery: does a mapping put first the model that made the data?

Responses are generated from one model, the generator G, by the embedded world's site model
(:mod:`nrp_plugin.synthetic.teacher`) on every image of the world, public and private: a layer of G at about half
of its candidate layers' depth drives V4, one at about three quarters drives IT (:func:`region_layers`). The
world's readout is drawn for the teacher's stage widths (64 V4 features, 32 IT features), so G's layer is first
reduced to its leading 64 (V4) or 32 (IT) principal components over the images (:func:`generator_features`; fewer
when the layer has fewer, the rest zero columns, which the readout's standardisation leaves at zero). The responses
are then ``site_responses(components, readout, nonlinearity)`` with nonlinearity 0 (the linear truth: every site
affine in G's layer) or the world's default (the nonlinear truth), plus Gaussian trial noise averaged over the
world's repetitions, at the level whose split-half ceiling is MajajHong2015's (V4 0.89, IT 0.82) times a noise
scale (:func:`generate`), exactly as :func:`nrp_plugin.validity.calibration.world` sets it.

Every candidate C (G among them) then reads the layer ``compare`` would commit for it on the synthetic benchmarks:
its best candidate layer on the public images and G's responses there
(:class:`nrp_plugin.brainscore.layer_choice.LayerScorer`, the criterion of
:func:`~nrp_plugin.brainscore.layer_choice.select_on`), never on a scored image. Every mapping reads that layer
alone, as ``compare --factorial`` fits every mapping on the committed layer, so that two mappings' verdicts differ
by the mapping only, not by what it reads. C is scored on the private images under every mapping in one
:class:`nrp_plugin.brainscore.nrp_metric.NRPErrorMetric` (or
:class:`~nrp_plugin.brainscore.nrp_metric.CrossValidatedMetric` when the NRP is left out), on the same Brain-Score
splits (stratified on the object) (:func:`score_candidate`). Each mapping's score is read from its held-out
predictions: PLS as Pearson r (higher is better, as Brain-Score), every other mapping as MAE (lower is better).

:func:`recovery_tables` turns the scores into, per mapping, truth and region: the generator x candidate matrix of
mean scores, the top-1 recovery rate with a Wilson interval over generators and seeds, the generator's mean rank,
and its margin over the best impostor with the corrected resampled t of Nadeau & Bengio over the per-split
differences. A trial whose best score is shared by the generator and another candidate (identical features give
identical scores) is a tie: neither a recovery nor a failure, counted apart.
"""
import functools
import math

import numpy as np

from ..synthetic import teacher
from ..synthetic.config import TARGET_CEILINGS, noise_for_ceiling

__all__ = ['ALL_MAPPINGS', 'MEASURES', 'REGION_DEPTHS', 'TRUTHS', 'generate', 'generator_features',
           'higher_is_better', 'recovery_tables', 'region_layers', 'score_candidate', 'score_metric', 'wilson']

#: Every mapping recovery scores with, in display order
ALL_MAPPINGS = ('pls', 'least_squares', 'ridge', 'banded_ridge', 'kernel_ridge', 'nrp')
#: The measure each mapping is scored by (PLS as Brain-Score scores it)
MEASURES = {name: ('r' if name == 'pls' else 'mae') for name in ALL_MAPPINGS}
#: Depth (as a fraction of the candidate layers, first 0, last 1) of the generator's layer that drives a region
REGION_DEPTHS = {'V4': 0.5, 'IT': 0.75}
#: The truths: the site model's nonlinearity (None: the embedded world's default)
TRUTHS = ('linear', 'nonlinear')
#: Relative tolerance under which two candidates' scores count as tied
TIE_TOLERANCE = 1e-9


def higher_is_better(mapping):
    """Whether a higher score is better for ``mapping`` (PLS's r) or a lower one (every MAE)."""
    return MEASURES.get(mapping, 'mae') == 'r'


def region_layers(layers, regions=('V4', 'IT')):
    """The generator's layer that drives each region: the fixed depth rule.

    Parameters
    ----------
    layers : sequence of str
        The model's candidate layers, input to output.
    regions : sequence of str

    Returns
    -------
    dict of str -> str
        ``layers[floor(depth * (len(layers) - 1) + 0.5)]`` with the region's :data:`REGION_DEPTHS`.
    """
    layers = list(layers)
    if not layers:
        raise ValueError('the model has no candidate layer')
    return {region: layers[int(math.floor(REGION_DEPTHS[region] * (len(layers) - 1) + 0.5))] for region in regions}


def _centred_gram(block):
    """The centred Gram matrix of a layer given as features (n, d) or as its uncentred Gram matrix (n, n)."""
    values, basis = block
    values = np.asarray(values, dtype=np.float64)
    if basis == 'gram':
        gram = values
    else:
        values = values - values.mean(axis=0)
        return values @ values.T
    centre = np.eye(len(gram)) - 1.0 / len(gram)
    return centre @ gram @ centre


def generator_features(block, size):
    """A generator layer's leading principal components over the images.

    Parameters
    ----------
    block : tuple (ndarray, str)
        The layer's values in image order and their basis: ``'unit'`` (features, shape (n_images, n_units)) or
        ``'gram'`` (the uncentred Gram matrix, shape (n_images, n_images)).
    size : int
        Components wanted.

    Returns
    -------
    ndarray, shape (n_images, size), float64
        Principal component scores (largest first, each column's sign fixed so its largest entry is positive);
        columns past the layer's rank are zero.
    """
    gram = _centred_gram(block)
    eigenvalues, vectors = np.linalg.eigh((gram + gram.T) / 2)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    keep = eigenvalues > max(eigenvalues[0], 0.0) * 1e-10
    kept = min(size, int(keep.sum()))
    scores = np.zeros((len(gram), size))
    scores[:, :kept] = vectors[:, :kept] * np.sqrt(eigenvalues[:kept])
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(size)])
    return scores * np.where(signs == 0, 1.0, signs)


def generate(block, region, truth, seed, noise_scale, default_nonlinearity, n_sites, n_repetitions,
             noise_spread=0.3, generator_index=0):
    """Repetition-averaged responses of ``n_sites`` sites of ``region`` driven by a generator's layer.

    Parameters
    ----------
    block : tuple (ndarray, str)
        The generator's layer for ``region`` (:func:`generator_features`).
    region : {'V4', 'IT'}
    truth : {'linear', 'nonlinear'}
        Nonlinearity 0, or ``default_nonlinearity``.
    seed : int
        With ``generator_index``, seeds the readout and the trial noise.
    noise_scale : float
        Multiplies the trial noise whose split-half ceiling is MajajHong2015's at ``n_repetitions`` (0: none).
    default_nonlinearity : float
    n_sites, n_repetitions : int
    noise_spread : float
        Standard deviation of the log of the per-site noise factor.
    generator_index : int

    Returns
    -------
    ndarray, shape (n_images, n_sites), float64
    """
    width = int(np.prod(teacher.feature_shape(teacher.REGION_LAYERS[region])))
    features = generator_features(block, width)
    rng = np.random.default_rng([int(seed), int(generator_index), TRUTHS.index(truth), ('V4', 'IT').index(region)])
    readout = teacher.draw_readout(region, n_sites, rng, noise_spread)
    nonlinearity = 0.0 if truth == 'linear' else float(default_nonlinearity)
    expected = teacher.site_responses(features, readout, nonlinearity)
    noise = noise_for_ceiling(TARGET_CEILINGS[region], n_repetitions) * float(noise_scale)
    sd = noise * readout.noise_factor * expected.std(axis=0) / np.sqrt(n_repetitions)
    return expected + rng.standard_normal(expected.shape) * sd


def score_metric(mappings_, nrp_config=None, random_state=0):
    """The metric :func:`score_candidate` scores with: the NRP with the other mappings as references, or the first
    reference with the others."""
    from ..brainscore.nrp_metric import CrossValidatedMetric, NRPErrorMetric
    spec = dict(stratification_coord='object_name')
    others = [name for name in mappings_ if name != 'nrp']
    if 'nrp' in mappings_:
        return NRPErrorMetric(config=dict(nrp_config or {}) or None, references=others or 'none',
                              crossvalidation_kwargs=spec, device='cpu', random_state=random_state)
    return CrossValidatedMetric(others[0], references=others[1:], crossvalidation_kwargs=spec, device='cpu')


def score_candidate(source, target, mappings_=ALL_MAPPINGS, nrp_config=None, random_state=0):
    """Every mapping's per-split score of one candidate on one set of responses, on the same splits.

    Parameters
    ----------
    source : NeuroidAssembly, dims (presentation, neuroid)
        The candidate's chosen layer on the scored images (as recorded: features or the out-of-core Gram form).
    target : NeuroidAssembly, shape (n_images, n_sites)
    mappings_ : sequence of str
        Among :data:`ALL_MAPPINGS`.
    nrp_config : dict, optional
    random_state : int
        The NRP's seed.

    Returns
    -------
    dict of str -> list of float
        Per mapping, its score on each split (length S): Pearson r for ``'pls'``, MAE otherwise.
    """
    from ..inference.scores import score
    held = score_metric(list(mappings_), nrp_config, random_state)(source, target).attrs['heldout']
    return {name: [float(value) for value in score(held.predictions[name], held.targets, MEASURES[name],
                                                   per_split=True)]
            for name in mappings_}


def wilson(successes, trials, z=1.959963984540054):
    """Wilson score interval of a binomial proportion (95% by default); (None, None) without trials."""
    if trials == 0:
        return None, None
    low, high = _wilson_bounds(np.float64(successes / trials), trials, z)
    return float(low), float(high)


def _wilson_bounds(p, n, z=1.959963984540054):
    """Wilson's bounds, clipped to [0, 1], for observed proportions ``p`` (any array shape) out of ``n`` trials."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def rate_interval(fractions):
    """95% interval of a recovery rate with each generator one unit.

    A generator's trials over seeds share its features, so they are not independent draws; the interval is Wilson's
    with as many trials as generators and as many successes as the sum of their recovered fractions.

    Parameters
    ----------
    fractions : sequence of float
        Per generator, the share of its decided trials (ties left out) in which it was recovered.
    """
    fractions = [float(value) for value in fractions]
    return wilson(sum(fractions), len(fractions))


@functools.lru_cache(maxsize=None)
def rate_interval_coverage(n_generators, n_seeds, draws=4000, seed=0):
    """How often :func:`rate_interval` covers the true rate on simulated recovery outcomes with a known answer.

    Each generator has its own recovery probability, drawn from a beta distribution with the true rate as its mean
    and intra-class correlation ``icc`` (0: every generator the same; 1: each one always or never recovered); each
    of its ``n_seeds`` trials succeeds with that probability. Rates 0.05, 0.10, ..., 0.95 and icc 0, 0.25, 0.5,
    0.75, 1; ``draws`` sets per cell.

    Returns
    -------
    dict
        ``min`` and ``mean`` coverage over the cells, ``worst`` (the cell's ``rate`` and ``icc``), ``draws``.
    """
    rng = np.random.default_rng([seed, n_generators, n_seeds])
    found = []
    for rate in np.round(np.arange(0.05, 0.951, 0.05), 2):
        for icc in (0.0, 0.25, 0.5, 0.75, 1.0):
            if icc == 0:
                probabilities = np.full((draws, n_generators), rate)
            elif icc == 1:
                probabilities = (rng.random((draws, n_generators)) < rate).astype(float)
            else:
                spread = (1 - icc) / icc
                probabilities = rng.beta(rate * spread, (1 - rate) * spread, size=(draws, n_generators))
            rates = (rng.binomial(n_seeds, probabilities) / n_seeds).mean(axis=1)
            low, high = _wilson_bounds(rates, n_generators)
            covered = (low <= rate + 1e-12) & (rate - 1e-12 <= high)
            found.append((float(covered.mean()), float(rate), icc))
    worst = min(found)
    return {'min': worst[0], 'mean': float(np.mean([cell[0] for cell in found])),
            'worst': {'rate': worst[1], 'icc': worst[2]}, 'draws': draws}


def _tied(a, b):
    return abs(a - b) <= TIE_TOLERANCE * max(1.0, abs(a), abs(b))


def trial_outcome(scores, generator, mapping, test_train_ratio=1 / 9):
    """One trial's verdict: the generator's rank, whether it was recovered, tied or not, and its margin.

    Parameters
    ----------
    scores : dict of str -> list of float
        Per candidate, its per-split scores (length S) under ``mapping``.
    generator : str
    mapping : str
    test_train_ratio : float
        n_test / n_train of the splits (for the corrected resampled t).

    Returns
    -------
    dict
        ``outcome`` ('recovered', 'tie' or 'failed'), ``rank`` (the generator's rank, 1 best, tied candidates
        sharing the mean of their places), ``best_impostor``, ``margin`` (the generator's advantage over the best
        impostor: positive when the generator is better, in the mapping's units), ``relative_margin`` (the margin
        over the generator's own mean score; None when that score is 0), and the resampled t's ``se``,
        ``ci_low``, ``ci_high``, ``p`` over the per-split advantages.
    """
    from ..inference.splits import resampled_t
    sign = 1.0 if higher_is_better(mapping) else -1.0
    means = {name: float(np.nanmean(values)) for name, values in scores.items()}
    mine = means[generator]
    better = sum(1 for name, value in means.items() if name != generator and sign * (value - mine) > 0
                 and not _tied(value, mine))
    equal = sum(1 for name, value in means.items() if name != generator and _tied(value, mine))
    impostors = {name: value for name, value in means.items() if name != generator}
    best = max(impostors, key=lambda name: sign * impostors[name])
    if better:
        outcome = 'failed'
    elif equal:
        outcome = 'tie'
    else:
        outcome = 'recovered'
    advantage = sign * (np.asarray(scores[generator], dtype=float) - np.asarray(scores[best], dtype=float))
    test = resampled_t(advantage, test_train_ratio)
    margin = sign * (mine - means[best])
    relative = margin / abs(mine) if abs(mine) > TIE_TOLERANCE else None
    return {'outcome': outcome, 'rank': 1 + better + equal / 2.0, 'best_impostor': best,
            'margin': margin, 'relative_margin': relative, 'se': test['se'], 'ci_low': test['ci_low'],
            'ci_high': test['ci_high'], 'p': test['p']}


def _relative_margins(trials):
    found = [trial['relative_margin'] for trial in trials if trial.get('relative_margin') is not None]
    return {'relative_margin_min': float(min(found)) if found else None,
            'relative_margin_median': float(np.median(found)) if found else None}


def recovery_tables(results, models, test_train_ratio=1 / 9):
    """Summaries per mapping, truth and region.

    Parameters
    ----------
    results : list of dict
        One per (generator, seed, truth, region, candidate): ``generator``, ``seed``, ``truth``, ``region``,
        ``candidate``, ``scores`` (:func:`score_candidate`'s).
    models : sequence of str
        The models (generators and candidates), in display order.

    Returns
    -------
    list of dict
        Per (mapping, truth, region): ``mapping``, ``measure``, ``truth``, ``region``, ``matrix`` (generator x
        candidate mean score over seeds, lists in ``models`` order), ``trials`` (each trial's
        :func:`trial_outcome` with its ``generator`` and ``seed``), ``recovered``, ``ties``, ``failed``,
        ``rate`` (recovered / (recovered + failed), ties left out), ``rate_low``, ``rate_high``
        (:func:`rate_interval`: each generator one unit), ``rate_units`` (the generators counted),
        ``rate_coverage`` (:func:`rate_interval_coverage` for that many generators and seeds),
        ``mean_rank`` (the generator's, over every trial), ``relative_margin_min`` and ``relative_margin_median``
        (over the trials whose generator's score is not 0).
    """
    models = list(models)
    grouped = {}
    for result in results:
        for mapping, values in result['scores'].items():
            key = (mapping, result['truth'], result['region'])
            grouped.setdefault(key, {}).setdefault((result['generator'], result['seed']), {})[result['candidate']] \
                = values
    order = {name: index for index, name in enumerate(ALL_MAPPINGS)}
    tables = []
    for (mapping, truth, region) in sorted(grouped, key=lambda key: (order.get(key[0], 99), key[1], key[2])):
        trials_in = grouped[mapping, truth, region]
        trials, matrix = [], np.full((len(models), len(models)), np.nan)
        sums = {}
        for (generator, seed), scores in sorted(trials_in.items(), key=lambda item: (models.index(item[0][0]),
                                                                                    item[0][1])):
            trial = trial_outcome(scores, generator, mapping, test_train_ratio)
            trials.append({'generator': generator, 'seed': seed, **trial})
            for candidate, values in scores.items():
                sums.setdefault((generator, candidate), []).append(float(np.nanmean(values)))
        for (generator, candidate), values in sums.items():
            matrix[models.index(generator), models.index(candidate)] = float(np.mean(values))
        counts = {kind: sum(1 for trial in trials if trial['outcome'] == kind) for kind in ('recovered', 'tie',
                                                                                           'failed')}
        decided = counts['recovered'] + counts['failed']
        per_generator = {}
        for trial in trials:
            if trial['outcome'] != 'tie':
                per_generator.setdefault(trial['generator'], []).append(trial['outcome'] == 'recovered')
        low, high = rate_interval([np.mean(values) for values in per_generator.values()])
        seeds_each = max((len(values) for values in per_generator.values()), default=0)
        coverage = rate_interval_coverage(len(per_generator), seeds_each) if per_generator else None
        tables.append({'mapping': mapping, 'measure': MEASURES.get(mapping, 'mae'), 'truth': truth,
                       'region': region, 'models': models,
                       'matrix': [[None if np.isnan(v) else float(v) for v in row] for row in matrix],
                       'trials': trials, 'recovered': counts['recovered'], 'ties': counts['tie'],
                       'failed': counts['failed'], 'rate': counts['recovered'] / decided if decided else None,
                       'rate_low': low, 'rate_high': high, 'rate_units': len(per_generator),
                       'rate_coverage': coverage,
                       'mean_rank': float(np.mean([trial['rank'] for trial in trials])),
                       **_relative_margins(trials)})
    return tables
