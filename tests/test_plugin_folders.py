"""The plugin folders as Brain-Score checks them: test files, requirements, the submission zip,
installation status and linked installs, and every folder's own test.py run from the installed tree."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from nrp_plugin import __version__
from nrp_plugin.app import cli, installer

EXPECTED_FOLDERS = {'metrics/nrp', 'metrics/nrp_least_squares', 'metrics/nrp_pls_torch', 'metrics/nrp_ridge',
                    'metrics/nrp_banded_ridge', 'metrics/nrp_kernel_ridge',
                    'benchmarks/nrp_majajhong2015', 'benchmarks/nrp_synthetic_majajhong2015', 'models/nrp_cornet_s',
                    'models/nrp_resnet50_pruned', 'models/nrp_synthetic_teacher', 'data/nrp_synthetic_majajhong2015'}


@pytest.fixture
def fake_tree(tmp_path):
    root = tmp_path / 'brainscore_vision'
    for kind in installer.PLUGIN_KINDS:
        (root / kind).mkdir(parents=True)
    return root


def test_every_folder_passes_brainscores_plugin_validation(monkeypatch):
    """brainscore_core's PluginTestRunner.validate_plugin: a test*.py file; a valid environment.yml if any."""
    if 'pytest_check' not in sys.modules:  # imported by the runner module for its test runs only
        monkeypatch.setitem(sys.modules, 'pytest_check', SimpleNamespace())
    from brainscore_core.plugin_management.test_plugins import PluginTestRunner, RECOGNIZED_TEST_FILES
    sources = installer.plugin_sources()
    assert {f'{kind}/{name}' for kind, name in sources} == EXPECTED_FOLDERS
    for (kind, name), folder in sources.items():
        stand_in = SimpleNamespace(plugin_directory=Path(folder))
        PluginTestRunner._validate_test_files(stand_in)  # raises AssertionError without a test file
        PluginTestRunner._validate_environment_yml(stand_in)
        assert (folder / 'test.py').is_file() and re.match(RECOGNIZED_TEST_FILES, 'test.py')


def test_requirements_pin_the_shipping_version():
    """Each folder needs this package at the version that ships it; setup.py states the same version."""
    setup = (Path(__file__).resolve().parents[1] / 'setup.py').read_text()
    assert re.search(r"version='([^']+)'", setup).group(1) == __version__
    for (kind, name), folder in installer.plugin_sources().items():
        lines = [line.strip() for line in (folder / 'requirements.txt').read_text().splitlines() if line.strip()]
        assert lines == [f'nrp_plugin=={__version__}'], f'{kind}/{name}'


def _web_layout_problems(path):
    """The checks of Brain-Score's website (brain-score.web ``validate_zip``), written out: one top-level
    folder; plugin kinds at depth 2 (directory entries); each plugin folder with __init__.py and test.py."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    problems = []
    tops = {name.split('/')[0] for name in names}
    if len(tops) != 1 or names[0] != f'{next(iter(tops))}/':
        problems.append(f'not one top-level folder: {sorted(tops)}')
    kinds = {name.split('/')[1] for name in names if name.endswith('/') and name.count('/') == 2}
    if not kinds or not kinds <= set(installer.PLUGIN_KINDS):
        problems.append(f'kinds {sorted(kinds)}')
    instances = [name for name in names if name.endswith('/') and name.count('/') == 3]
    for instance in instances:
        files = {name.split('/')[-1] for name in names if name.startswith(instance) and name.count('/') == 3
                 and not name.endswith('/')}
        if not {'__init__.py', 'test.py', 'requirements.txt'} <= files:
            problems.append(f'{instance} has only {sorted(files)}')
    return problems, names, instances


def test_pack_writes_the_submission_layout(tmp_path, capsys):
    out = tmp_path / 'submission.zip'
    assert cli.main(['pack', '--out', str(out)]) == 0
    problems, names, instances = _web_layout_problems(out)
    assert problems == []
    assert {'/'.join(instance.split('/')[1:3]) for instance in instances} == EXPECTED_FOLDERS
    assert all(name.startswith('submission/') for name in names)
    assert not any('__pycache__' in name or name.endswith('.pyc') or installer.MARKER_NAME in name for name in names)
    with zipfile.ZipFile(out) as archive:  # the files are the repository's, byte for byte
        for (kind, name), folder in installer.plugin_sources().items():
            assert archive.read(f'submission/{kind}/{name}/test.py') == (folder / 'test.py').read_bytes()
    first = out.read_bytes()
    assert cli.main(['pack', '--out', str(out)]) == 0
    assert out.read_bytes() == first  # deterministic
    assert f'{len(EXPECTED_FOLDERS)} plugin folders' in capsys.readouterr().out


def test_pack_refuses_a_folder_without_its_test_and_leaves_no_zip(tmp_path, capsys):
    folder = tmp_path / 'models' / 'incomplete'
    folder.mkdir(parents=True)
    (folder / '__init__.py').write_text('')
    with pytest.raises(installer.InstallError, match=r'models/incomplete/test.py'):
        installer.pack(tmp_path / 'out.zip', sources={('models', 'incomplete'): folder})
    assert not any(tmp_path.glob('*.zip*')) and not any(tmp_path.glob('.out.zip*'))
    assert cli.main(['pack', '--out', str(tmp_path / 'submission.tar')]) == 2
    assert '.zip' in capsys.readouterr().err


def test_status_detects_missing_and_outdated_folders(fake_tree):
    installer.install(fake_tree, link=False)
    assert set(installer.installation_status(fake_tree).values()) == {'current'}
    # a brainscore-vision reinstall that dropped a folder; an nrp_plugin update not re-installed
    import shutil
    shutil.rmtree(fake_tree / 'metrics' / 'nrp')
    with open(fake_tree / 'models' / 'nrp_cornet_s' / 'model.py', 'a') as handle:
        handle.write('# edited\n')
    status = installer.installation_status(fake_tree)
    assert status['metrics/nrp'] == 'missing' and status['models/nrp_cornet_s'] == 'outdated'
    assert sum(state == 'current' for state in status.values()) == len(EXPECTED_FOLDERS) - 2
    problem = installer.status_problem(status)
    assert 'missing: metrics/nrp' in problem and 'outdated: models/nrp_cornet_s' in problem
    assert 'nrp-plugin install' in problem and '\n' not in problem
    installer.install(fake_tree)  # re-running restores both
    assert set(installer.installation_status(fake_tree).values()) == {'current'}
    manifest = installer._read_manifest(fake_tree)
    assert manifest['nrp_plugin'] == __version__ and manifest['mode'] == 'copy'
    assert manifest['hashes']['metrics/nrp'] == installer.folder_hash(installer.plugin_sources()['metrics', 'nrp'])


def test_cli_status_exit_code(fake_tree, monkeypatch, capsys):
    monkeypatch.setattr(installer, 'brainscore_root', lambda: fake_tree)
    assert cli.main(['status']) == 1
    assert 'missing' in capsys.readouterr().err
    assert cli.main(['install']) == 0
    assert cli.main(['status']) == 0


@pytest.mark.parametrize('command', [['score', 'no_such_model', 'SyntheticMajajHong2015.IT-nrp'],
                                     ['compare', '--models', 'no_such_model', '--out', 'unused']])
def test_score_and_compare_warn_about_a_stale_installation(fake_tree, monkeypatch, capsys, command):
    monkeypatch.setattr(installer, 'brainscore_root', lambda: fake_tree)  # nothing installed there: all missing
    cli.main(command)  # refused afterwards for the unknown model; the warning comes first
    err = capsys.readouterr().err
    assert err.startswith('warning: ') and 'missing' in err and 'nrp-plugin install' in err


def test_linked_install_is_live_and_uninstall_keeps_the_sources(fake_tree, tmp_path, monkeypatch):
    import shutil
    checkout = tmp_path / 'checkout'
    sources = {}
    for (kind, name), folder in installer.plugin_sources().items():
        shutil.copytree(folder, checkout / kind / name, ignore=shutil.ignore_patterns('__pycache__'))
        sources[(kind, name)] = checkout / kind / name
    monkeypatch.setattr(installer, 'plugin_sources', lambda: sources)
    placed = installer.install(fake_tree, link=True)
    assert set(placed) == EXPECTED_FOLDERS
    linked = fake_tree / 'metrics' / 'nrp'
    assert linked.is_symlink() and (linked / 'test.py').is_file()
    (checkout / 'metrics' / 'nrp' / 'metric.py').write_text('# edited in the checkout\n')
    assert (linked / 'metric.py').read_text() == '# edited in the checkout\n'  # live, no re-install
    assert set(installer.installation_status(fake_tree).values()) == {'linked'}
    assert installer.install(fake_tree) == placed and linked.is_symlink()  # the mode is kept
    installer.install(fake_tree, link=False)  # back to copies
    assert not linked.is_symlink() and (linked / installer.MARKER_NAME).is_file()
    assert set(installer.installation_status(fake_tree).values()) == {'current'}
    installer.install(fake_tree, link=True)
    assert set(installer.uninstall(fake_tree)) == EXPECTED_FOLDERS
    assert not linked.exists() and not linked.is_symlink()
    assert (checkout / 'metrics' / 'nrp' / 'test.py').is_file()  # the link's target is untouched


@pytest.mark.slow
def test_installed_plugin_tests_pass(installed_plugins, tmp_path):
    """Each folder's own test.py, run by pytest from the installed brainscore_vision tree (as
    Brain-Score's runner does, without its per-plugin environments): a few minutes."""
    root = installer.brainscore_root()
    files = [root / rel / 'test.py' for rel in sorted(EXPECTED_FOLDERS)]
    assert all(path.is_file() for path in files)
    report = tmp_path / 'plugins.xml'
    env = dict(os.environ, BS_INSTALL_DEPENDENCIES='no', RESULTCACHING_DISABLE='1')
    completed = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-m', 'not slow',
                                f'--junitxml={report}', *map(str, files)],
                               capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1200)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    cases = ElementTree.parse(report).getroot().iter('testcase')
    passed = {}
    for case in cases:
        if case.find('failure') is None and case.find('error') is None and case.find('skipped') is None:
            folder = '/'.join(case.get('classname').split('.')[-3:-1])
            passed[folder] = passed.get(folder, 0) + 1
    assert set(passed) == EXPECTED_FOLDERS, passed
