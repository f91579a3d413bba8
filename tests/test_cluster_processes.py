"""``compare`` on Dask workers that are processes of their own: SLURM batch jobs (one of them cancelled in the
middle of the run) and a ``dask scheduler`` with ``dask worker`` processes. Both give the in-process run's table,
value for value. Every address is on loopback."""
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import TINY_NET

ROOT = Path(__file__).resolve().parents[1]
SLURM_LOCAL = ROOT / 'scripts' / 'slurm_local.sh'
NRP_CONFIG = '{"max_epochs": 8, "patience": 4, "with_linear": false}'
#: Seconds a whole distributed run may take before the test gives up on it
RUN_TIMEOUT = 1200


@pytest.fixture(scope='module')
def zoo(tmp_path_factory):
    """Four cheap models: the synthetic world's teacher, examples/my_net.py and two small networks as specs."""
    folder = tmp_path_factory.mktemp('zoo')
    (folder / 'tiny_net.py').write_text(TINY_NET)
    return ['SyntheticMajajHong2015-teacher', str(ROOT / 'examples' / 'my_net.py') + ':build',
            f'{folder / "tiny_net.py"}:build', f'{folder / "tiny_net.py"}:iterated_blocks']


def _environment(home, **extra):
    """This process's environment with this checkout first on the path, a home of the run's own, unbuffered output."""
    path = os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    return dict(os.environ, PYTHONPATH=path, NRP_PLUGIN_HOME=str(home), PYTHONUNBUFFERED='1', **extra)


def _compare_command(zoo, out, *options):
    return [sys.executable, '-m', 'nrp_plugin.app.cli', 'compare', '--models', *zoo, '--benchmarks',
            'SyntheticMajajHong2015', '--regions', 'IT', '--nrp-config', NRP_CONFIG, '--threads', '1',
            '--cache-in-out', '--out', str(out), *options]


def _table(out):
    """The scores of ``out/table.json``: its rows and per-benchmark scores (run information left out). The stimulus
    sets' identifiers end in a hash of where the world's files are (``--at-<hash>``), which differs between runs
    with their own ``NRP_PLUGIN_HOME``; it is left out."""
    text = re.sub(r'--at-[0-9a-f]+', '--at-HOME', (out / 'table.json').read_text())
    table = json.loads(text)
    return {'rows': table['rows'], 'scores': table['scores']}


@pytest.fixture(scope='module')
def in_process(zoo, tmp_path_factory):
    """The zoo's table from one process, one torch thread, and its wall time."""
    folder = tmp_path_factory.mktemp('in_process')
    started = time.time()
    run = subprocess.run(_compare_command(zoo, folder / 'out'), env=_environment(folder / 'home'),
                         capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stderr[-2000:]
    print(f'in-process run: {time.time() - started:.0f} s')
    return _table(folder / 'out')


class _Run:
    """A ``compare`` subprocess whose output lines are collected as they come (stderr into a file)."""

    def __init__(self, command, env, folder):
        self.lines, self.stderr = [], folder / 'stderr.txt'
        with open(self.stderr, 'w') as err:
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                            start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.started = time.time()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip('\n'))

    def seen(self, text):
        return any(text in line for line in self.lines)

    def wait(self):
        try:
            self.process.wait(timeout=max(1, RUN_TIMEOUT - (time.time() - self.started)))
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.reader.join(timeout=10)
        self.seconds = time.time() - self.started
        return self.process.returncode


def _squeue(env, name):
    """Job id -> state of the jobs called ``name``."""
    listed = subprocess.run(['squeue', '-h', '-n', name, '-o', '%i %T'], env=env, capture_output=True, text=True,
                            timeout=30).stdout.split()
    return dict(zip(listed[::2], listed[1::2]))


def _no_slurm(message):
    """Skip, or with ``NRP_REQUIRE_SLURM=1`` (CI) fail: there the SLURM test must run."""
    if os.environ.get('NRP_REQUIRE_SLURM') == '1':
        pytest.fail(f'{message} (NRP_REQUIRE_SLURM=1)', pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope='module')
def slurm():
    """The environment of a running single-node SLURM (scripts/slurm_local.sh): the one running, else one started
    here when munge and slurm-wlm are installed and this is root (and stopped after the tests)."""
    if importlib.util.find_spec('dask_jobqueue') is None:
        _no_slurm("--cluster needs dask-jobqueue: pip install 'nrp_plugin[cluster]'")
    if shutil.which('bash') is None:
        _no_slurm('no SLURM: scripts/slurm_local.sh needs bash')
    status = subprocess.run(['bash', str(SLURM_LOCAL), 'status'], capture_output=True, text=True, timeout=60)
    started = False
    if status.returncode != 0:
        if not all(shutil.which(name) for name in ('munged', 'slurmctld', 'slurmd', 'sbatch')) or os.geteuid() != 0:
            _no_slurm('no SLURM running and none can be started here: scripts/slurm_local.sh start (as root) '
                      'installs munge and slurm-wlm and starts a single-node SLURM')
        start = subprocess.run(['bash', str(SLURM_LOCAL), 'start'], capture_output=True, text=True, timeout=180,
                               env=dict(os.environ, SLURM_LOCAL_NO_INSTALL='1'))
        if start.returncode != 0:
            _no_slurm(f'no SLURM: scripts/slurm_local.sh start failed: {start.stderr.strip()[-300:]}')
        status, started = start, True
    conf = [line for line in status.stdout.splitlines() if line.startswith('export SLURM_CONF=')][-1]
    yield {'SLURM_CONF': conf.partition('=')[2]}
    if started:
        subprocess.run(['bash', str(SLURM_LOCAL), 'stop'], capture_output=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get('NRP_PLUGIN_SKIP_SLOW') == '1', reason='slow end-to-end test skipped')
def test_slurm_jobs_score_the_zoo_and_a_cancelled_job_is_replaced(slurm, zoo, in_process, tmp_path):
    """``compare --cluster slurm --workers 2``: the workers are SLURM jobs; one is cancelled with scancel while it
    scores; its models are scored again elsewhere, a new job replaces it, and the table equals the in-process one."""
    name, home = f'nrp-test-{os.getpid()}', tmp_path / 'shared_home'
    options = {'cores': 1, 'processes': 1, 'memory': '6GB', 'walltime': '00:30:00', 'job_name': name,
               'interface': 'lo', 'scheduler_options': {'dashboard_address': None}, 'python': sys.executable,
               'job_script_prologue': [f'export PYTHONPATH={ROOT}', f'export NRP_PLUGIN_HOME={home}'],
               'local_directory': str(tmp_path / 'dask'), 'log_directory': str(tmp_path / 'job_logs')}
    cluster_options = [f'--cluster-option={key}={value if isinstance(value, str) else json.dumps(value)}'
                       for key, value in options.items()]
    env = _environment(home, **slurm)
    run = _Run(_compare_command(zoo, tmp_path / 'out', '--cluster', 'slurm', '--workers', '2', *cluster_options),
               env, tmp_path)
    jobs, queue, cancelled, running_since = {}, {}, None, None
    while run.process.poll() is None and time.time() - run.started < RUN_TIMEOUT:
        queue, before = _squeue(env, name), queue
        if queue != before:
            print(f'{time.time() - run.started:5.0f} s  squeue: {queue}')
        jobs.update(queue)
        running = sorted((job for job, state in queue.items() if state == 'RUNNING'), key=int)
        if cancelled is None and len(running) == 2 and run.seen('Dask:'):
            running_since = running_since or time.time()
            if time.time() - running_since > 20:  # both workers well into their first model
                cancelled = running[0]
                subprocess.run(['scancel', cancelled], env=env, check=True, timeout=30)
                print(f'{time.time() - run.started:5.0f} s  scancel {cancelled}')
        time.sleep(2)
    code = run.wait()
    print('\n'.join(line for line in run.lines if line.startswith(('Dask:', 'models:'))))
    print(f'SLURM run: {run.seconds:.0f} s')
    assert code == 0, run.stderr.read_text()[-3000:]
    assert cancelled is not None, 'the two jobs never ran side by side'
    assert len(jobs) >= 3, f'no job replaced the cancelled one: {jobs}'  # two, and the replacement
    lost = [line for line in run.lines if 'was lost while it held' in line]
    assert lost, 'the cancelled job held no model'
    assert _table(tmp_path / 'out') == in_process
    time.sleep(5)
    assert _squeue(env, name) == {}  # the run cancelled its jobs when it ended


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get('NRP_PLUGIN_SKIP_SLOW') == '1', reason='slow end-to-end test skipped')
def test_a_running_dask_scheduler_scores_the_zoo(zoo, in_process, tmp_path):
    """``compare --scheduler`` against a ``dask scheduler`` and two ``dask worker`` processes started here."""
    home = tmp_path / 'shared_home'
    env = _environment(home)
    scheduler_file = tmp_path / 'scheduler.json'
    dask = [sys.executable, '-m']
    processes = [subprocess.Popen(dask + ['distributed.cli.dask_scheduler', '--host', '127.0.0.1', '--port', '0',
                                          '--no-dashboard', '--scheduler-file', str(scheduler_file)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)]
    try:
        for _ in range(120):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.5)
        address = json.loads(scheduler_file.read_text())['address']
        assert address.startswith('tcp://127.0.0.1:')
        for index in range(2):
            processes.append(subprocess.Popen(
                dask + ['distributed.cli.dask_worker', address, '--nthreads', '1', '--host', '127.0.0.1',
                        '--no-dashboard', '--local-directory', str(tmp_path / f'worker{index}')],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        run = _Run(_compare_command(zoo, tmp_path / 'out', '--scheduler', address), env, tmp_path)
        code = run.wait()
        print(f'--scheduler run: {run.seconds:.0f} s')
        assert code == 0, run.stderr.read_text()[-3000:]
        assert _table(tmp_path / 'out') == in_process
    finally:
        for process in processes:  # each in a session of its own: the worker's nanny and its child end with it
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
