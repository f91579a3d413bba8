"""Scoring many models across processes and machines with Dask (``dask.distributed``; ``dask-jobqueue`` for batch
schedulers).

``compare --workers N`` starts a ``LocalCluster`` of N worker processes (``--threads`` torch threads each, 1 by
default; with CUDA, each worker carries one ``GPU`` resource, so it scores one model at a time on its own GPU);
``--scheduler ADDRESS`` joins a running Dask scheduler; ``--cluster slurm|pbs|sge|lsf`` with ``--cluster-option
KEY=VALUE`` starts workers through the batch system (``dask_jobqueue.SLURMCluster`` and its siblings) and scales it
to ``--workers`` jobs. Without these options a run stays in one process.

One task scores one model on every benchmark of the run (:func:`score_model_task`, which runs
:meth:`nrp_plugin.app.compare.Comparison.model_records` in the worker with the run's
:class:`nrp_plugin.app.settings.RunSettings`, unchanged). Workers write each score into the run's atomic result
cache, and the table is assembled at the end from that cache, in this process: where the workers see the same
cache folder (one machine, or a shared file system), no model is built then; a score a worker could not leave there
is computed again in this process. A rerun computes only what is missing. Dask reschedules the tasks of a worker
that is lost; a model whose task fails (its own error, or its workers dying repeatedly) gets a row that says why,
and the other models go on.
"""
import json
import os
import time

__all__ = ['CLUSTER_TYPES', 'parse_cluster_options', 'run_distributed', 'score_model_task', 'start_client']

#: ``--cluster`` names and the dask-jobqueue classes they start
CLUSTER_TYPES = {'slurm': 'SLURMCluster', 'pbs': 'PBSCluster', 'sge': 'SGECluster', 'lsf': 'LSFCluster'}


def parse_cluster_options(options):
    """``KEY=VALUE`` strings as keyword arguments (a value is read as JSON when it parses, else kept as text)."""
    from .checks import CompareError
    parsed = {}
    for option in options or ():
        key, equals, value = option.partition('=')
        if not equals or not key.strip():
            raise CompareError(f"--cluster-option {option!r}: give KEY=VALUE, e.g. --cluster-option cores=8 "
                               f"--cluster-option memory=32GB --cluster-option walltime=04:00:00")
        try:
            parsed[key.strip()] = json.loads(value)
        except ValueError:
            parsed[key.strip()] = value
    return parsed


#: Seconds to wait for the client and a started cluster to close before giving up on them
CLOSE_TIMEOUT = 10


def start_client(workers=None, scheduler=None, cluster=None, cluster_options=None, threads=1):
    """A ``distributed.Client`` for the run, and what to call to shut down what was started.

    Parameters
    ----------
    workers : int, optional
        Local worker processes (or batch jobs with ``cluster``).
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); nothing is started.
    cluster : {'slurm', 'pbs', 'sge', 'lsf'}, optional
    cluster_options : dict, optional
        Keyword arguments of the dask-jobqueue cluster class (:func:`parse_cluster_options`).
    threads : int
        Threads per local worker.

    Returns
    -------
    client : distributed.Client
    close : callable
    """
    from distributed import Client, LocalCluster
    from .checks import CompareError
    if scheduler:
        client = Client(scheduler)
        return client, client.close
    if cluster:
        if cluster not in CLUSTER_TYPES:
            raise CompareError(f"--cluster {cluster!r} is unknown; use one of {sorted(CLUSTER_TYPES)}")
        try:
            import dask_jobqueue
        except ImportError:
            raise CompareError("--cluster needs dask-jobqueue: pip install 'nrp_plugin[cluster]'") from None
        started = getattr(dask_jobqueue, CLUSTER_TYPES[cluster])(**(cluster_options or {}))
        started.scale(jobs=int(workers or 1))
    else:
        import torch
        resources = {'GPU': 1} if torch.cuda.is_available() else None
        started = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, resources=resources,
                               dashboard_address=None)
    client = Client(started)

    def close():  # a worker busy in a forward pass or training is not waited for
        for closing in (client.close, started.close):
            try:
                closing(timeout=CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - a timeout while closing: the processes are ended with this one
                pass
    return client, close


def score_model_task(model_id, settings, environment=None):
    """Score one model on every benchmark of a run, in a worker; ``{'model', 'records'}``, ``{'model',
    'failed'}`` with the one-line reason, or ``{'model', 'data_error'}`` with the message of data that cannot be
    had.

    Parameters
    ----------
    model_id : str
    settings : RunSettings
        The run's settings, as the command line made them (``threads``: torch threads, 1 when None).
    environment : dict, optional
        Variables the scoring reads, set in the worker (:data:`ENVIRONMENT`).
    """
    import torch
    from . import compare
    from ..brainscore.majajhong import DataUnavailableError
    os.environ.update(environment or {})
    torch.set_num_threads(int(settings.threads or 1))
    if torch.cuda.is_available():  # one model per GPU worker: the worker's own device
        try:
            from distributed import get_worker
            name = get_worker().name
            torch.cuda.set_device(int(name) % torch.cuda.device_count() if str(name).isdigit() else 0)
        except (ValueError, ImportError):
            pass
    comparison = compare.Comparison(settings.replace(progress=False))
    try:
        return {'model': model_id, 'records': comparison.model_records(model_id)}
    except compare.ModelFailed as error:
        return {'model': model_id, 'failed': str(error)}
    except DataUnavailableError as error:  # ends the whole run, as it does in one process
        return {'model': model_id, 'data_error': str(error)}


#: Environment variables a worker needs as the run's process has them
ENVIRONMENT = ('NRP_PLUGIN_HOME', 'NRP_PLUGIN_DEVICE', 'NRP_SYNTHETIC_PRESET', 'NRP_PLUGIN_SCRATCH', 'BRAINIO_HOME',
               'RESULTCACHING_HOME', 'RESULTCACHING_DISABLE', 'BS_INSTALL_DEPENDENCIES', 'TORCH_HOME',
               'NRP_PLUGIN_WEIGHTS_DIR', 'NRP_PLUGIN_OFFLINE')


def run_distributed(models, client, settings, log=print):
    """Score every model as one Dask task; then assemble every record from the result cache, in this process.

    Parameters
    ----------
    models : list of str
    client : distributed.Client
    settings : RunSettings
        The run's settings, handed unchanged to every task (``threads``: torch threads per task, 1 when None).
    log : callable
        Receives a progress line after each model: models done, running, failed.

    Returns
    -------
    list of dict
        As :func:`nrp_plugin.app.compare.run_compare` returns them (failed models as failure records).

    Raises
    ------
    DataUnavailableError
        When a task found the benchmark data missing; the other tasks are cancelled.
    """
    from distributed import as_completed
    from . import compare
    from ..brainscore.majajhong import DataUnavailableError
    environment = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
    resources = {'GPU': 1} if any(info.get('resources', {}).get('GPU') for info in
                                  client.scheduler_info().get('workers', {}).values()) else None
    futures = {client.submit(score_model_task, model, settings, environment, key=f'nrp-score-{index}', pure=False,
                             resources=resources): model for index, model in enumerate(models)}
    failures, done, started = {}, 0, time.time()
    try:
        for future in as_completed(futures):
            model = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - e.g. KilledWorker: the task's workers kept dying
                result = {'model': model, 'failed': compare.failure_reason(error)}
            if 'data_error' in result:  # data that cannot be had fails every model alike: the run ends
                raise DataUnavailableError(result['data_error'])
            done += 1
            if 'failed' in result:
                failures[model] = result['failed']
            log(f'models: {done} done, {len(models) - done} running or waiting, {len(failures)} failed '
                f'({model}{": failed" if model in failures else ""}; {time.time() - started:.0f} s)')
    except BaseException:  # the data error, an interrupt or a kill: nothing more is scored
        client.cancel(list(futures), force=True)
        raise
    # every score is in the cache now (the workers wrote it): read, nothing built
    return compare.run_compare(settings.replace(models=tuple(models), progress=False, use_cache=True),
                               failures=failures, log=log)
