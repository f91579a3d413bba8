"""nrp_plugin: linear and nonlinear neural predictivity of vision models, inside Brain-Score.

The library holds the NRP regressor (:class:`NRPRegressor`), the cross-validated metrics
(:mod:`nrp_plugin.metrics`), the synthetic benchmark world (:mod:`nrp_plugin.synthetic`) and the
tools that place this package's plugin folders into an installed ``brainscore_vision``
(:mod:`nrp_plugin.installer`).
"""
__version__ = '0.1.0'
