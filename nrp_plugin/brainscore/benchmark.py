"""NRP benchmarks: a model's NRP-error on a region, ceiled into a higher-is-better score.

The benchmark records the model on the target's stimuli (placed on screen at the benchmark's
visual degrees, as Brain-Score's ``NeuralBenchmark`` does), feeds the activations of the candidate
layers (:mod:`nrp_plugin.brainscore.layer_choice`) to :class:`nrp_plugin.brainscore.nrp_metric.NRPErrorMetric`, and ceils the
NRP-error with the noise floor (:mod:`nrp_plugin.brainscore.ceiling`)::

    score = clip((MAE_mean - NRP_error) / (MAE_mean - floor), 0, 1)

where ``MAE_mean`` is the MAE of predicting each site's training mean (same splits) and ``floor``
the MAE a perfect predictor would make given the trial noise. 0: no better than the mean; 1: at
the noise floor.
"""
import contextlib

import numpy as np
from brainscore_core.metrics import Score
from brainscore_vision.benchmark_helpers.neural_common import NeuralBenchmark, timebins_from_assembly
from brainscore_vision.benchmark_helpers.screen import place_on_screen
from brainscore_vision.benchmarks import BenchmarkBase

from . import layer_choice
from .ceiling import ceiled_nrp_score, noise_floor
from .nrp_metric import NRPErrorMetric


# The leaderboard parent of every benchmark this package registers: none. Brain-Score's leaderboard
# storage (brainscore_core.submission.database.benchmarkinstance_from_benchmark) hangs a new benchmark
# under the BenchmarkType its ``parent`` names, and the website averages a parent's children into its
# column; 'V4' or 'IT' would average NRP scores into Brain-Score's V4/IT columns next to the PLS
# benchmarks they re-measure, counting the same recordings twice. Brain-Score registers such
# comparison-only benchmarks unparented (in-tree Li2026's PLS variants: "runnable for MajajHong
# comparability, but out of the scored tree"); with ``parent=None`` a score is still stored, under no
# column. The synthetic benchmarks are not brain data at all and are unparented too.
LEADERBOARD_PARENT = None


def _squeeze_time(assembly):
    if 'time_bin' in assembly.dims and assembly.sizes['time_bin'] == 1:
        assembly = assembly.squeeze('time_bin')
    return assembly


class SelectionSet:
    """Choose an uncommitted layer model's layer on a set of images disjoint from the scored ones.

    Parameters
    ----------
    loader : callable
        Returns ``(stimulus_set, averaged assembly)`` (both regions) of the selection images; called once, on the
        first uncommitted model.
    name : str
        What the images are, for the record (e.g. ``'MajajHong2015 public images'``); also keys the choice on the
        model (:func:`nrp_plugin.brainscore.layer_choice.select_on`).
    """

    def __init__(self, loader, name):
        self._loader = loader
        self.name = name
        self._value = None

    def settle(self, candidate, region, visual_degrees):
        """How the candidate's layer for ``region`` is chosen: its own region-layer map, or this set (choosing it
        now if needed). None for a model that is no layer model."""
        if not layer_choice.is_layer_model(candidate):
            return None
        if layer_choice.is_committed(candidate, region):
            return dict(method='region-layer map', layer=str(layer_choice.committed_layer(candidate, region)))
        if self._value is None:
            self._value = self._loader()
        stimuli, assembly = self._value
        selection = layer_choice.select_on(candidate, region, stimuli, assembly, visual_degrees, self.name)
        return dict(method='selection set', images=self.name, **selection)

    def nested(self, candidate, region):
        return False


class InEachSplit:
    """Choose an uncommitted layer model's layer inside each split, on its training stimuli only
    (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`): where no disjoint image set has responses."""
    name = None

    def settle(self, candidate, region, visual_degrees):
        if not layer_choice.is_layer_model(candidate):
            return None
        if layer_choice.is_committed(candidate, region):
            return dict(method='region-layer map', layer=str(layer_choice.committed_layer(candidate, region)))
        return dict(method='inside each split')

    def nested(self, candidate, region):
        return layer_choice.is_layer_model(candidate) and not layer_choice.is_committed(candidate, region)


def _applied(candidate, region, record):
    """A context in which a layer chosen on a selection set is the model's layer for ``region``."""
    if record is not None and record.get('method') == 'selection set':
        return layer_choice.committed(candidate, region, record['layer'])
    return contextlib.nullcontext()


def _layer_record(record, score):
    """The record of a nested choice completed with each split's choice from the Score (``layer_choice`` attr)."""
    if record is None or record.get('method') != 'inside each split':
        return record
    splits = score.attrs.get('layer_choice') or []
    return dict(record, split_layer=[choice['layer'] for choice in splits],
                split_layers=[choice['layers'] for choice in splits],
                split_scores=[choice['scores'] for choice in splits])


def _record_all_candidates(benchmark, candidate):
    """Every candidate layer of a layer model on the benchmark's stimuli (placed on screen as Brain-Score does)."""
    stimuli = place_on_screen(benchmark._assembly.stimulus_set, target_visual_degrees=candidate.visual_degrees(),
                              source_visual_degrees=benchmark._visual_degrees)
    return layer_choice.record_candidates(candidate, stimuli, [str(layer) for layer in candidate.layers])


class _CeilingOnce:
    """Compute a benchmark's ceiling once per benchmark object. Brain-Score caches ceilings on disk
    by benchmark identifier only, which would outlive a regenerated world or a replaced data file."""

    @property
    def ceiling(self):
        if getattr(self, '_ceiling_value', None) is None:
            self._ceiling_value = self._ceiling_func()
        return self._ceiling_value


class NRPBenchmark(_CeilingOnce, BenchmarkBase):
    """NRP-error of a model on one region, as a Brain-Score benchmark.

    Parameters
    ----------
    identifier : str
    assembly : NeuroidAssembly
        Repetition-averaged responses of one region (presentation x neuroid), with ``stimulus_set``.
    assembly_repetition : NeuroidAssembly
        The same responses before averaging (for the noise floor).
    visual_degrees, number_of_trials : as Brain-Score's MajajHong2015 benchmarks
    parent : str, optional
        Leaderboard parent; :data:`LEADERBOARD_PARENT` (none) by default, see there.
    metric : NRPErrorMetric, optional
    layer_choice : SelectionSet or InEachSplit, optional
        How an uncommitted layer model's layers are chosen, never on the scored stimuli: committed on a
        :class:`SelectionSet`, or chosen inside each split (:class:`InEachSplit`, the default). The choice is
        recorded in the Score's ``layer_choice`` attr.
    """

    def __init__(self, identifier, assembly, assembly_repetition, visual_degrees, number_of_trials,
                 metric=None, layer_choice=None, version=1, parent=LEADERBOARD_PARENT, bibtex=None):
        self._assembly = _squeeze_time(assembly)
        region = np.unique(self._assembly['region'].values)
        if len(region) != 1:
            raise ValueError(f"An NRP benchmark scores one region; the assembly has {list(region)}.")
        self.region = str(region[0])
        self._assembly_repetition = assembly_repetition
        self._visual_degrees = visual_degrees
        self._number_of_trials = number_of_trials
        self._metric = metric or NRPErrorMetric()
        self._layer_choice = layer_choice or InEachSplit()
        self.timebins = timebins_from_assembly(assembly)
        super().__init__(identifier=identifier, version=version, parent=parent, bibtex=bibtex,
                         ceiling_func=lambda: noise_floor(self._assembly_repetition))

    @property
    def metric(self):
        """The :class:`NRPErrorMetric` this benchmark scores with."""
        return self._metric

    @metric.setter
    def metric(self, metric):
        self._metric = metric

    def record(self, candidate):
        """The model's activations on the benchmark's stimuli: NRP-L1 groups on the ``layer`` coordinate.

        Returns
        -------
        activations : NeuroidAssembly
        layers : list of str
            The layers recorded.
        """
        stimuli = place_on_screen(self._assembly.stimulus_set, target_visual_degrees=candidate.visual_degrees(),
                                  source_visual_degrees=self._visual_degrees)
        chosen = layer_choice.nrp_layers(candidate, self.region)
        if chosen is not None and hasattr(candidate, 'activations_model'):
            return candidate.activations_model(stimuli, layers=chosen), chosen
        candidate.start_recording(self.region, time_bins=self.timebins)
        activations = _squeeze_time(candidate.look_at(stimuli, number_of_trials=self._number_of_trials))
        try:
            recorded = sorted(set(np.asarray(activations['layer'].values).tolist()))
        except KeyError:
            recorded = []
        return activations, recorded

    def __call__(self, candidate):
        record = self._layer_choice.settle(candidate, self.region, self._visual_degrees)
        if self._layer_choice.nested(candidate, self.region):
            source = _record_all_candidates(self, candidate)
            raw = self._metric(source, self._assembly, windows=layer_choice.windows(candidate))
            recorded_layers = raw.attrs['layers']
        else:
            with _applied(candidate, self.region, record):
                source, recorded_layers = self.record(candidate)
            committed = (record or {}).get('layer')
            if getattr(self._metric, 'layer_inputs', False) and committed is not None \
                    and str(committed) in map(str, recorded_layers):
                raw = self._metric(source, self._assembly, layer=committed)  # also fitted on that layer alone
            else:
                raw = self._metric(source, self._assembly)
        floor = self.ceiling
        value, unclipped = ceiled_nrp_score(float(raw), raw.attrs['mean_predictor_mae'], float(floor))
        span = raw.attrs['mean_predictor_mae'] - float(floor)
        score = Score(value)
        score.attrs['error'] = raw.attrs['error'] / span
        score.attrs['unclipped'] = unclipped
        score.attrs['nrp_error'] = float(raw)
        score.attrs['nrp_error_sem'] = raw.attrs['error']
        score.attrs['ceiling'] = floor
        score.attrs[Score.RAW_VALUES_KEY] = raw
        score.attrs['nrp_layers'] = [str(layer) for layer in recorded_layers]
        score.attrs['layer_choice'] = _layer_record(record, raw)
        score.attrs['model_identifier'] = getattr(candidate, 'identifier', None)
        score.attrs['benchmark_identifier'] = self.identifier
        return score


class CommittingNeuralBenchmark(_CeilingOnce, NeuralBenchmark):
    """Brain-Score's ``NeuralBenchmark`` (metric and ceiling unchanged) that never lets an uncommitted layer model
    choose its layer on the scored images: it commits the region on a selection set first (:class:`SelectionSet`),
    or chooses the layer inside each split (:class:`InEachSplit`, the default).

    With :class:`InEachSplit`, every candidate layer is recorded, each split's layer is chosen on its training
    stimuli (:func:`nrp_plugin.brainscore.layer_choice.nested_choice`), the metric scores each chosen layer, and
    each split keeps the figures of its own layer; the Score is aggregated over the splits as Brain-Score's metric
    aggregates it (:func:`nrp_plugin.brainscore.pls_metric.combine_split_scores`), then ceiled as Brain-Score
    ceils it.
    """

    def __init__(self, *args, layer_choice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._layer_choice = layer_choice or InEachSplit()

    @classmethod
    def wrapping(cls, benchmark, layer_choice=None):
        """The same benchmark as Brain-Score's ``benchmark`` (a ``NeuralBenchmark``: identifier, data, metric,
        ceiling, screen), choosing layers as ``layer_choice`` says."""
        return cls(identifier=benchmark.identifier, version=benchmark.version, assembly=benchmark._assembly,
                   similarity_metric=benchmark._similarity_metric, visual_degrees=benchmark._visual_degrees,
                   number_of_trials=benchmark._number_of_trials, ceiling_func=lambda: benchmark.ceiling,
                   parent=benchmark.parent, bibtex=benchmark.bibtex, layer_choice=layer_choice)

    def preallocate_memory(self, candidate, raise_if_oom=True):
        # Brain-Score's memory probe reads the region's layer: choose it offline first
        if self._layer_choice.nested(candidate, self.region):
            return None
        record = self._layer_choice.settle(candidate, self.region, self._visual_degrees)
        with _applied(candidate, self.region, record):
            return super().preallocate_memory(candidate, raise_if_oom=raise_if_oom)

    def __call__(self, candidate):
        record = self._layer_choice.settle(candidate, self.region, self._visual_degrees)
        if self._layer_choice.nested(candidate, self.region):
            score = self._score_in_each_split(candidate)
        else:
            with _applied(candidate, self.region, record):
                score = super().__call__(candidate)
        score.attrs['model_identifier'] = getattr(candidate, 'identifier', None)
        score.attrs['benchmark_identifier'] = self.identifier
        if record is not None and record.get('layer') is not None:
            score.attrs['layer'] = str(record['layer'])
        score.attrs['layer_choice'] = _layer_record(record, score.attrs.get('raw', score))
        return score

    def _score_in_each_split(self, candidate):
        from brainscore_vision.benchmark_helpers.neural_common import explained_variance
        from .pls_metric import combine_split_scores
        from .splits import CrossValidationSpec
        source = _record_all_candidates(self, candidate)
        kwargs = getattr(self._similarity_metric, 'crossvalidation_kwargs', None)
        spec = getattr(self._similarity_metric, 'spec', None) or CrossValidationSpec.from_kwargs(
            dict(kwargs or {}, stratification_coord=(kwargs or {}).get('stratification_coord', 'object_name')))
        choices = layer_choice.nested_choice(source, self._assembly,
                                             {str(layer): (str(layer),) for layer in candidate.layers}, spec)
        runs = {}
        for layer in dict.fromkeys(choice['layer'] for choice in choices):
            part = source[{'neuroid': np.asarray(source['layer'].values) == layer}]
            runs[layer] = self._similarity_metric(part, self._assembly)
        raw = combine_split_scores(runs, [choice['layer'] for choice in choices])
        raw.attrs['layer_choice'] = choices
        score = explained_variance(raw, self.ceiling)
        score.attrs['split_layer'] = [choice['layer'] for choice in choices]
        return score
