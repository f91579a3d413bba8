"""How often does each interval cover the value it is about? Coverage measured on worlds with a known answer.

Each replicate draws a fresh world from one population (:class:`CalibrationConfig`): fresh images from a pool
rendered by the embedded world's generator (its objects, fresh poses and backgrounds), and fresh recording sites
from the embedded world's site model (subunits of the teacher's features through its known nonlinearity, trial
noise set so that the split-half ceiling is MajajHong2015's). A fixed set of cheap models (:data:`MODELS`: the
teacher's features under graded noise, its other stage, random projections, a nonlinear transform) is scored on it
with ridge, least squares on the NRP inputs and PLS, one model also with the NRP, on Brain-Score's splits, exactly as
the metrics score a model (:class:`nrp_plugin.brainscore.nrp_metric.CrossValidatedMetric`). Every interval kind of
:mod:`nrp_plugin.inference.intervals` is built for every quantity (:func:`quantities`).

The population value of a score is the mean of that score over the other replicates (leave-one-out, so no
replicate's value is compared with itself); that of a difference or a rank correlation is the quantity evaluated on
the population scores. An interval covers when the population value lies in it. With R replicates the population
value rests on R - 1 worlds, each of which one run alone would see.
"""
import hashlib
import json
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..brainscore.assemblies import neuroid_assembly
from ..brainscore.nrp_metric import CrossValidatedMetric, NRPErrorMetric
from ..inference import METHODS, Item, Panel, Quantity, draws_of, interval
from ..synthetic import images, teacher
from ..synthetic.config import TARGET_CEILINGS, noise_for_ceiling

__all__ = ['CalibrationConfig', 'MODELS', 'coverage_markdown', 'coverage_table', 'pool', 'quantities', 'replicate']


@dataclass(frozen=True)
class CalibrationConfig:
    """The population the replicates are drawn from, and how each is scored.

    Attributes
    ----------
    seed : int
        Seeds the image pool, the models' noise and projections, and (with the replicate) every world.
    region : {'V4', 'IT'}
        The sites' region (its teacher stage drives them).
    n_objects : int
        Objects shown (the first of the embedded world's 64); Brain-Score's splits stratify on them.
    pool_per_object : int
        Images rendered per object (the population of images).
    images_per_object : int
        Images per object in one world.
    n_sites : int
        Recording sites drawn per world.
    n_repetitions : int
        Trials averaged per image (the ceiling fixes the noise per trial).
    nonlinearity : float
        The site model's nonlinearity (0: linear in the teacher's features).
    draws : int
        Resamples per interval.
    nrp_config : dict
        The NRP's configuration (its defaults when empty).
    """
    seed: int = 0
    region: str = 'IT'
    n_objects: int = 32
    pool_per_object: int = 150
    images_per_object: int = 10
    n_sites: int = 64
    n_repetitions: int = 30
    nonlinearity: float = 1.0
    draws: int = 1000
    nrp_config: tuple = ()

    def hash(self):
        """The pool's identity: what fixes its images and the models' features."""
        payload = {key: value for key, value in asdict(self).items()
                   if key in ('seed', 'n_objects', 'pool_per_object')}
        payload.update(models=sorted(MODELS), version=POOL_VERSION)
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


#: Changes whenever the pool's images or the models' features are made differently
POOL_VERSION = 3
#: The models every replicate scores: name -> how its features are made from the pool's teacher stages (the
#: scored region's stage ``own``, the other stage ``other``) with a seeded generator ``rng``. Each reads a random
#: subset of the two stages' features under noise, some with columns of pure noise beside them, so that the models
#: are close and a mapping that chooses a penalty (ridge) orders them otherwise than one that keeps 25 components
#: (PLS).
MODELS = {
    'subset30': lambda own, other, rng: _noisy(_subset(own, other, 30, rng), 0.5, rng),
    'subset60': lambda own, other, rng: _noisy(_subset(own, other, 60, rng), 0.5, rng),
    'all96': lambda own, other, rng: _noisy(_subset(own, other, 96, rng), 0.5, rng),
    'all96+nuisance100': lambda own, other, rng: _with_nuisance(_noisy(_subset(own, other, 96, rng), 0.5, rng), 100,
                                                                rng),
    'subset60+nuisance200': lambda own, other, rng: _with_nuisance(_noisy(_subset(own, other, 60, rng), 0.5, rng),
                                                                   200, rng),
    'subset40+nuisance50': lambda own, other, rng: _with_nuisance(_noisy(_subset(own, other, 40, rng), 0.3, rng), 50,
                                                                  rng),
}
#: The model the NRP is fitted to in every replicate
NRP_MODEL = 'subset60'


def _with_nuisance(values, size, rng):
    """Features with ``size`` more columns of pure noise (as variable as the features), which no site reads."""
    return np.concatenate([values, values.std() * rng.standard_normal((len(values), size))], axis=1)


def _subset(own, other, size, rng):
    """``size`` features drawn at random from both stages (standardised)."""
    both = np.concatenate([_standard(own), _standard(other)], axis=1)
    return both[:, np.sort(rng.choice(both.shape[1], size, replace=False))]


def _standard(values):
    return (values - values.mean(axis=0)) / np.maximum(values.std(axis=0), 1e-12)


def _noisy(values, level, rng):
    """Features with Gaussian noise of ``level`` times each feature's standard deviation over the pool."""
    values = _standard(values)
    return values + level * rng.standard_normal(values.shape)


def pool(config, cache=None):
    """The pool of images and every model's features on it.

    Returns
    -------
    dict
        ``object`` (n_pool,) object index, ``v4``, ``it`` the teacher's stages (n_pool, 64) and (n_pool, 32), and per
        model of :data:`MODELS` its features.
    """
    from ..storage.cache import cache_dir
    path = (cache or cache_dir('calibration')) / f'pool-{config.hash()}.npz'
    if path.is_file():
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    specs = images.make_objects(config.seed)[:config.n_objects]
    rendered, objects = [], []
    for index in range(config.n_objects * config.pool_per_object):
        obj = index % config.n_objects
        image, _ = images.render_stimulus(specs[obj], 6, config.seed, index, teacher.TEACHER_IMAGE_SIZE)
        rendered.append(image)
        objects.append(obj)
    stages = teacher.teacher_features(rendered, seed=0, layers=('v4', 'it'))
    out = {'object': np.asarray(objects), 'v4': stages['v4'].astype(np.float64), 'it': stages['it'].astype(np.float64)}
    for index, (name, make) in enumerate(MODELS.items()):
        for region in ('V4', 'IT'):
            own, other = (out['v4'], out['it']) if region == 'V4' else (out['it'], out['v4'])
            out[f'{name}@{region}'] = make(own, other, np.random.default_rng([config.seed, 100 + index]))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    with open(tmp, 'wb') as handle:
        np.savez(handle, **out)
    tmp.replace(path)
    return out


def world(config, population, replicate):
    """One replicate's world: its images (pool rows) and its sites' repetition-averaged responses.

    Returns
    -------
    rows : ndarray of int, shape (n_images,)
        Pool rows, object ``i % n_objects`` at row ``i``.
    responses : ndarray, shape (n_images, n_sites)
    """
    rng = np.random.default_rng([config.seed, 1, replicate])
    chosen = [rng.choice(np.flatnonzero(population['object'] == obj), config.images_per_object, replace=False)
              for obj in range(config.n_objects)]
    rows = np.stack(chosen, axis=1).ravel()  # row i shows object i % n_objects
    stage = population['v4' if config.region == 'V4' else 'it']
    readout = teacher.draw_readout(config.region, config.n_sites, rng, 0.3)
    expected = teacher.site_responses(stage, readout, config.nonlinearity)  # over the pool: the population's scale
    noise = noise_for_ceiling(TARGET_CEILINGS[config.region], config.n_repetitions)
    sd = noise * readout.noise_factor * expected.std(axis=0) / np.sqrt(config.n_repetitions)
    responses = expected[rows] + rng.standard_normal((len(rows), config.n_sites)) * sd
    return rows, responses


def quantities(models=tuple(MODELS)):
    """Every quantity a replicate's intervals are built for, as ``(group, Quantity)`` (the group names the
    quantity's kind in the coverage table)."""
    out = []
    for model in models:
        ridge, lsq, pls_r = (Item(model, 'ridge', 'mae'), Item(model, 'least_squares', 'mae'), Item(model, 'pls', 'r'))
        out += [('score: ridge MAE', Quantity('score', (ridge,), name=f'{model}: ridge MAE')),
                ('score: PLS r', Quantity('score', (pls_r,), name=f'{model}: PLS r')),
                ('difference: ridge − LSQ MAE', Quantity('difference', (ridge, lsq),
                                                         name=f'{model}: ridge − LSQ MAE'))]
    for first, second in zip(models[:-1], models[1:]):  # neighbouring models
        out += [('difference: two models, ridge MAE', Quantity('difference', (Item(first, 'ridge', 'mae'),
                                                                                Item(second, 'ridge', 'mae')),
                                                               name=f'{first} − {second}: ridge MAE')),
                ('difference: two models, PLS r', Quantity('difference', (Item(first, 'pls', 'r'),
                                                                           Item(second, 'pls', 'r')),
                                                           name=f'{first} − {second}: PLS r'))]
    ridge = tuple(Item(model, 'ridge', 'mae') for model in models)
    lsq = tuple(Item(model, 'least_squares', 'mae') for model in models)
    pls_r = tuple(Item(model, 'pls', 'r') for model in models)
    for kind in ('spearman', 'kendall'):
        out += [(f'rank ({kind}): ridge MAE vs PLS r', Quantity('rank', (ridge, pls_r), kind,
                                                                 f'{kind}: ridge MAE vs PLS r')),
                (f'rank ({kind}): LSQ MAE vs PLS r', Quantity('rank', (lsq, pls_r), kind, f'{kind}: LSQ MAE vs PLS r')),
                (f'rank difference ({kind})', Quantity('rank_difference', ((ridge, pls_r), (lsq, pls_r)), kind,
                                                       f'{kind}: (ridge, PLS) − (LSQ, PLS)'))]
    nrp, nrp_ridge = Item(f'{NRP_MODEL} (NRP fit)', 'nrp', 'mae'), Item(f'{NRP_MODEL} (NRP fit)', 'ridge', 'mae')
    out += [('score: NRP MAE', Quantity('score', (nrp,), name=f'{NRP_MODEL}: NRP MAE')),
            ('difference: NRP − ridge MAE', Quantity('difference', (nrp, nrp_ridge), name=f'{NRP_MODEL}: NRP − ridge'))]
    return out


def replicate(config, index, population=None):
    """Score one replicate's world and build every interval.

    Returns
    -------
    dict
        ``replicate``, ``scores`` (``{item name: score}``), ``intervals`` (``{quantity name: {method: [estimate,
        low, high]}}``), ``seconds``.
    """
    started = time.perf_counter()
    population = population if population is not None else pool(config)
    rows, responses = world(config, population, index)
    ids = [f'pool{row:05d}' for row in rows]
    target = neuroid_assembly(responses, 'site', n_objects=config.n_objects, stimulus_ids=ids)
    heldouts = {}
    spec = dict(stratification_coord='object_name')
    for model in MODELS:
        features = population[f'{model}@{config.region}'][rows]
        source = neuroid_assembly(features, 'unit', n_objects=config.n_objects, stimulus_ids=ids)
        metric = CrossValidatedMetric('ridge', references=['least_squares', 'pls'], crossvalidation_kwargs=spec,
                                      device='cpu')
        held = metric(source, target).attrs['heldout']
        heldouts.update({Item(model, mapping, measure): held for mapping, measure in
                         (('ridge', 'mae'), ('least_squares', 'mae'), ('pls', 'r'))})
    features = population[f'{NRP_MODEL}@{config.region}'][rows]
    source = neuroid_assembly(features, 'unit', n_objects=config.n_objects, stimulus_ids=ids)
    nrp = NRPErrorMetric(config=dict(config.nrp_config), references=['ridge'], crossvalidation_kwargs=spec,
                         device='cpu')
    held = nrp(source, target).attrs['heldout']
    heldouts.update({Item(f'{NRP_MODEL} (NRP fit)', name, 'mae'): held for name in ('nrp', 'ridge')})
    panel = Panel(heldouts)
    draws = draws_of(panel, config.draws, random_state=index)
    intervals = {}
    for _, quantity in quantities():
        intervals[quantity.name] = {}
        for method in METHODS:
            found = interval(quantity, draws, method)
            intervals[quantity.name][method] = [found['estimate'], found['low'], found['high']]
    return {'replicate': int(index), 'scores': {_key(item): float(value) for item, value in draws.point.items()},
            'intervals': intervals, 'seconds': time.perf_counter() - started}


def _key(item):
    return f'{item.model}|{item.mapping}|{item.measure}'


def coverage_table(results, nominal=0.95):
    """Each interval kind's coverage per quantity group, and per quantity.

    Parameters
    ----------
    results : list of dict
        :func:`replicate`'s, at least 3.

    Returns
    -------
    list of dict
        ``{"quantity", "method", "nominal", "coverage", "replicates", "intervals", "median_width", "kind"}``:
        ``kind`` is ``'group'`` for a group of quantities (their intervals pooled: ``intervals`` counts them,
        ``replicates`` the worlds) and ``'quantity'`` for one quantity; an interval kind that does not apply to a
        quantity (``split_t`` to a rank correlation) is left out.
    """
    scores = {key: np.asarray([result['scores'][key] for result in results]) for key in results[0]['scores']}
    totals = {key: values.sum() for key, values in scores.items()}
    n = len(results)
    hits = {}
    for group, quantity in quantities():
        for r, result in enumerate(results):
            population = {}
            for item in quantity.involved():
                key = _key(item)
                population[item] = (totals[key] - scores[key][r]) / (n - 1)
            truth = quantity.evaluate(population)
            for method, (estimate, low, high) in result['intervals'][quantity.name].items():
                if low is None or high is None or not np.isfinite(truth):
                    continue
                for name, kind in ((group, 'group'), (quantity.name, 'quantity')):
                    entry = hits.setdefault((name, method, kind), [])
                    entry.append((r, low <= truth <= high, high - low))
    table = []
    for (name, method, kind), values in hits.items():
        covered = np.asarray([hit for _, hit, _ in values])
        table.append({'quantity': name, 'method': method, 'nominal': nominal, 'coverage': float(covered.mean()),
                      'replicates': len({r for r, _, _ in values}), 'intervals': int(covered.size),
                      'median_width': float(np.median([w for _, _, w in values])), 'kind': kind})
    return table


def coverage_markdown(table, config, replicates, seconds, command=None):
    """``coverage.md``: every interval kind's coverage per group of quantities, then per quantity (``seconds``: the
    worlds' scoring time summed; ``command``: the command line that made it)."""
    from ..inference.intervals import __doc__ as methods_doc
    methods = sorted({entry['method'] for entry in table}, key=METHODS.index)
    lines = ['# Coverage of the intervals', '',
             f'{replicates} replicate worlds drawn from one population (calibration seed {config.seed}, region '
             f'{config.region}: {config.n_objects} objects x {config.images_per_object} images per world from a '
             f'pool of {config.n_objects * config.pool_per_object}, {config.n_sites} sites per world, noise set for '
             f'a split-half ceiling of {TARGET_CEILINGS[config.region]}); models: {", ".join(MODELS)}; the NRP fitted '
             f'to {NRP_MODEL}; {config.draws} draws per interval; {seconds / 60:.1f} min of scoring in all.', '',
             f'Made by `{command}`.' if command else '', '',
             'The population value of a score is its mean over the other replicates; that of a difference or a rank '
             'correlation is the quantity on the population scores. Coverage: the share of replicates whose 95% '
             'interval holds the population value (binomial standard error about '
             f'{100 * np.sqrt(0.95 * 0.05 / max(replicates, 1)):.1f} points at {replicates} replicates).', '',
             '## By kind of quantity', '',
             '| quantity | ' + ' | '.join(methods) + ' |', '|---|' + '---|' * len(methods)]
    for kind in ('group', 'quantity'):
        if kind == 'quantity':
            lines += ['', '## Per quantity', '', '| quantity | ' + ' | '.join(methods) + ' |',
                      '|---|' + '---|' * len(methods)]
        names = list(dict.fromkeys(entry['quantity'] for entry in table if entry['kind'] == kind))
        found = {(entry['quantity'], entry['method']): entry for entry in table if entry['kind'] == kind}
        for name in names:
            cells = []
            for method in methods:
                entry = found.get((name, method))
                cells.append('–' if entry is None else
                             f"{100 * entry['coverage']:.1f}% (width {entry['median_width']:.4f})")
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines += ['', '## The interval kinds', '', methods_doc.split('The interval kinds (:data:`METHODS`):')[1]
              .split('Which of them')[0].strip(), '']
    return '\n'.join(lines)
