"""Test session set-up: an isolated cache, no pip installs at plugin load, plugins placed once."""
import os

import pytest

os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
os.environ.setdefault('RESULTCACHING_DISABLE', '1')

if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest -n runs one worker process per core: each worker, and every process it starts (the plugin folders'
    # pytest, the rehearsal's compare), computes on one thread. Set before numpy or torch is imported; several
    # processes each spinning a thread pool over the same cores slow one another down many times over.
    for _name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[_name] = '1'
    import torch
    torch.set_num_threads(1)


@pytest.fixture(scope='session', autouse=True)
def nrp_home(tmp_path_factory):
    """Point nrp_plugin's cache at a per-session directory unless the caller chose one."""
    if not os.environ.get('NRP_PLUGIN_TEST_KEEP_HOME'):
        os.environ['NRP_PLUGIN_HOME'] = str(tmp_path_factory.mktemp('nrp_home'))
    return os.environ.get('NRP_PLUGIN_HOME')


@pytest.fixture(scope='session')
def installed_plugins():
    """Place this repository's plugin folders into the installed brainscore_vision tree (one worker process at a
    time under ``pytest -n``; a folder already current is left as it is)."""
    import tempfile
    from filelock import FileLock
    from nrp_plugin.app.installer import install
    with FileLock(os.path.join(tempfile.gettempdir(), 'nrp_plugin_install.lock')):
        return install()


@pytest.fixture
def weight_env(tmp_path, monkeypatch):
    """Every weight file location points into tmp_path and downloads are off: no test touches the network."""
    from nrp_plugin import registry
    from nrp_plugin.storage import weights
    for name, value in weights.offline_locations(tmp_path, (registry.CORNET_S_WEIGHTS, registry.RESNET50_WEIGHTS)).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv('NRP_IMAGENET_DIR', raising=False)
    monkeypatch.setattr(weights, '_verified', {})
    return tmp_path


@pytest.fixture
def fakes(monkeypatch):
    """The comparison runner with models, benchmarks and scores replaced by the stand-ins of tests/helpers.py."""
    from nrp_plugin.app import checks, compare
    from helpers import REGISTERED, FakeBenchmark, FakeModel
    calls = {'model': [], 'benchmark': [], 'score': []}

    def load_model(identifier):
        calls['model'].append(identifier)
        return FakeModel(identifier)

    def load_benchmark(identifier):
        calls['benchmark'].append(identifier)
        return FakeBenchmark(identifier)

    def score_model(model, benchmark):
        calls['score'].append((model.identifier, benchmark.identifier))
        return benchmark(model)

    monkeypatch.setattr(compare, 'load_model', load_model)
    monkeypatch.setattr(compare, 'load_benchmark', load_benchmark)
    monkeypatch.setattr(compare, 'score_model', score_model)
    monkeypatch.setattr(checks, 'registered_identifiers', lambda root=None: REGISTERED)
    return calls


#: Test files that run longest, started first so that ``pytest -n`` (one file per worker) does not end on one of them
#: (pytest.ini's ``--no-loadscope-reorder`` keeps this order; xdist would otherwise sort files by their test count)
LONGEST_FIRST = ('test_cluster_processes.py', 'test_rehearsal.py', 'test_torchvision_zoo.py', 'test_leaks.py',
                 'test_world_metrics.py', 'test_validity.py', 'test_plugin_folders.py', 'test_cluster.py',
                 'test_metrics.py')


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept


@pytest.fixture
def measured_intervals(monkeypatch):
    """Every interval method counts as measured and accepted, so that a test sees the intervals a calibrated
    installation prints (which methods the calibration accepts is tested in test_inference and test_calibration)."""
    from nrp_plugin.app import contrasts
    monkeypatch.setattr(contrasts, 'assessment', lambda kind, method: (True, f'{method}: accepted for the test'))
