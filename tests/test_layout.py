"""The package's layers: which subpackage may import which, and the numeric core without Brain-Score."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'nrp_plugin'

# subpackage -> the package's own subpackages it may import (itself always allowed); see docs/architecture.md
ALLOWED = {
    'core': set(),
    'pls': {'core'},
    'storage': set(),
    'search': {'core'},
    'validity': {'core', 'brainscore'},
    'synthetic': {'storage'},
    'architectures': {'core', 'storage'},
    'brainscore': {'core', 'pls', 'storage', 'search', 'synthetic', 'references'},
    'app': {'core', 'pls', 'storage', 'search', 'synthetic', 'architectures', 'brainscore', 'references',
            'validity', '__init__'},
}


def _own_imports(path, package=PACKAGE):
    """The top-level parts of ``nrp_plugin`` a module imports (relative and absolute), with line numbers."""
    subpackage = path.relative_to(package).parts[0]
    tree = ast.parse(path.read_text(encoding='utf-8'))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.split('.')[0] == 'nrp_plugin':
                    parts = node.module.split('.')[1:]
                    found.append((node.lineno, parts[0] if parts else '__init__', 'absolute'))
                continue
            depth = len(path.relative_to(package).parts) - 1  # folders below nrp_plugin/
            if node.level == 1 and depth == 1:
                found.append((node.lineno, subpackage, 'relative'))
            elif node.level == 2 and depth == 1:
                target = node.module.split('.')[0] if node.module else [alias.name for alias in node.names][0]
                if not node.module and node.names[0].name == '__version__':
                    target = '__init__'
                found.append((node.lineno, target, 'relative'))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] == 'nrp_plugin':
                    found.append((node.lineno, (alias.name.split('.') + ['__init__'])[1], 'absolute'))
    return found


@pytest.mark.parametrize('subpackage', sorted(ALLOWED))
def test_subpackage_imports_only_the_layers_above_it(subpackage):
    problems = []
    for path in sorted((PACKAGE / subpackage).rglob('*.py')):
        for line, target, style in _own_imports(path):
            if style == 'absolute':
                problems.append(f'{path.name}:{line} imports nrp_plugin absolutely (use a relative import)')
            elif target != subpackage and target not in ALLOWED[subpackage]:
                problems.append(f'{path.name}:{line} imports {target}')
    assert not problems, f'{subpackage}/ breaks the layering: ' + '; '.join(problems)


def test_layering_check_can_fail(tmp_path):
    """The AST reading above sees an upward import when there is one."""
    folder = tmp_path / 'nrp_plugin' / 'core'
    folder.mkdir(parents=True)
    module = folder / 'bad.py'
    module.write_text('from ..app import compare\nfrom . import network\n')
    found = [(target, style) for _, target, style in _own_imports(module, package=tmp_path / 'nrp_plugin')]
    assert found == [('app', 'relative'), ('core', 'relative')]


def test_numeric_layers_import_without_brainscore():
    """core, pls, storage and search work where Brain-Score is not installed."""
    code = ("import sys\n"
            "for name in ('brainscore_vision', 'brainscore_core'):\n"
            "    sys.modules[name] = None  # any import of them now fails\n"
            "import nrp_plugin.core, nrp_plugin.pls, nrp_plugin.storage, nrp_plugin.search\n"
            "from nrp_plugin import NRPRegressor\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == 'ok', result.stderr[-2000:]


def test_regressor_is_exported_at_the_top():
    import nrp_plugin
    from nrp_plugin.core.regressor import NRPRegressor
    assert nrp_plugin.NRPRegressor is NRPRegressor
    assert 'NRPRegressor' in nrp_plugin.__all__
