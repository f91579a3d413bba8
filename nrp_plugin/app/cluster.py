"""Scoring many models across processes and machines with Dask (``dask.distributed``; ``dask-jobqueue`` for batch
schedulers).

``compare --workers N`` starts a ``LocalCluster`` of N worker processes (``--threads`` torch threads each, 1 by
default; with CUDA, each worker carries one ``GPU`` resource, so it scores one model at a time on its own GPU);
``--scheduler ADDRESS`` joins a running Dask scheduler; ``--cluster slurm|pbs|sge|lsf`` with ``--cluster-option
KEY=VALUE`` starts workers through the batch system (``dask_jobqueue.SLURMCluster`` and its siblings) and keeps
``--workers`` jobs running: a job that ends early (cancelled, preempted, out of wall time) is replaced. Without these
options a run stays in one process. :func:`check_distributed` finds, before any scoring, what would stop such a run
(dask-jobqueue or the batch system's submit command missing, a scheduler that does not answer).

One task scores one model on every benchmark of the run (:func:`score_model_task`, which runs
:meth:`nrp_plugin.app.compare.Comparison.model_records` in the worker with the run's
:class:`nrp_plugin.app.settings.RunSettings`, unchanged). Workers write each score into the run's atomic result
cache, and the table is assembled at the end from that cache, in this process: where the workers see the same
cache folder (one machine, or a shared file system), no model is built then; a score a worker could not leave there
is computed again in this process. A rerun computes only what is missing. Dask reschedules the tasks of a worker
that is lost; a model whose task fails (its own error, or its workers dying repeatedly) gets a row that says why,
and the other models go on.
"""
import functools
import json
import logging
import os
import time

__all__ = ['CLUSTER_TYPES', 'check_distributed', 'parse_cluster_options', 'prepare_worker', 'run_distributed',
           'score_model_task', 'start_client']

#: ``--cluster`` names and the dask-jobqueue classes they start
CLUSTER_TYPES = {'slurm': 'SLURMCluster', 'pbs': 'PBSCluster', 'sge': 'SGECluster', 'lsf': 'LSFCluster'}
#: The command each batch system's jobs are submitted with (dask-jobqueue calls it)
SUBMIT_COMMANDS = {'slurm': 'sbatch', 'pbs': 'qsub', 'sge': 'qsub', 'lsf': 'bsub'}
#: Seconds a ``--scheduler`` address has to accept a connection, and then to answer as a Dask scheduler
CONNECT_TIMEOUT = 5


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


def check_distributed(scheduler=None, cluster=None, timeout=CONNECT_TIMEOUT):
    """Raise :class:`~nrp_plugin.app.checks.CompareError` with one line when a ``--scheduler`` or ``--cluster`` run
    could not start: dask-jobqueue is not installed, the batch system's submit command (``sbatch``, ``qsub``,
    ``bsub``) is not on the ``PATH``, or no Dask scheduler answers at the scheduler's address within ``timeout``
    seconds."""
    import shutil
    from .checks import CompareError
    if cluster:
        if cluster not in CLUSTER_TYPES:
            raise CompareError(f"--cluster {cluster!r} is unknown; use one of {sorted(CLUSTER_TYPES)}")
        problems = []
        try:
            import dask_jobqueue  # noqa: F401
        except ImportError:
            problems.append("--cluster needs dask-jobqueue: pip install 'nrp_plugin[cluster]'")
        command = SUBMIT_COMMANDS[cluster]
        if shutil.which(command) is None:
            problems.append(f"--cluster {cluster} submits jobs with {command}, which is not on the PATH: run compare "
                            f"where {cluster.upper()} jobs can be submitted (e.g. the login node) or add the folder "
                            f"holding {command} to PATH")
        if problems:
            raise CompareError(' | '.join(problems))
    if scheduler:
        _check_answers(scheduler, timeout)


def _check_answers(address, timeout):
    """Raise ``CompareError`` when a TCP scheduler address accepts no connection, or no Dask scheduler answers on it,
    within ``timeout`` seconds (other transports are left to Dask's client)."""
    import asyncio
    import socket
    from concurrent.futures import ThreadPoolExecutor
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.core import rpc
    from .checks import CompareError
    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except ValueError as error:
        raise CompareError(f"--scheduler {address!r} is not a scheduler address ({error}); give it as the "
                           f"scheduler prints it, e.g. tcp://host:8786") from None
    if scheme != 'tcp':
        return
    fix = f'start the scheduler there (dask scheduler --port {port}) or give the address it prints as "Scheduler at:"'
    try:  # fast where nothing listens
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.timeout:
        raise CompareError(f"--scheduler {address} does not answer (no connection within {timeout:g} s): {fix}") \
            from None
    except OSError as error:
        raise CompareError(f"--scheduler {address} does not answer ({error.strerror or error}): {fix}") from None

    async def identity():
        async with rpc(address, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)
    try:  # something listens: is it a Dask scheduler? (a thread of its own: the caller may run an event loop)
        with ThreadPoolExecutor(1) as thread:
            kind = thread.submit(asyncio.run, identity()).result().get('type')
    except Exception:  # noqa: BLE001 - no reply, or one that is not Dask's: the same answer
        kind = None
    if kind != 'Scheduler':
        raise CompareError(f"--scheduler {address}: no Dask scheduler answers there within {timeout:g} s "
                           f"({'a Dask ' + kind if kind else 'something else listens'}): {fix}")


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
        Start ``workers`` batch jobs (one Dask worker each, unless ``processes`` says otherwise) and keep that many:
        the cluster is adaptive with ``workers`` jobs as both its floor and its ceiling, so a job that ends before
        the run does is replaced by a new one once ``distributed.deploy.lost-worker-timeout`` has passed.
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
    if scheduler:
        client = Client(scheduler)
        return client, client.close
    if cluster:
        check_distributed(cluster=cluster)
        import dask_jobqueue
        started = getattr(dask_jobqueue, CLUSTER_TYPES[cluster])(**(cluster_options or {}))
        jobs = int(workers or 1)
        # not scale(): a scaled cluster does not replace a job that ends (scancel, preemption, wall time); the
        # adaptive loop notices the missing job and submits another, and the scheduler has already given the lost
        # worker's tasks back to the queue
        started.adapt(minimum_jobs=jobs, maximum_jobs=jobs)
    else:
        import torch
        resources = {'GPU': 1} if torch.cuda.is_available() else None
        # the workers' own logs are silenced: what the run reports (a failed model, a lost worker) reaches the user
        # through the futures and the scheduler's events, and a worker cut off by an interrupt would otherwise print
        # its connection's traceback
        started = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, resources=resources,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
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
    prepare_worker(environment, settings.threads)
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


def prepare_worker(environment=None, threads=None):
    """Set a Dask worker up for one of this package's tasks: the run's environment, ``threads`` torch threads (1 when
    None), and an allocator that keeps freed memory for reuse.

    Dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``),
    which also fixes glibc's mmap threshold at 128 KiB: every array above it (a network's activations and gradients,
    a split's kernel) is then mapped fresh from the kernel and faulted in page by page at each allocation. Fitting a
    mapping allocates such arrays thousands of times, and the page faults take a large share of the worker's
    time. Here, on glibc, the worker keeps up to 256 MiB of freed memory per arena and serves arrays up to
    32 MiB (glibc's largest mmap threshold) from it. Elsewhere the allocator is left as it is.

    Parameters
    ----------
    environment : dict, optional
        Variables the scoring reads (:data:`ENVIRONMENT`), set in the worker.
    threads : int, optional
    """
    import torch
    os.environ.update(environment or {})
    torch.set_num_threads(int(threads or 1))
    tune_allocator()


#: glibc's ``mallopt`` parameters (malloc.h) and the values :func:`tune_allocator` gives them
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES, LARGEST_HEAP_ALLOCATION = 256 * 2 ** 20, 32 * 2 ** 20


def tune_allocator(trim_threshold=KEEP_FREED_BYTES, mmap_threshold=LARGEST_HEAP_ALLOCATION):
    """Set glibc's trim and mmap thresholds in this process; False where the C library is not glibc.

    Parameters
    ----------
    trim_threshold : int
        Freed memory an arena keeps before returning it to the kernel, in bytes.
    mmap_threshold : int
        Allocations from this size up are mapped from the kernel on their own, in bytes (at most 32 MiB).
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
                and libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)))


@functools.lru_cache(maxsize=None)
def _glibc():
    """This process's C library with its ``mallopt``, or None where it is not glibc (found once per process: the
    check reads the Python executable)."""
    import ctypes
    import platform
    if platform.libc_ver()[0] != 'glibc':
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - present in every glibc; probed so a stripped one is refused here
    except (OSError, AttributeError):
        return None
    return libc


#: Environment variables a worker needs as the run's process has them
ENVIRONMENT = ('NRP_PLUGIN_HOME', 'NRP_PLUGIN_DEVICE', 'NRP_SYNTHETIC_PRESET', 'NRP_SYNTHETIC_SEED',
               'NRP_PLUGIN_SCRATCH', 'BRAINIO_HOME', 'RESULTCACHING_HOME', 'RESULTCACHING_DISABLE',
               'BS_INSTALL_DEPENDENCIES', 'TORCH_HOME', 'NRP_PLUGIN_WEIGHTS_DIR', 'NRP_PLUGIN_OFFLINE')


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
    computed = set()  # the scores the workers computed (not read from the cache), to say so in the final records
    client.subscribe_topic('all', _lost_worker_logger(futures, log))
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
            computed.update(_record_key(record) for record in result.get('records', ())
                            if not record.get('cached', False))
            log(f'models: {done} done, {len(models) - done} running or waiting, {len(failures)} failed '
                f'({model}{": failed" if model in failures else ""}; {time.time() - started:.0f} s)')
    except BaseException:  # the data error, an interrupt or a kill: nothing more is scored
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.unsubscribe_topic('all')
    # every score is in the cache now (the workers wrote it): read, nothing built
    records = compare.run_compare(settings.replace(models=tuple(models), progress=False, use_cache=True),
                                  failures=failures, log=log)
    for record in records:
        if record.get('kind') != 'failed':
            record['cached'] = _record_key(record) not in computed
    return records


def _record_key(record):
    return record.get('model'), record.get('family'), record.get('region'), record.get('kind')


def _lost_worker_logger(futures, log):
    """A handler of the scheduler's ``all`` events that logs the models a lost worker held (a killed process, a
    cancelled or preempted job): the scheduler gives them back to the queue, to be scored on another worker."""
    models = {future.key: model for future, model in futures.items()}

    def on_event(event):
        _, message = event
        if not isinstance(message, dict) or message.get('action') != 'remove-worker':
            return
        lost = sorted(models[key] for key in message.get('processing-tasks', ()) if key in models)
        if lost:
            log(f"Dask: worker {message.get('worker')} was lost while it held {', '.join(lost)}; "
                f"{'it is' if len(lost) == 1 else 'they are'} scheduled again")
    return on_event
