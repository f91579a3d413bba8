"""Many models: ``--models`` as files and patterns, and scoring on Dask workers that may die."""
import os
import signal
import socket
import sys
import threading
import time

import pytest

from helpers import FAMILY, MODELS, TINY_NET
from nrp_plugin.app import checks, cli, cluster, compare, zoo
from nrp_plugin.app.settings import RunSettings


def test_patterns_expand_to_sorted_torchvision_architectures(tmp_path):
    import torchvision
    every = sorted(torchvision.models.list_models(module=torchvision.models))
    squeeze = zoo.expand_models(['torchvision:squeezenet*'])
    assert squeeze == [f'torchvision:{name}' for name in every if name.startswith('squeezenet')] and len(squeeze) == 2
    assert zoo.expand_models(['torchvision:resnet1?:pretrained']) == ['torchvision:resnet18:pretrained']
    assert len(zoo.expand_models(['torchvision:*'])) == len(every)
    with pytest.raises(checks.CompareError, match="no torchvision architecture matches 'nosuchnet\\*'"):
        zoo.expand_models(['torchvision:nosuchnet*'])


def test_a_file_lists_models_with_comments_and_duplicates_keep_their_first_place(tmp_path):
    listing = tmp_path / 'zoo.txt'
    listing.write_text('# small networks\ncornet_s_untrained\n\ntorchvision:squeezenet1_*  # both\n'
                       'cornet_s_untrained\n')
    assert zoo.expand_models([str(listing), 'torchvision:alexnet']) == [
        'cornet_s_untrained', 'torchvision:squeezenet1_0', 'torchvision:squeezenet1_1', 'torchvision:alexnet']
    empty = tmp_path / 'empty.txt'
    empty.write_text('# nothing\n')
    with pytest.raises(checks.CompareError, match='lists no model'):
        zoo.expand_models([str(empty)])


def test_cluster_options_are_keyword_arguments():
    assert cluster.parse_cluster_options(['cores=8', 'memory=32GB', 'processes=1', 'job_extra_directives=["-A x"]']) \
        == {'cores': 8, 'memory': '32GB', 'processes': 1, 'job_extra_directives': ['-A x']}
    with pytest.raises(checks.CompareError, match='give KEY=VALUE'):
        cluster.parse_cluster_options(['cores'])


def _compare_fails_before_scoring(fakes, tmp_path, capsys, *options):
    """``compare`` with ``options`` on the stand-in models: exit status 2, no model built or scored, no --out, and
    the one line it printed on stderr."""
    code = cli.main(['compare', '--models', *MODELS[:2], '--benchmarks', FAMILY, '--out', str(tmp_path / 'out'),
                     '--quiet', *options])
    err = capsys.readouterr().err
    assert code == 2 and fakes['model'] == [] and fakes['score'] == []
    lines = [line for line in err.strip().splitlines() if not line.startswith('warning: ')]  # stale plugin folders
    assert len(lines) == 1 and 'Traceback' not in err
    assert not (tmp_path / 'out').exists()
    return lines[0]


def test_a_batch_cluster_without_its_submit_command_fails_before_scoring(fakes, tmp_path, capsys, monkeypatch):
    bin_folder = tmp_path / 'bin'
    bin_folder.mkdir()
    monkeypatch.setenv('PATH', str(bin_folder))  # no sbatch
    err = _compare_fails_before_scoring(fakes, tmp_path, capsys, '--cluster', 'slurm', '--workers', '2')
    assert 'sbatch, which is not on the PATH' in err
    sbatch = bin_folder / 'sbatch'
    sbatch.write_text('#!/bin/sh\nexit 1\n')
    sbatch.chmod(0o755)
    monkeypatch.setitem(sys.modules, 'dask_jobqueue', None)  # found now: only the other problem is left
    with pytest.raises(checks.CompareError) as error:
        cluster.check_distributed(cluster='slurm')
    assert 'sbatch' not in str(error.value)


def test_a_batch_cluster_without_dask_jobqueue_fails_before_scoring(fakes, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'dask_jobqueue', None)  # import dask_jobqueue raises ImportError
    err = _compare_fails_before_scoring(fakes, tmp_path, capsys, '--cluster', 'pbs', '--workers', '2')
    assert "--cluster needs dask-jobqueue: pip install 'nrp_plugin[cluster]'" in err


def test_a_scheduler_that_does_not_answer_fails_before_scoring(fakes, tmp_path, capsys):
    from distributed import LocalCluster
    with LocalCluster(n_workers=0, processes=False, protocol='tcp://', host='127.0.0.1',
                      dashboard_address=None) as scheduler:
        cluster.check_distributed(scheduler=scheduler.scheduler_address)  # a scheduler answers: no error
    with socket.socket() as listening:  # a port on which something that is not Dask listens
        listening.bind(('127.0.0.1', 0))
        listening.listen()
        address = f'tcp://127.0.0.1:{listening.getsockname()[1]}'
        with pytest.raises(checks.CompareError, match='no Dask scheduler answers there'):
            cluster.check_distributed(scheduler=address, timeout=0.5)
    # closed: nothing answers there now
    started = time.time()
    err = _compare_fails_before_scoring(fakes, tmp_path, capsys, '--scheduler', address)
    assert time.time() - started < cluster.CONNECT_TIMEOUT + 5
    assert f'--scheduler {address} does not answer' in err and 'dask scheduler' in err


SETTINGS = RunSettings(families=['SyntheticMajajHong2015'], regions=['IT'],
                       nrp_config={'max_epochs': 8, 'patience': 4}, references=(), progress=False)
SCORES = ('score', 'raw_r', 'pls_mae', 'nrp_error', 'pearson', 'split_nrp_error', 'split_pls_r')


def _values(records):
    return {(r['model'], r['benchmark']): tuple(r.get(name) for name in SCORES) for r in records}


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('zoo')
    (folder / 'tiny_net.py').write_text(TINY_NET)
    return [f'{folder / "tiny_net.py"}:build', f'{folder / "tiny_net.py"}:iterated_blocks']


def test_a_local_cluster_gives_the_in_process_table_even_when_a_worker_dies(installed_plugins, tiny_models, tmp_path):
    """Two workers, one killed while it scores: Dask reschedules its model, and every score equals the in-process
    run's, value for value (one torch thread in both)."""
    import torch
    from distributed import Client, LocalCluster
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        in_process = compare.run_compare(SETTINGS.replace(models=tiny_models, cache_directory=tmp_path / 'one'))
    finally:
        torch.set_num_threads(threads)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            Client(local) as client:
        killed = []

        def kill_one_busy_worker():
            for _ in range(2400):  # until a worker holds a task, then kill that worker's process
                busy = [address for address, tasks in client.processing().items() if tasks]
                if busy:
                    time.sleep(2)  # well into the task
                    pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
        killer.start()
        records = cluster.run_distributed(tiny_models, client,
                                          SETTINGS.replace(models=tiny_models, cache_directory=tmp_path / 'many',
                                                           threads=1), log=lambda line: None)
        killer.join(timeout=5)
        assert killed  # a worker really died in the middle
    assert not [r for r in records if r.get('kind') == 'failed']
    assert _values(records) == _values(in_process)
    assert len(records) == 2 * len(tiny_models)
    # the workers computed every score; the final assembly only read them, and says which were computed
    assert not any(r['cached'] for r in records)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as local, \
            Client(local) as client:
        again = cluster.run_distributed(tiny_models, client,
                                        SETTINGS.replace(models=tiny_models, cache_directory=tmp_path / 'many',
                                                         threads=1), log=lambda line: None)
    assert all(r['cached'] for r in again) and _values(again) == _values(in_process)



def test_a_kill_stops_a_distributed_run_promptly_with_no_table(installed_plugins, tmp_path):
    """SIGTERM to ``compare --workers 1`` while its worker scores: the run ends within 15 s with exit 130, says so,
    and writes no table; no worker process outlives it."""
    import subprocess
    import sys
    env = dict(os.environ, NRP_PLUGIN_HOME=str(tmp_path / 'home'), RESULTCACHING_HOME=str(tmp_path / 'rc'))
    command = [sys.executable, '-m', 'nrp_plugin.app.cli', 'compare', '--workers', '1', '--models',
               'SyntheticMajajHong2015-teacher', '--regions', 'IT', '--out', str(tmp_path / 'out')]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        for line in run.stdout:  # the client is up: the worker has its task
            if line.startswith('Dask:'):
                break
        time.sleep(5)
        children = subprocess.run(['pgrep', '-P', str(run.pid)], capture_output=True, text=True).stdout.split()
        assert children, "the worker process was not started"
        killed_at = time.time()
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=15)
        assert time.time() - killed_at < 15
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130
    assert 'interrupted' in err and 'Traceback' not in err
    assert not list((tmp_path / 'out').glob('table.*'))
    time.sleep(1)
    for pid in children:  # the workers (and the nanny's processes) are gone
        assert not os.path.exists(f'/proc/{pid}') or 'zombie' in open(f'/proc/{pid}/status').read().lower()


ALLOCATION_LOOP = """
import resource, sys, threading
import numpy as np
from nrp_plugin.app import cluster
if sys.argv[1] == 'prepared':
    cluster.prepare_worker({'NRP_PLUGIN_PROBE': '1'}, 1)
def loop():
    for _ in range(300):
        block = np.ones(2 ** 19)  # 4 MiB, allocated, touched and freed, as a fit's temporaries are
        del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
worker = threading.Thread(target=loop)  # Dask runs tasks in a thread, on a secondary malloc arena
worker.start()
worker.join()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(__import__('platform').libc_ver()[0] != 'glibc', reason='the allocator tuning is glibc-only')
def test_a_prepared_worker_reuses_freed_arrays_instead_of_faulting_them_in_again():
    """Under the nanny's MALLOC_TRIM_THRESHOLD_, each 4 MiB array is mapped and faulted in afresh (1,024 pages);
    after prepare_worker the freed block is reused."""
    import subprocess
    env = {**os.environ, 'MALLOC_TRIM_THRESHOLD_': '65536'}
    faults = {mode: int(subprocess.run([sys.executable, '-c', ALLOCATION_LOOP, mode], env=env, capture_output=True,
                                       text=True, check=True, timeout=120).stdout.split()[-1])
              for mode in ('as_dask_starts_it', 'prepared')}
    assert faults['as_dask_starts_it'] > 300 * 1024 // 4
    assert faults['prepared'] < faults['as_dask_starts_it'] / 20
