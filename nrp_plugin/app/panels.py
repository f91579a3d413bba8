"""The panels of a comparison: per benchmark family and region, every model's held-out predictions under every
mapping and measure, on one design, with their draws (:mod:`nrp_plugin.inference`).

A record keeps its held-out predictions in the result cache beside it (``heldout_path``,
:class:`nrp_plugin.app.result_cache.ResultCache`). The ``-pls`` record gives Brain-Score's standard, its ``-pls``
benchmark's PLS on the committed layer (named :data:`STANDARD_MAPPING` in a panel); the ``-nrp`` record every mapping
the NRP benchmark fitted (the NRP, the references, and with the factorial analysis every mapping on the committed
layer alone too, ``<mapping>_on_layer``). Each is
taken in both measures, ``'mae'`` and ``'r'``. A model whose held-out predictions are missing, or on other splits,
images or sites, is left out of its panel and named (``missing``).
"""
from dataclasses import dataclass, field

from ..inference import HeldOut, Item, Panel, draws_of
from ..inference.scores import MEASURES
from ..inference.splits import ordered_unique

__all__ = ['GroupPanel', 'STANDARD', 'STANDARD_MAPPING', 'group_panels']

#: A panel's name for the ``-pls`` benchmark's PLS (Brain-Score's standard, on the committed layer)
STANDARD_MAPPING = 'brainscore_pls'
#: Brain-Score's standard: its ``-pls`` benchmark's PLS, taken in Pearson r
STANDARD = (STANDARD_MAPPING, 'r')
#: How many draws each interval reads, and their seed
DRAWS = 1000
RANDOM_STATE = 0


@dataclass
class GroupPanel:
    """One family and region's panel and its draws.

    Attributes
    ----------
    family, region : str
    models : list of str
        The models in the panel, in the rows' order.
    items : dict of (model, mapping, measure) -> Item
    draws : Draws or None
        :func:`nrp_plugin.inference.draws_of` of the panel (None without any held-out predictions).
    missing : dict of str -> str
        Models left out, with why.
    """
    family: str
    region: str
    models: list = field(default_factory=list)
    items: dict = field(default_factory=dict)
    draws: object = None
    missing: dict = field(default_factory=dict)

    def item(self, model, mapping, measure):
        """The panel's item, or None when the model or the mapping is not in it."""
        return self.items.get((model, mapping, measure))


def _load(record):
    path = record.get('heldout_path')
    if not path:
        return None, 'no held-out predictions in its record (a metric that does not keep them, or an older record)'
    try:
        return HeldOut.load(path), None
    except (OSError, ValueError, KeyError) as error:
        return None, f'its held-out predictions could not be read ({type(error).__name__})'


def group_panels(records, draws=DRAWS, random_state=RANDOM_STATE):
    """Every (family, region)'s :class:`GroupPanel`, in the records' order.

    Parameters
    ----------
    records : list of dict
        Score records (:func:`nrp_plugin.app.compare.summarize` plus ``family``, ``model``, ``region``, ``kind`` and,
        from the result cache, ``heldout_path``).
    draws : int
        Resamples per factor.
    random_state : int
        Every family and region draws from it anew.

    Returns
    -------
    dict of (family, region) -> GroupPanel
    """
    out = {}
    for family, region in ordered_unique((r['family'], r['region']) for r in records):
        group = GroupPanel(family, region)
        heldouts, design = {}, None
        for model in ordered_unique(r['model'] for r in records if (r['family'], r['region']) == (family, region)):
            found = {}
            for record in records:
                if (record['family'], record['model'], record['region']) != (family, model, region):
                    continue
                held, why = _load(record)
                if held is None:
                    group.missing[model] = f"{record['kind']}: {why}"
                    break
                if design is None:
                    design = held
                if not design.same_design(held):
                    group.missing[model] = f"{record['kind']}: on other splits, test images or sites"
                    break
                found[record['kind']] = held
            else:
                if not found:
                    continue
                group.models.append(model)
                for kind, held in found.items():
                    for mapping in held.predictions:
                        name = STANDARD_MAPPING if kind == 'pls' else mapping
                        held_named = held if kind != 'pls' else HeldOut(
                            held.test_ids, held.neuroid_ids, held.targets, {name: held.predictions[mapping]},
                            held.n_stimuli, held.train_size)
                        for measure in MEASURES:
                            item = Item(model, name, measure)
                            group.items[(model, name, measure)] = item
                            heldouts[item] = held_named
        if heldouts:
            group.draws = draws_of(Panel(heldouts), draws, random_state)
        out[(family, region)] = group
    return out
