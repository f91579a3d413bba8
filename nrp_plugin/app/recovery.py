"""``nrp-plugin recovery``: generate responses from each model and see which mapping puts it first
(:mod:`nrp_plugin.validity.recovery`).

:func:`check_request` checks the request before any work; :func:`run_recovery` records every candidate layer of
every model once on all of the embedded world's images (through the project's out-of-core activation recording,
:func:`nrp_plugin.app.activation_memo.memoize_model`), generates every (generator, seed, truth, region)'s
responses, chooses each candidate's layer on the public images, scores every candidate under every mapping on the
private images (on ``workers`` local Dask workers when given) and returns the tables; :func:`write_outputs` writes
``recovery.json``, ``recovery.md`` and the figures, each atomically and only once everything is computed.

Each candidate score is kept as it finishes in :class:`ScoreStore` (``$NRP_PLUGIN_HOME/recovery``), keyed on the
content of the candidate's chosen layer and of the responses, the mappings, the NRP's configuration and the code,
so a run that was stopped, or a larger one sharing models with an earlier run, scores only what is missing.
"""
import hashlib
import io
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from ..storage.cache import atomic_write_bytes, atomic_write_text
from ..brainscore.assemblies import target_assembly
from ..validity import recovery as rec

__all__ = ['RecoveryError', 'check_request', 'record_model', 'run_recovery', 'write_outputs']


class RecoveryError(ValueError):
    """A request recovery cannot run: one line naming the problem and the fix."""


def check_request(models, truth='both', noise_scale=1.0, seeds=1, workers=None):
    """The models the request stands for (patterns and files expanded) and the truths, or RecoveryError.

    Checks, in order: the truth, the noise scale, the seeds, the workers, at least three models, that every
    model spec builds and has a layer Brain-Score can record (:func:`nrp_plugin.app.model_specs.spec_problems`),
    and that every other model is a registered identifier (:func:`nrp_plugin.app.checks.check_identifiers`).

    Returns
    -------
    models : list of str
    truths : tuple of str
    """
    from .checks import CompareError
    from .model_specs import spec_problems
    from .zoo import expand_models
    truths = {'linear': ('linear',), 'nonlinear': ('nonlinear',), 'both': rec.TRUTHS}.get(truth)
    if truths is None:
        raise RecoveryError(f"--truth {truth!r} is unknown; use linear, nonlinear or both")
    if not isinstance(noise_scale, (int, float)) or not math.isfinite(noise_scale) or noise_scale < 0:
        raise RecoveryError(f'--noise-scale {noise_scale}: give a finite number >= 0 (1 = MajajHong2015\'s '
                            f'ceilings, 0 = noiseless)')
    if seeds < 1:
        raise RecoveryError(f'--seeds {seeds}: give at least 1')
    if workers is not None and workers < 1:
        raise RecoveryError(f'--workers {workers}: give at least 1')
    try:
        models = expand_models(models)
    except CompareError as error:
        raise RecoveryError(str(error)) from None
    if len(models) < 3:
        raise RecoveryError(f'{len(models)} model(s) given ({" ".join(models) or "none"}); recovery needs at least 3 '
                            f'(each one is a generator, the others its impostors)')
    problems = spec_problems(models)
    if problems:
        raise RecoveryError(' | '.join(problems.values()))
    from .checks import check_identifiers
    from .model_specs import is_spec
    registered = [model for model in models if not is_spec(model)]
    if registered:
        try:
            check_identifiers(models=registered, specs=False)
        except CompareError as error:
            raise RecoveryError(str(error)) from None
    return models, truths


def _candidate_layers(model, spec):
    layers = (getattr(model, 'metadata', None) or {}).get('layers') or getattr(model, 'layers', None)
    if not layers:
        raise RecoveryError(f"model '{spec}' has no candidate layers to generate from or read; give a spec "
                            f"(torchvision:<arch> or file.py:function) or a model with a layer list")
    return list(layers)


def _world(world_config):
    from ..brainscore.synthetic_world import load_world
    return load_world(world_config)


def record_model(spec, world_config, regions):
    """Every candidate layer of one model on all of the world's images, recorded in one pass.

    Returns
    -------
    dict
        ``layers`` (the candidate layers, in the model's order), ``generating`` ({region: the layer that drives it
        when the model is the generator}, :func:`nrp_plugin.validity.recovery.region_layers`), ``source``
        (NeuroidAssembly, every candidate layer on every image, as the metrics take it: features or the
        out-of-core Gram form).
    """
    from .activation_memo import memoize_model
    from .compare import load_model
    stimuli = _world(world_config).get_stimulus_set(None)
    model = load_model(spec)
    layers = [str(layer) for layer in _candidate_layers(model, spec)]
    memo = memoize_model(model, out_of_core=True, device='cpu')
    if memo is None:
        raise RecoveryError(f"model '{spec}' has no activations extractor to record")
    return {'layers': layers, 'generating': rec.region_layers(layers, regions),
            'source': memo(stimuli, layers=layers)}


def _block(source, ids):
    """A source's values with rows (and, for a Gram matrix, columns) in the order of ``ids``, and its basis."""
    basis = str(source['basis'].values[0]) if 'basis' in source.coords else 'unit'
    rows = {stimulus: index for index, stimulus in enumerate(np.asarray(source['stimulus_id'].values))}
    order = np.asarray([rows[stimulus] for stimulus in ids])
    values = np.asarray(source.values, dtype=np.float64)[order]
    if basis == 'gram':
        columns = {stimulus: index for index, stimulus in enumerate(np.asarray(source['kernel_stimulus_id'].values))}
        values = values[:, [columns[stimulus] for stimulus in ids]]
    return values, basis


class ScoreStore:
    """One small JSON per candidate score, named by the hash of everything the score depends on.

    A key holds the candidate's chosen layer with the sha256 of its values, and the sha256 of the responses (so two
    runs that share a model and a world share records, and anything that changes either recomputes) and the run's
    context, computed once: the configuration of the metric that scores
    (:func:`nrp_plugin.app.result_cache.metric_configuration`, as ``compare``'s result cache keys it: mappings, NRP
    configuration, splits, device), each mapping's measure, the world, the code fingerprint and the library versions.
    Records are written atomically; an unreadable record or one with another key is recomputed.

    Parameters
    ----------
    mappings_ : sequence of str
    nrp_config : dict or None
    world : dict
        The world's configuration (``WorldConfig.to_dict()``).
    directory : path-like, optional
        Default: ``$NRP_PLUGIN_HOME/recovery``.
    """

    def __init__(self, mappings_, nrp_config, world, directory=None):
        from ..storage.cache import cache_dir
        from .result_cache import code_fingerprint, jsonable, metric_configuration, versions
        self.directory = Path(directory) if directory is not None else cache_dir('recovery')
        self.directory.mkdir(parents=True, exist_ok=True)
        self.mappings = list(mappings_)
        self.context = jsonable({
            'metric': metric_configuration('nrp', rec.score_metric(self.mappings, nrp_config)),
            'measures': {name: rec.MEASURES.get(name, 'mae') for name in self.mappings}, 'world': world,
            'code': code_fingerprint(), 'versions': versions()})

    @staticmethod
    def digest(values):
        """The sha256 of an array's shape and float64 values."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        return hashlib.sha256(repr(values.shape).encode() + values.tobytes()).hexdigest()

    def key(self, candidate, source, target_values):
        """The key of one candidate score (plain JSON types); ``source`` describes what it reads (its layer and
        that layer's digest)."""
        from .result_cache import jsonable
        return jsonable({'candidate': candidate, 'source': source, 'target': self.digest(target_values),
                         **self.context})

    def _path(self, key):
        from .result_cache import payload_hash
        return self.directory / f'{payload_hash(key)}.json'

    def get(self, key):
        """The stored per-mapping scores for ``key``, or None."""
        try:
            record = json.loads(self._path(key).read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get('key') != key:
            return None
        scores = record.get('scores')
        if not isinstance(scores, dict) or set(scores) != set(self.mappings):
            return None
        return scores

    def put(self, key, scores):
        atomic_write_text(self._path(key), json.dumps({'key': key, 'scores': scores}, sort_keys=True))


def _record_task(spec, world_config, regions, environment):
    from .cluster import prepare_worker
    prepare_worker(environment)
    return record_model(spec, world_config, regions)


def _score_task(source, target, mappings_, nrp_config, environment):
    from .cluster import prepare_worker
    prepare_worker(environment)
    return rec.score_candidate(source, target, mappings_, nrp_config)


def run_recovery(models, truths=rec.TRUTHS, noise_scale=1.0, seeds=1, regions=('V4', 'IT'),
                 mappings_=rec.ALL_MAPPINGS, nrp_config=None, workers=None, world_config=None, log=print,
                 reuse=True):
    """Generate from every model, score every model on every generator's responses, and tabulate.

    Parameters
    ----------
    models : sequence of str
        Model specs or registered identifiers (at least 3, checked by :func:`check_request`).
    truths : sequence of {'linear', 'nonlinear'}
    noise_scale : float
    seeds : int
        Seeds 0 .. seeds - 1: each draws a fresh readout and trial noise for every generator.
    regions : sequence of {'V4', 'IT'}
    mappings_ : sequence of str
        Among :data:`nrp_plugin.validity.recovery.ALL_MAPPINGS`.
    nrp_config : dict, optional
    workers : int, optional
        Local Dask worker processes; in this process without.
    world_config : WorldConfig, optional
        The embedded world (its images, sites, repetitions and default nonlinearity); the default preset.
    log : callable
    reuse : bool
        Take candidate scores found in :class:`ScoreStore`; every score is stored there either way.

    Returns
    -------
    dict
        ``settings``, ``layers`` ({model: {region: its generating layer}}), ``results`` (one per trial and candidate:
        the trial, the candidate, its chosen ``layer`` and every candidate layer's score, its ``scores``; where the
        candidate is the generator, ``own_layer``: whether the chosen layer's values on the scored images are its
        generating layer's), ``tables`` (:func:`nrp_plugin.validity.recovery.recovery_tables`), ``seconds``.
    """
    from ..brainscore.layer_choice import LayerScorer
    from ..brainscore.source_layers import restrict
    from ..synthetic.config import WorldConfig
    world_config = world_config or WorldConfig.preset('default')
    started = time.perf_counter()
    world = _world(world_config)  # generated here once, before any worker reads it
    everything, private = world.get_stimulus_set(None), world.get_stimulus_set('private')
    all_ids = [str(value) for value in everything['stimulus_id'].values]
    public_ids = [str(value) for value in world.get_stimulus_set('public')['stimulus_id'].values]
    if not public_ids:
        raise RecoveryError('the world has no public images to choose each candidate\'s layers on; give its '
                            'images_per_object a public variation (0 or 3)')
    ids = [str(value) for value in private['stimulus_id'].values]
    objects = [str(value) for value in private['object_name'].values]
    rows = {stimulus: index for index, stimulus in enumerate(all_ids)}
    public_rows, private_rows = [rows[value] for value in public_ids], [rows[value] for value in ids]
    client = close = None
    from .cluster import ENVIRONMENT
    environment = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
    try:
        if workers:
            from .cluster import start_client
            client, close = start_client(workers=workers, threads=1)
            futures = [client.submit(_record_task, spec, world_config, tuple(regions), environment, pure=False)
                       for spec in models]
            recorded = dict(zip(models, client.gather(futures)))
        else:
            recorded = {spec: record_model(spec, world_config, tuple(regions)) for spec in models}
        log(f'recorded {len(models)} models ({time.perf_counter() - started:.0f} s)')
        scorers = {spec: LayerScorer(restrict(recorded[spec]['source'], public_ids), recorded[spec]['layers'])
                   for spec in models}
        store = ScoreStore(mappings_, nrp_config, world_config.to_dict())
        sources, digests = {}, {}

        def read(spec, layer):
            """The model's ``layer`` on the private images, and what the store's key says of it."""
            if (spec, layer) not in sources:
                sources[spec, layer] = restrict(recorded[spec]['source'], ids, [layer])
                digests[spec, layer] = [layer, store.digest(_block(sources[spec, layer], ids)[0])]

        jobs = []
        for g, generator in enumerate(models):
            for region in regions:
                layer = recorded[generator]['generating'][region]
                block = _block(restrict(recorded[generator]['source'], all_ids, [layer]), all_ids)
                for seed in range(seeds):
                    for truth in truths:
                        responses = rec.generate(block, region, truth, seed, noise_scale, world_config.nonlinearity,
                                                 world_config.n_sites(region), world_config.n_repetitions,
                                                 world_config.noise_spread, g)
                        target = target_assembly(responses[private_rows], ids, objects)
                        for candidate in models:
                            chosen, choice = scorers[candidate].choose(responses[public_rows])
                            read(candidate, chosen)
                            job = dict(generator=generator, seed=seed, truth=truth, region=region,
                                       candidate=candidate, layer=chosen, layer_scores=choice)
                            if candidate == generator:
                                # by the values read, not the name: two layers can hold the same values
                                read(generator, layer)
                                job['own_layer'] = digests[generator, chosen][1] == digests[generator, layer][1]
                            jobs.append((job, target))
        keys = [store.key(job['candidate'], digests[job['candidate'], job['layer']], np.asarray(target.values))
                for job, target in jobs]
        scores = [store.get(key) if reuse else None for key in keys]
        missing = [index for index, found in enumerate(scores) if found is None]
        log(f'{len(jobs) - len(missing)} of {len(jobs)} candidate scores from earlier runs; scoring {len(missing)}')

        def keep(index, found):
            scores[index] = found
            store.put(keys[index], found)

        if client is not None and missing:
            from distributed import as_completed
            scattered = {}

            def shipped(key):
                if key not in scattered:
                    scattered[key] = client.scatter(sources[key])
                return scattered[key]

            futures = {}
            for index in missing:
                job, target = jobs[index]
                futures[client.submit(_score_task, shipped((job['candidate'], job['layer'])), target,
                                      tuple(mappings_), nrp_config, environment, pure=False)] = index
            for done, future in enumerate(as_completed(futures), 1):
                keep(futures[future], future.result())
                if done % max(1, len(models)) == 0:
                    log(f'scored {done} of {len(missing)} ({time.perf_counter() - started:.0f} s)')
        else:
            for done, index in enumerate(missing, 1):
                job, target = jobs[index]
                keep(index, rec.score_candidate(sources[job['candidate'], job['layer']], target, mappings_,
                                                nrp_config))
                if done % max(1, len(models)) == 0:
                    log(f'scored {done} of {len(missing)} ({time.perf_counter() - started:.0f} s)')
    finally:
        if close is not None:
            close()
    results = [dict(job, scores=found) for (job, _), found in zip(jobs, scores)]
    tables = rec.recovery_tables(results, models)
    settings = dict(models=list(models), truths=list(truths), noise_scale=float(noise_scale), seeds=int(seeds),
                    regions=list(regions), mappings=list(mappings_), nrp_config=nrp_config, workers=workers,
                    world=world_config.to_dict(), n_images=len(ids), n_selection_images=len(public_ids),
                    region_depths=rec.REGION_DEPTHS)
    return {'settings': settings, 'layers': {spec: recorded[spec]['generating'] for spec in models},
            'results': results, 'tables': tables, 'seconds': time.perf_counter() - started}


def _number(value, digits=3):
    return '–' if value is None or (isinstance(value, float) and not math.isfinite(value)) else f'{value:.{digits}f}'


def layer_lines(outcome):
    """recovery.md's account of the layers: each generator's, and what each candidate read."""
    settings = outcome['settings']
    lines = ['Generating layers (fixed depth rule, no image used): ' + '; '.join(
        f"{spec}: " + ', '.join(f'{region} {layer}' for region, layer in layers.items())
        for spec, layers in outcome['layers'].items()), '',
        f"Layers read: in each trial every candidate's best layer on the {settings.get('n_selection_images', '?')} "
        f"public images and the generator's responses there (the criterion `compare` chooses by; no scored image "
        f"used), which every mapping reads alone (as `compare --factorial` fits every mapping on the committed "
        f"layer). Chosen (times chosen over the trials), and how often a model, as the generator, read its own "
        f"generating layer's values (a layer of another name counts when its values on the scored images are the "
        f"same):", '', '| candidate | region | layers chosen | own generating layer, as generator |',
        '|---|---|---|---|']
    for spec in settings['models']:
        for region in settings['regions']:
            mine = [result for result in outcome['results'] if result['candidate'] == spec
                    and result['region'] == region and 'layer' in result]
            if not mine:
                continue
            counts = {}
            for result in mine:
                counts[result['layer']] = counts.get(result['layer'], 0) + 1
            own = [result.get('own_layer', result['layer'] == outcome['layers'][spec][region]) for result in mine
                   if result['generator'] == spec]
            chosen = ', '.join(f'{layer} ({count})' for layer, count in sorted(counts.items(), key=lambda kv: -kv[1]))
            lines.append(f"| {spec} | {region} | {chosen} | {sum(own)} of {len(own)} |")
    return lines + ['']


def markdown(outcome, command=None):
    """``recovery.md``: the settings, a summary table and, per mapping, truth and region, the matrix and trials."""
    settings = outcome['settings']
    lines = ['# Model recovery', '',
             f"Models: {', '.join(settings['models'])}; truths: {', '.join(settings['truths'])}; noise scale "
             f"{settings['noise_scale']} (1 = MajajHong2015's split-half ceilings V4 0.89, IT 0.82); seeds "
             f"{settings['seeds']}; {settings['n_images']} images of the embedded world; "
             f"{outcome['seconds']:.0f} s.", '']
    if command:
        lines += [f'Made by `{command}`.', '']
    from ..inference.coverage import measured
    margin_coverage = '; '.join(
        f"{measure}: {100 * found['low']:.1f}% over {found['replicates']} worlds"
        for measure in ('MAE', 'r') for found in [measured(f'model difference ({measure})', 'split_t')]
        if found is not None) or 'not measured'
    lines += ['Recovery: the generator scores strictly best of all candidates (PLS: highest r; every other mapping: '
              'lowest MAE). Tie: the generator shares the best score with another candidate (not counted as a '
              'recovery or a failure). Rate: recovered / (recovered + failed). Its 95% interval is Wilson\'s with '
              'each generator one unit (its seeds share its features); its coverage was measured on simulated '
              'recovery outcomes with a known rate (rates 0.05-0.95, generators alike to each always or never '
              'recovered) and is given beside it as the lowest and the mean over those cases. Rank: the '
              'generator\'s (1 best; tied candidates share the mean of their places). Margin: the generator\'s '
              'advantage over the best impostor (positive: the generator is better), with the corrected resampled '
              't (Nadeau & Bengio) over the per-split advantages; the coverage of that interval for a difference '
              'between two models, measured by `nrp-plugin calibrate` on worlds with a known answer, is below the '
              f'95% it claims ({margin_coverage}), so read its interval and p as somewhat too narrow.', '',
             *layer_lines(outcome),
             '## Summary', '', 'Margins and the generator\'s own score are in the mapping\'s measure (MAE, or r for '
             'PLS), so they compare between mappings of one measure only.', '',
             '| mapping | truth | region | recovered | ties | failed | rate [95% interval] | '
             'interval\'s measured coverage (lowest, mean) | mean rank | generator\'s own score (mean) | margin '
             'over the best impostor (smallest, median) | the margin as a share of the generator\'s score '
             '(smallest, median) |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for table in outcome['tables']:
        coverage = table.get('rate_coverage')
        coverage = '–' if not coverage else f"{100 * coverage['min']:.1f}%, {100 * coverage['mean']:.1f}%"
        own = [value for value in np.diag(np.asarray(table['matrix'], dtype=float)) if math.isfinite(value)]
        margins = [trial['margin'] for trial in table['trials']
                   if trial.get('margin') is not None and math.isfinite(trial['margin'])]
        lines.append(f"| {table['mapping']} | {table['truth']} | {table['region']} | {table['recovered']} | "
                     f"{table['ties']} | {table['failed']} | {_number(table['rate'], 2)} "
                     f"[{_number(table['rate_low'], 2)}, {_number(table['rate_high'], 2)}] | {coverage} | "
                     f"{_number(table['mean_rank'], 2)} | {_number(float(np.mean(own)) if own else None, 3)} | "
                     f"{_number(min(margins) if margins else None, 3)}, "
                     f"{_number(float(np.median(margins)) if margins else None, 3)} | "
                     f"{_number(table.get('relative_margin_min'), 3)}, "
                     f"{_number(table.get('relative_margin_median'), 3)} |")
    models = settings['models']
    for table in outcome['tables']:
        measure = 'Pearson r, higher better' if table['measure'] == 'r' else 'MAE, lower better'
        lines += ['', f"## {table['mapping']}, {table['truth']} truth, {table['region']}", '',
                  f'Mean score over seeds ({measure}); rows: generator, columns: candidate.', '',
                  '| generator \\ candidate | ' + ' | '.join(models) + ' |', '|---|' + '---|' * len(models)]
        for model, row in zip(models, table['matrix']):
            lines.append(f'| {model} | ' + ' | '.join(_number(value, 4) for value in row) + ' |')
        lines += ['', '| generator | seed | outcome | rank | best impostor | margin [95% CI] | p |',
                  '|---|---|---|---|---|---|---|']
        for trial in table['trials']:
            lines.append(f"| {trial['generator']} | {trial['seed']} | {trial['outcome']} | {trial['rank']:g} | "
                         f"{trial['best_impostor']} | {_number(trial['margin'], 4)} [{_number(trial['ci_low'], 4)}, "
                         f"{_number(trial['ci_high'], 4)}] | {_number(trial['p'], 3)} |")
    return '\n'.join(lines) + '\n'


def _short(name, width=24):
    return name if len(name) <= width else '…' + name[-(width - 1):]


def figures(outcome):
    """``{file name: PNG bytes}``: one heatmap per mapping, truth and region, and the recovery-rate summary."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out = {}

    def save(fig, name):
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png', dpi=110, bbox_inches='tight')
        plt.close(fig)
        out[name] = buffer.getvalue()

    models = [_short(model) for model in outcome['settings']['models']]
    for table in outcome['tables']:
        matrix = np.asarray([[np.nan if value is None else value for value in row] for row in table['matrix']])
        size = max(3.5, 0.6 * len(models) + 2)
        fig, ax = plt.subplots(figsize=(size + 1, size))
        image = ax.imshow(matrix, cmap='viridis' if table['measure'] == 'r' else 'viridis_r')
        ax.set_xticks(range(len(models)), models, rotation=60, ha='right', fontsize=7)
        ax.set_yticks(range(len(models)), models, fontsize=7)
        ax.set_xlabel('candidate')
        ax.set_ylabel('generator')
        for i in range(len(models)):
            ax.add_patch(plt.Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor='red', linewidth=1.5))
        label = 'Pearson r (higher better)' if table['measure'] == 'r' else 'MAE (lower better)'
        fig.colorbar(image, ax=ax, label=label)
        ax.set_title(f"{table['mapping']}, {table['truth']} truth, {table['region']}\nrecovered {table['recovered']}, "
                     f"ties {table['ties']}, failed {table['failed']}", fontsize=9)
        save(fig, f"heatmap_{table['mapping']}_{table['truth']}_{table['region']}.png")
    groups = [(table['truth'], table['region']) for table in outcome['tables']]
    groups = list(dict.fromkeys(groups))
    mappings_ = list(dict.fromkeys(table['mapping'] for table in outcome['tables']))
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(mappings_) + 2), 3.8))
    width = 0.8 / max(1, len(groups))
    for index, (truth, region) in enumerate(groups):
        xs, ys, below, above = [], [], [], []
        for position, mapping in enumerate(mappings_):
            found = [table for table in outcome['tables'] if (table['mapping'], table['truth'], table['region'])
                     == (mapping, truth, region)]
            if not found or found[0]['rate'] is None:
                continue
            table = found[0]
            xs.append(position + (index - (len(groups) - 1) / 2) * width)
            ys.append(table['rate'])
            below.append(table['rate'] - table['rate_low'])
            above.append(table['rate_high'] - table['rate'])
        ax.bar(xs, ys, width, yerr=[below, above], capsize=2, label=f'{truth}, {region}')
    ax.set_xticks(range(len(mappings_)), mappings_)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel('top-1 recovery rate')
    ax.set_title('Recovery rate per mapping (error bars: 95% intervals, each generator one unit; '
                 'ties left out)', fontsize=9)
    ax.legend(fontsize=7)
    save(fig, 'recovery_rate.png')
    return out


def write_outputs(outcome, out, command=None):
    """Write ``recovery.json``, ``recovery.md`` and the figures into ``out`` (everything rendered first, then each
    file written atomically). Returns the paths written."""
    out = Path(out)
    payload = {key: outcome[key] for key in ('settings', 'layers', 'tables', 'results', 'seconds')}
    payload['command'] = command
    text = json.dumps(payload, indent=1, default=float)
    report = markdown(outcome, command)
    pictures = figures(outcome)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / 'recovery.json', out / 'recovery.md']
    atomic_write_text(written[0], text)
    atomic_write_text(written[1], report)
    for name, data in pictures.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    return written
