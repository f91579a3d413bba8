"""nrp_plugin: linear and nonlinear neural predictivity of vision models, inside Brain-Score.

The package is layered; each layer imports only those above it in this list:

- :mod:`nrp_plugin.core` -- the NRP network and estimator, input reduction, linear baseline, error
  measures, device choice (torch, numpy, scikit-learn; no Brain-Score);
- :mod:`nrp_plugin.pls` -- Brain-Score's PLS regression in kernel form, batched over splits;
- :mod:`nrp_plugin.storage` -- the cache folder, atomic writes, content hashes, checksummed weights files, the
  activation store;
- :mod:`nrp_plugin.registry` -- this package's models and what is known of each without building it;
- :mod:`nrp_plugin.search` -- the nested grid search over the NRP's configuration;
- :mod:`nrp_plugin.synthetic`, :mod:`nrp_plugin.architectures` -- the embedded world, the models;
- :mod:`nrp_plugin.brainscore` -- the metrics, benchmarks, layer choice, splits, ceilings and data access
  Brain-Score sees;
- :mod:`nrp_plugin.validity` -- the NRP and its references on generated worlds with a known truth;
- :mod:`nrp_plugin.app` -- the ``nrp-plugin`` command: comparison runs, result cache, statistics, tables, plots,
  installer.

``nrp_plugin.NRPRegressor`` is the NRP as a scikit-learn estimator (imported on first use, so that
``import nrp_plugin`` stays light).
"""
__version__ = '0.1.0'

__all__ = ['NRPRegressor', '__version__']


def __getattr__(name):
    if name == 'NRPRegressor':
        from .core.regressor import NRPRegressor
        return NRPRegressor
    raise AttributeError(f"module 'nrp_plugin' has no attribute {name!r}")
