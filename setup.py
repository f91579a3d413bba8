"""Install nrp_plugin: the library, its console command and its Brain-Score plugin folders."""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PLUGIN_KINDS = ('benchmarks', 'data', 'metrics', 'models')


class BuildWithPlugins(build_py):
    """Ship the repository's plugin folders inside the wheel as ``nrp_plugin/_plugins/<kind>/<name>``."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / 'nrp_plugin' / '_plugins'
        for kind in PLUGIN_KINDS:
            source = HERE / kind
            if source.is_dir():
                shutil.copytree(source, target / kind, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='nrp_plugin',
    version='0.1.0',
    description='Linear (PLS) and nonlinear (NRP-error) neural predictivity of vision models in Brain-Score',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8') if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.11',
    packages=find_packages(include=['nrp_plugin', 'nrp_plugin.*']),
    install_requires=[
        'brainscore-vision>=2.4,<2.5',
        'torch>=2.6',
        'torchvision>=0.21',
        'numpy<2',
        'xarray',
        'scikit-learn',
        'scipy',
        'pandas',
        'matplotlib',
        'tqdm',
        'pillow',
        'himalaya>=0.4.6',
        'distributed',
        'plotly',
    ],
    # the test extra holds what the whole suite runs: Chromium's driver for the report, dask-jobqueue for SLURM
    extras_require={'test': ['pytest>=7', 'pytest-xdist>=3', 'playwright', 'dask-jobqueue'],
                    'cluster': ['dask-jobqueue']},
    package_data={'nrp_plugin.app': ['report_assets/*'], 'nrp_plugin.inference': ['measured_coverage.json']},
    entry_points={'console_scripts': ['nrp-plugin=nrp_plugin.app.cli:main']},
    cmdclass={'build_py': BuildWithPlugins},
)
