"""The ``nrp-plugin`` command and what only it needs: comparison runs over models and benchmarks, the
result cache, tables and plots, the activation memo, and the installer of the plugin folders.
"""
__all__ = ['activation_memo', 'checks', 'cli', 'compare', 'installer', 'report', 'result_cache']
