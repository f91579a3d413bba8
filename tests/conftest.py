"""Test session set-up: an isolated cache, no pip installs at plugin load, plugins placed once."""
import os

import pytest

os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
os.environ.setdefault('RESULTCACHING_DISABLE', '1')


@pytest.fixture(scope='session', autouse=True)
def nrp_home(tmp_path_factory):
    """Point nrp_plugin's cache at a per-session directory unless the caller chose one."""
    if not os.environ.get('NRP_PLUGIN_TEST_KEEP_HOME'):
        os.environ['NRP_PLUGIN_HOME'] = str(tmp_path_factory.mktemp('nrp_home'))
    return os.environ.get('NRP_PLUGIN_HOME')


@pytest.fixture(scope='session')
def installed_plugins():
    """Place this repository's plugin folders into the installed brainscore_vision tree."""
    from nrp_plugin.app.installer import install
    return install()
