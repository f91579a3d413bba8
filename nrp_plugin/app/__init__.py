"""The ``nrp-plugin`` command and what only it needs: comparison runs over models and benchmarks, the
result cache, statistics, tables, plots and the interactive report, the activation memo, pre-flight checks, model
specs and the installer of the plugin folders.
"""
__all__ = ['activation_memo', 'checks', 'cli', 'compare', 'html_report', 'installer', 'memory_check', 'model_specs',
           'plots', 'report', 'result_cache', 'statistics', 'tables']
