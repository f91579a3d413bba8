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


class _SelectionSet:
    """Stimuli (and averaged responses) a layer may be chosen on, never the scored ones."""

    def __init__(self, loader=None):
        self._loader = loader
        self._value = None

    def commit(self, candidate, region, visual_degrees):
        if self._loader is None or not layer_choice.is_layer_model(candidate) \
                or layer_choice.is_committed(candidate, region):
            return
        if self._value is None:
            self._value = self._loader()
        stimuli, assembly = self._value
        layer_choice.commit_region(candidate, region, stimuli, assembly.sel(region=region), visual_degrees)


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
    selection_loader : callable, optional
        Returns ``(stimulus_set, averaged assembly)`` on which an uncommitted layer model chooses its
        layer for the region; never the scored stimuli.
    """

    def __init__(self, identifier, assembly, assembly_repetition, visual_degrees, number_of_trials,
                 metric=None, selection_loader=None, version=1, parent=LEADERBOARD_PARENT, bibtex=None):
        self._assembly = _squeeze_time(assembly)
        region = np.unique(self._assembly['region'].values)
        if len(region) != 1:
            raise ValueError(f"An NRP benchmark scores one region; the assembly has {list(region)}.")
        self.region = str(region[0])
        self._assembly_repetition = assembly_repetition
        self._visual_degrees = visual_degrees
        self._number_of_trials = number_of_trials
        self._metric = metric or NRPErrorMetric()
        self._selection = _SelectionSet(selection_loader)
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
        """The model's activations on the benchmark's stimuli: NRP-L1 groups on the ``layer`` coordinate."""
        self._selection.commit(candidate, self.region, self._visual_degrees)
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
        source, recorded_layers = self.record(candidate)
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
        score.attrs['model_identifier'] = getattr(candidate, 'identifier', None)
        score.attrs['benchmark_identifier'] = self.identifier
        return score


class CommittingNeuralBenchmark(_CeilingOnce, NeuralBenchmark):
    """Brain-Score's ``NeuralBenchmark`` (metric and ceiling unchanged), which first commits an
    uncommitted layer model's region on a selection set instead of downloading one."""

    def __init__(self, *args, selection_loader=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._selection = _SelectionSet(selection_loader)

    def preallocate_memory(self, candidate, raise_if_oom=True):
        # Brain-Score's memory probe reads the region's layer: commit it offline first
        self._selection.commit(candidate, self.region, self._visual_degrees)
        return super().preallocate_memory(candidate, raise_if_oom=raise_if_oom)

    def __call__(self, candidate):
        self._selection.commit(candidate, self.region, self._visual_degrees)
        score = super().__call__(candidate)
        score.attrs['model_identifier'] = getattr(candidate, 'identifier', None)
        score.attrs['benchmark_identifier'] = self.identifier
        if layer_choice.is_layer_model(candidate):
            score.attrs['layer'] = str(layer_choice.committed_layer(candidate, self.region))
        return score
