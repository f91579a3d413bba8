"""Inference on what a comparison concludes: held-out predictions kept per split, image and site
(:class:`HeldOut`), scores recomputed under resamples of the images and the sites (:mod:`.scores`, :class:`Panel`),
and intervals for a score, a difference of two mappings, a rank correlation across models and a difference of two
rank correlations (:mod:`.intervals`), printed only with their coverage measured on worlds with a known answer
(:mod:`.coverage`). Pure numpy and scipy; no Brain-Score.
"""
from .heldout import HeldOut, combine_splits
from .intervals import METHODS, Quantity, draws_of, interval, rank_correlation
from .panel import Item, Panel
from .scores import MEASURES, score

__all__ = ['HeldOut', 'Item', 'MEASURES', 'METHODS', 'Panel', 'Quantity', 'combine_splits', 'draws_of', 'interval',
           'rank_correlation', 'score']
