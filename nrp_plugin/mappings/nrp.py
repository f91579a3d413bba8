"""The neural response predictor (NRP): the package's nonlinear mapping."""
from collections import Counter
from dataclasses import replace

import numpy as np

from ..core import network
from ..core.crossval import fit_nrp
from ..core.device import resolve_device
from ..search import SearchGrid, nested_search
from ..search.nested import choice_key, configuration
from .base import Mapping, MappingFit


class NRP(Mapping):
    """The NRP (Anand, Sen & Roy 2021, as this package builds it): NRP-L1 locally dense per layer, NRP-L2 dense,
    a linear output per site, trained with Adam on the MSE with early stopping on a validation part of each split's
    training stimuli, all splits as one batched program (:func:`nrp_plugin.core.crossval.fit_nrp`), or with its
    configuration chosen per split by a nested grid search (:func:`nrp_plugin.search.nested_search`).

    Parameters
    ----------
    config : NRPConfig
    random_state : int
        Seeds every split's network.
    device : {'auto', 'cpu', 'cuda'} or torch.device
    search : SearchGrid, dict, path or True, optional
    progress : callable, optional
    """
    name = 'nrp'
    title = 'NRP'
    linear = False
    reads = 'inputs'
    description = "the NRP's test predictions (NRP-error: their MAE)"

    def __init__(self, config=None, random_state=0, device='auto', search=None, progress=None):
        self.config = config if isinstance(config, network.NRPConfig) else network.NRPConfig(**(config or {}))
        self.random_state = int(random_state)
        self.device = device
        self.search = search
        self.progress = progress

    def options(self):
        return {'config': self.config.to_dict(), 'random_state': self.random_state,
                'search': None if self.search is None else SearchGrid.coerce(self.search).to_dict()}

    def fit(self, data):
        device = resolve_device(self.device)
        if self.search is not None:
            grid = SearchGrid.coerce(self.search)
            if data.layer_choice is not None and grid.layer_subsets is None:  # the search chooses among the windows
                grid = replace(grid, layer_subsets=tuple(dict.fromkeys(
                    tuple(window) for window in data.layer_choice[0]['windows'].values())))
            prediction, choices, table, best_epoch = nested_search(data, grid, self.config, self.random_state, device)
            splits = [dict(best_epoch=int(epoch), search_choice=choice) for epoch, choice in zip(best_epoch, choices)]
            return MappingFit(prediction, splits, dict(search_table=table, search_grid=grid.to_dict()))
        prediction, info = fit_nrp(data, self.config, self.random_state, device, progress=self.progress)
        splits = [{'best_epoch': int(epoch)} for epoch in info['best_epoch']]
        start = info.get('linear_start')
        for split, entry in enumerate(splits):
            if start is not None:  # which ridge the split's linear path started from (core/linear_start.py)
                entry.update(linear_start_every_component=bool(start['every'][split, 0]),
                             linear_start_banded=bool(start['banded'][split, 0]),
                             linear_start_validation_mse=np.asarray(start['validation_mse'][split]).tolist())
            if 'mix' in info:  # the validated combination with the paper's network (core/combination.py)
                entry.update(linear_path_weight=float(info['mix'][split, 0]),
                             paper_best_epoch=int(info['paper_best_epoch'][split]))
        return MappingFit(prediction, splits)

    def figures(self, fit):
        out = {'config': self.config.to_dict(), 'random_state': self.random_state,
               'best_epoch': [split['best_epoch'] for split in fit.splits]}
        for name in ('linear_start_every_component', 'linear_start_banded', 'linear_start_validation_mse',
                     'linear_path_weight', 'paper_best_epoch'):
            if fit.splits and name in fit.splits[0]:
                out[name] = [split[name] for split in fit.splits]
        if 'search_table' in fit.extra:  # the configuration most splits chose, and each split's
            choices = [split['search_choice'] for split in fit.splits]
            modal = Counter(choice_key(choice) for choice in choices).most_common(1)[0][0]
            out.update(config=configuration(self.config, *modal[1:]).to_dict(), layers=list(modal[0]),
                       search_choices=choices, search_table=fit.extra['search_table'],
                       search_grid=fit.extra['search_grid'],
                       search_config_per_split=[configuration(self.config, c['l1_size'], c['l2_size'],
                                                              c['learning_rate']).to_dict() for c in choices])
        return out
