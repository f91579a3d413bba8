"""The package's layers: which subpackage may import which, where Brain-Score may be imported, and the numeric
core without Brain-Score."""
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
    'mappings': {'core', 'pls', 'search'},
    'inference': set(),
    'validity': {'core', 'storage', 'brainscore', 'mappings', 'inference', 'synthetic'},
    'synthetic': {'storage'},
    'architectures': {'core', 'storage', 'registry'},
    'brainscore': {'core', 'pls', 'storage', 'search', 'mappings', 'inference', 'synthetic', 'references', 'registry'},
    'app': {'core', 'pls', 'storage', 'search', 'mappings', 'inference', 'synthetic', 'architectures', 'brainscore',
            'references', 'registry', 'validity', '__init__'},
}

# Brain-Score's packages, and the only subpackages that may import them (the plugin folders lie outside the package)
BRAINSCORE_PACKAGES = ('brainscore_vision', 'brainscore_core')
BRAINSCORE_LAYERS = ('brainscore', 'app')


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


def _brainscore_imports(path):
    """Every import of Brain-Score's packages in a module, at module level, in a function or in a class
    (also ``importlib.import_module`` and ``__import__`` of a literal name), as ``(line, module)`` pairs."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module] if node.level == 0 and node.module else []
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) \
                and getattr(node.func, 'attr', getattr(node.func, 'id', None)) in ('import_module', '__import__'):
            names = [node.args[0].value]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split('.')[0] in BRAINSCORE_PACKAGES]
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


def _brainscore_outside_its_layers(package=PACKAGE):
    """Brain-Score imports in modules of ``package`` outside brainscore/ and app/, as readable lines."""
    problems = []
    for path in sorted(package.rglob('*.py')):
        parts = path.relative_to(package).parts
        if len(parts) > 1 and parts[0] in BRAINSCORE_LAYERS:
            continue
        problems += [f'{path.relative_to(package)}:{line} imports {name}' for line, name in _brainscore_imports(path)]
    return problems


def test_only_the_brainscore_and_app_layers_import_brainscore():
    """Brain-Score objects are built in brainscore/ (and used by app/); every other module is free of it."""
    problems = _brainscore_outside_its_layers()
    assert not problems, 'Brain-Score imported outside brainscore/ and app/: ' + '; '.join(problems)


def test_brainscore_import_check_can_fail(tmp_path):
    """The check above sees Brain-Score imports at module level, in functions, in methods and by name, and
    only outside brainscore/ and app/."""
    package = tmp_path / 'nrp_plugin'
    for folder in ('synthetic', 'brainscore', 'app'):
        (package / folder).mkdir(parents=True)
    (package / 'synthetic' / 'bad.py').write_text(
        'import os\n'
        'from brainscore_core.metrics import Score\n'
        'def f():\n'
        '    import brainscore_vision.model_helpers as helpers\n'
        'class C:\n'
        '    def g(self):\n'
        '        from brainscore_vision import load_model\n'
        '        return importlib.import_module("brainscore_core.metrics")\n'
        'from ..brainscore import nrp_metric\n')
    (package / 'references.py').write_text('def f():\n    import brainscore_core\n')
    for folder in ('brainscore', 'app'):
        (package / folder / 'fine.py').write_text('from brainscore_vision import load_model\n')
    assert _brainscore_outside_its_layers(package) == [
        'references.py:2 imports brainscore_core',
        'synthetic/bad.py:2 imports brainscore_core.metrics', 'synthetic/bad.py:4 imports brainscore_vision.model_helpers',
        'synthetic/bad.py:7 imports brainscore_vision', 'synthetic/bad.py:8 imports brainscore_core.metrics']


def test_numeric_layers_import_without_brainscore():
    """core, pls, storage, search, mappings, inference and synthetic work where Brain-Score is not installed."""
    code = ("import sys\n"
            "for name in ('brainscore_vision', 'brainscore_core'):\n"
            "    sys.modules[name] = None  # any import of them now fails\n"
            "import nrp_plugin.core, nrp_plugin.pls, nrp_plugin.storage, nrp_plugin.search, nrp_plugin.mappings\n"
            "import nrp_plugin.inference\n"
            "import nrp_plugin.synthetic.generate, nrp_plugin.synthetic.store\n"
            "from nrp_plugin import NRPRegressor\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == 'ok', result.stderr[-2000:]


def test_regressor_is_exported_at_the_top():
    import nrp_plugin
    from nrp_plugin.core.regressor import NRPRegressor
    assert nrp_plugin.NRPRegressor is NRPRegressor
    assert 'NRPRegressor' in nrp_plugin.__all__
