"""The ``nrp-plugin`` command and what only it needs: comparison runs over models and benchmarks, the
result cache, statistics, tables and plots, the activation memo, pre-flight checks, model specs and the installer
of the plugin folders.
"""
__all__ = ['activation_memo', 'checks', 'cli', 'compare', 'installer', 'memory_check', 'model_specs', 'plots',
           'report', 'result_cache', 'statistics', 'tables']
