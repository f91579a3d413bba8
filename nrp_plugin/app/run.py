"""One comparison run from its settings: the checks before any scoring, the scoring (in this process or on Dask
workers), and what the report needs of it.

The command line builds one :class:`nrp_plugin.app.settings.RunSettings` (:func:`settings_from_arguments`); the
same object goes to :func:`check_request`, to :func:`run`, to every Dask task (:mod:`nrp_plugin.app.cluster`) and to
the report (:meth:`Outcome.run_info`).
"""
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import checks, cluster, compare, model_specs, zoo
from .result_cache import result_cache_dir
from .settings import RunSettings, load_nrp_config, load_search_grid, parse_references

__all__ = ['Outcome', 'check_request', 'run', 'settings_from_arguments']


def settings_from_arguments(args, command=None, warn=print):
    """The run's settings from ``nrp-plugin compare``'s parsed arguments (patterns and files of models expanded,
    every option read and checked); CompareError naming a bad option."""
    nrp_config, deprecated_references = load_nrp_config(args.nrp_config, warn=warn)
    references = args.references if args.references is not None else (deprecated_references or 'all')
    out = Path(args.out)
    return RunSettings(
        models=tuple(zoo.expand_models(args.models)), families=tuple(args.benchmarks),
        regions=tuple(dict.fromkeys(args.regions)), out=str(out),
        cache_directory=str(out / 'cache' if args.cache_in_out else result_cache_dir()),  # made when written
        use_cache=not args.no_cache, device=args.device, search_grid=load_search_grid(args.search, args.grid),
        nrp_config=nrp_config, references=parse_references(references), factorial=getattr(args, 'factorial', False),
        reference_pls=args.reference_pls,
        out_of_core=not args.in_memory, threads=args.threads, workers=args.workers, scheduler=args.scheduler,
        cluster=args.cluster, cluster_options=cluster.parse_cluster_options(args.cluster_option) or None,
        progress=not args.quiet, command=command)


def check_request(settings):
    """Everything checked before any scoring; ``{spec: why}`` for model specs that cannot be scored.

    The benchmark families and registered identifiers are checked, then that the Dask scheduler or batch system
    asked for can be reached (:func:`nrp_plugin.app.cluster.check_distributed`), then the data are made available (this may
    download them), then every model spec whose scores are not all in the result cache is built once and probed
    (:func:`nrp_plugin.app.model_specs.spec_problems`; in this process the network is kept for scoring, so it is
    built once), then the output folder is made and written to. A model whose scores are all cached is never
    built.

    Raises
    ------
    CompareError
        Naming every problem of the request; also when no model spec can be scored and there is nothing else.
    DataUnavailableError
        When MajajHong2015's files cannot be had.
    """
    from ..brainscore import majajhong
    problems = []
    for check in (lambda: checks.check_families(settings.families, settings.regions),
                  lambda: checks.check_identifiers(models=settings.models, specs=False)):
        try:
            check()
        except checks.CompareError as error:
            problems.append(str(error))
    if problems:  # every problem of the request in one line: the specs' too
        problems += list(model_specs.spec_problems(settings.models).values())
        raise checks.CompareError(' | '.join(problems))
    cluster.check_distributed(scheduler=settings.scheduler, cluster=settings.cluster)
    majajhong.ensure_data(settings.families)  # it may download: after the request's own checks
    comparison = compare.Comparison(settings)
    to_probe = []
    for model in settings.models:
        if not model_specs.is_spec(model):
            continue
        try:
            if comparison.cached(model):
                continue
        except model_specs.ModelSpecError:
            pass  # probed below, which says what is wrong
        to_probe.append(model)
    failures = model_specs.spec_problems(to_probe, keep=not settings.distributed)
    if failures and len(failures) == len(settings.models):
        raise checks.CompareError(' | '.join(failures.values()))
    checks.check_writable(Path(settings.out))  # last: it makes the folder
    return failures


@dataclass
class Outcome:
    """What a run produced: every record (failed models' included), and how long it took.

    Attributes
    ----------
    records : list of dict
    wall_seconds : float
    started : float
        When the run started (seconds since the epoch).
    """
    records: list = field(default_factory=list)
    wall_seconds: float = 0.0
    started: float = None

    @property
    def scored(self):
        return [record for record in self.records if record.get('kind') != 'failed']

    @property
    def failed(self):
        return [record for record in self.records if record.get('kind') == 'failed']

    @property
    def recomputed(self):
        return sum(not record.get('cached', False) for record in self.scored)

    def run_info(self, settings):
        """``table.json``'s ``run``: the settings, when it started (ISO 8601, UTC), the wall time and how many scores
        were computed."""
        import datetime
        started = None if self.started is None else datetime.datetime.fromtimestamp(
            self.started, datetime.timezone.utc).isoformat(timespec='seconds')
        return dict(settings.to_dict(), started=started, wall_seconds=self.wall_seconds, recomputed=self.recomputed)


def _print(line):
    print(line, flush=True)


def run(settings, failures=None, log=_print):
    """Score every model of ``settings`` on every benchmark: in this process, or on Dask workers when
    ``settings.distributed``; models in ``failures`` get a row saying why.

    Returns
    -------
    Outcome
    """
    failures = dict(failures or {})
    started = time.time()
    if not settings.distributed:
        if settings.threads:
            import torch
            torch.set_num_threads(settings.threads)
        records = compare.run_compare(settings, failures=failures, log=log)
    else:
        client, close = cluster.start_client(workers=settings.workers, scheduler=settings.scheduler,
                                             cluster=settings.cluster, cluster_options=settings.cluster_options,
                                             threads=settings.threads or 1)
        try:
            log(f'Dask: {client}')
            todo = [model for model in settings.models if model not in failures]
            records = cluster.run_distributed(todo, client, settings, log=log)
        finally:
            close()
        records += [compare.failure_record(model, reason) for model, reason in failures.items()]
    return Outcome(records, round(time.time() - started, 1), started)
