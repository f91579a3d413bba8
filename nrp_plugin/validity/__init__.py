"""The validity sweep: generated worlds with a known truth, and the NRP metric scored on them against
least squares, ridge and an off-the-shelf MLP (docs/validity.md, ``scripts/validity_report.py``).
"""
from .sweep import check_targets, run_world
from .worlds import CHEAP_WORLDS, TEST_SEEDS, VALIDATION_SEEDS, WORLDS, WorldSpec, generate, world_by_name

__all__ = ['CHEAP_WORLDS', 'TEST_SEEDS', 'VALIDATION_SEEDS', 'WORLDS', 'WorldSpec', 'check_targets', 'generate',
           'run_world', 'world_by_name']
