"""Nested grid search over the NRP's input layers, NRP-L1/L2 sizes and learning rate.

Configurations are chosen per outer split on that split's training stimuli only; reports show the
validation table and the L1 x L2 heat-map. Depends on :mod:`nrp_plugin.core` only.
"""
from .grid import SearchGrid
from .nested import configuration, nested_search, select_configurations
from .summary import depth_comparison, l1_l2_matrix, plot_heatmap, write_search_summary

__all__ = ['SearchGrid', 'configuration', 'nested_search', 'select_configurations', 'depth_comparison',
           'l1_l2_matrix', 'plot_heatmap', 'write_search_summary']
