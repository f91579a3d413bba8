"""`nrp-plugin install` places the plugin folders where Brain-Score finds them, and takes them out."""
import os
from pathlib import Path

import pytest

from nrp_plugin.app import installer


@pytest.fixture
def fake_tree(tmp_path):
    """A copy of the installed brainscore_vision layout with one foreign plugin per kind."""
    root = tmp_path / 'brainscore_vision'
    for kind, registry in installer.REGISTRY_NAMES.items():
        folder = root / kind / 'theirs'
        folder.mkdir(parents=True)
        (folder / '__init__.py').write_text(f"from brainscore_vision import {registry}\n"
                                            f"{registry}['their-id'] = lambda: None\n")
    return root


def test_install_is_idempotent_and_uninstall_removes_exactly_ours(fake_tree):
    placed = installer.install(fake_tree)
    expected = {f'{kind}/{name}' for kind, name in installer.plugin_sources()}
    assert set(placed) == expected
    for rel in placed:
        assert (fake_tree / rel / '__init__.py').is_file()
    before = sorted(str(p.relative_to(fake_tree)) for p in fake_tree.rglob('*'))
    assert installer.install(fake_tree) == placed
    after = sorted(str(p.relative_to(fake_tree)) for p in fake_tree.rglob('*'))
    assert before == after
    removed = installer.uninstall(fake_tree)
    assert set(removed) == expected
    remaining = sorted(str(p.relative_to(fake_tree)) for p in fake_tree.rglob('*'))
    assert all(item.split('/')[1] == 'theirs' for item in remaining if item.count('/') >= 1)
    assert all((fake_tree / kind / 'theirs' / '__init__.py').is_file() for kind in installer.PLUGIN_KINDS)


def test_a_second_install_leaves_current_copies_in_place_and_replaces_an_edited_one(fake_tree):
    placed = installer.install(fake_tree)
    inodes = {rel: (fake_tree / rel).stat().st_ino for rel in placed}
    edited = placed[0]
    (fake_tree / edited / '__init__.py').write_text('# edited\n')
    installer.install(fake_tree)
    assert {rel: (fake_tree / rel).stat().st_ino for rel in placed if rel != edited} == \
        {rel: inode for rel, inode in inodes.items() if rel != edited}
    assert (fake_tree / edited / '__init__.py').read_text() != '# edited\n'
    assert set(installer.installation_status(fake_tree).values()) == {'current'}


def test_install_refuses_an_unwritable_tree(fake_tree, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(installer.os, 'access',
                        lambda path, mode: False if Path(path).parent == fake_tree else real_access(path, mode))
    with pytest.raises(installer.InstallError, match=r"not writable.*virtual environment"):
        installer.install(fake_tree)
    assert not (fake_tree / installer.MANIFEST_NAME).exists()


def test_install_refuses_a_clashing_identifier(fake_tree):
    (kind, name), source = next(iter(installer.plugin_sources().items()))
    registry, identifier = installer.registrations(source / '__init__.py')[0]
    clash = fake_tree / kind / 'someone_else'
    clash.mkdir()
    (clash / '__init__.py').write_text(f"{registry}['{identifier}'] = None\n")
    with pytest.raises(installer.InstallError, match=rf"'{identifier}'.*someone_else"):
        installer.install(fake_tree)
    assert not any((fake_tree / rel).exists() for rel in [f'{k}/{n}' for k, n in installer.plugin_sources()])


def test_an_upgrade_that_renames_a_folder_replaces_the_old_one(fake_tree):
    """A folder an earlier version placed (in the manifest) and no longer shipped is removed, even when it registers
    an identifier a current folder registers too."""
    installer.install(fake_tree)
    (kind, name), source = next(iter(installer.plugin_sources().items()))
    old = fake_tree / kind / f'{name}_old'
    (fake_tree / kind / name).rename(old)
    manifest = installer._read_manifest(fake_tree)
    manifest['folders'] = sorted(set(manifest['folders']) - {f'{kind}/{name}'} | {f'{kind}/{name}_old'})
    installer._write_manifest(fake_tree, manifest)
    installer.install(fake_tree)
    assert not old.exists() and (fake_tree / kind / name / '__init__.py').is_file()
    assert set(installer.installation_status(fake_tree).values()) == {'current'}


def test_install_refuses_to_overwrite_a_foreign_folder(fake_tree):
    (kind, name), _ = next(iter(installer.plugin_sources().items()))
    (fake_tree / kind / name).mkdir()
    with pytest.raises(installer.InstallError, match=r"was not placed by nrp_plugin"):
        installer.install(fake_tree)


def test_plugin_folders_are_clean_and_register_once():
    seen = {}
    for (kind, name), folder in installer.plugin_sources().items():
        # what Brain-Score's runner installs into the folder's fresh environment: this package, pinned
        from nrp_plugin import __version__
        requirements = (folder / 'requirements.txt').read_text().split()
        assert requirements == [f'nrp_plugin=={__version__}'], folder
        assert not (folder / 'setup.py').exists() and not (folder / 'environment.yml').exists(), folder
        found = installer.registrations(folder / '__init__.py')
        assert found, f'{folder} registers nothing'
        text = (folder / '__init__.py').read_text()
        for registry, identifier in found:
            assert registry in installer.ALLOWED_REGISTRIES[kind]
            # Brain-Score's loader needs exactly one line naming the identifier
            assert sum(f"{registry}['{identifier}']" in line.replace('"', "'") for line in text.splitlines()) == 1
            assert (registry, identifier) not in seen, identifier
            seen[(registry, identifier)] = folder


def test_no_identifier_collides_with_the_installed_tree():
    assert installer.check_collisions() == []


def test_brainscore_loads_our_metrics(installed_plugins):
    import brainscore_vision
    from nrp_plugin.brainscore.nrp_metric import LeastSquaresErrorMetric, NRPErrorMetric
    assert isinstance(brainscore_vision.load_metric('nrp'), NRPErrorMetric)
    assert isinstance(brainscore_vision.load_metric('nrp_linear'), LeastSquaresErrorMetric)


def test_cli_install_and_uninstall_round_trip(fake_tree, monkeypatch, capsys):
    from nrp_plugin.app import cli
    monkeypatch.setattr(installer, 'brainscore_root', lambda: fake_tree)
    assert cli.main(['install']) == 0
    assert 'placed' in capsys.readouterr().out
    assert (fake_tree / installer.MANIFEST_NAME).exists()
    assert cli.main(['uninstall']) == 0
    assert not (fake_tree / installer.MANIFEST_NAME).exists()
