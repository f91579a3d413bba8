"""The Brain-Score views of a synthetic world: its StimulusSets and assemblies.

:func:`load_world` opens (generating it first when needed) the world of a
:class:`~nrp_plugin.synthetic.config.WorldConfig` and returns a :class:`SyntheticWorld`, which packages
the world's plain data (:class:`~nrp_plugin.synthetic.store.StoredWorld`) as the objects Brain-Score's
data plugins, benchmarks and metrics take.
"""
import numpy as np
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly, NeuronRecordingAssembly
from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
from brainscore_vision.benchmark_helpers.neural_common import average_repetition

from ..synthetic.config import REGIONS, TIME_BIN
from ..synthetic.store import open_world
from ..synthetic.teacher import REGION_LAYERS

PRESENTATION_COLUMNS = ('stimulus_id', 'object_name', 'category_name', 'variation', 'image_file_name',
                        'ty', 'tz', 's', 'rxy', 'rxz')
NEUROID_COLUMNS = ('neuroid_id', 'region', 'animal', 'arr')


class SyntheticWorld:
    """A generated world on disk, with Brain-Score views of it.

    Parameters
    ----------
    stored : StoredWorld

    Attributes
    ----------
    stored : StoredWorld
        The world's plain data.
    config : WorldConfig
    directory : Path
    manifest : dict
    neuroids : pandas.DataFrame
        One row per site (``neuroids.csv``).
    stimulus_set : StimulusSet
        All images (``identifier`` ``'SyntheticMajajHong2015--<config hash>--at-<location hash>'``, see
        :meth:`stimulus_set_identifier`).
    assembly : NeuronRecordingAssembly, shape (n_trials, n_sites, 1)
        All trials of all images, dims ``presentation x neuroid x time_bin``.
    """

    def __init__(self, stored):
        self.stored = stored
        self._all_stimuli = StimulusSet(stored.stimuli)
        self._all_stimuli.stimulus_paths = dict(stored.image_paths)
        self._cache = {}

    @property
    def config(self):
        return self.stored.config

    @property
    def directory(self):
        return self.stored.directory

    @property
    def manifest(self):
        return self.stored.manifest

    @property
    def neuroids(self):
        return self.stored.neuroids

    def identifier(self, access=None):
        """``'SyntheticMajajHong2015[.public|.private]--<config hash>'``: the world's content, the same in every
        cache root (the assemblies' ``identifier``)."""
        return self.stored.identifier(access)

    def stimulus_set_identifier(self, access=None):
        """``'<identifier(access)>--at-<location hash>'``: the StimulusSets' ``identifier``, which keys Brain-Score's
        stored activations; it differs between copies of the world in two cache roots, whose image paths differ
        (:meth:`nrp_plugin.synthetic.store.StoredWorld.stimulus_set_identifier`)."""
        return self.stored.stimulus_set_identifier(access)

    def repetition_counts(self, access=None):
        """Trials recorded for each image of ``access``, in stimulus-set order, shape (n_images,)."""
        return self.stored.repetition_counts(access)

    def features(self, region, access=None):
        """The teacher features that drive ``region``, in stimulus-set order.

        Returns
        -------
        ndarray, shape (n_images, n_features), float32
        """
        return self.stored.features(region, access)

    def get_stimulus_set(self, access=None):
        """The StimulusSet of ``access`` (None: all images), with ``stimulus_paths`` to the PNG files."""
        key = ('stimuli', access)
        if key not in self._cache:
            self._cache[key] = stimulus_rows(self._all_stimuli, self.stored.mask(access),
                                             self.stimulus_set_identifier(access))
        return self._cache[key]

    def get_assembly(self, access=None):
        """Trial responses of ``access`` as a ``NeuronRecordingAssembly``.

        Returns
        -------
        NeuronRecordingAssembly, shape (n_trials, n_sites, 1)
            One presentation per trial (``n_images * n_repetitions`` of them, or the sum of
            :meth:`repetition_counts` when images have different numbers of trials), ordered
            repetition-major (every image's trial 0, then every image's trial 1 that has one, ...).
            Coords: presentation ``stimulus_id``, ``object_name``, ``category_name``, ``variation``,
            ``image_file_name``, ``ty``, ``tz``, ``s``, ``rxy``, ``rxz``, ``repetition``; neuroid
            ``neuroid_id``, ``region``, ``animal``, ``arr``; time_bin ``time_bin_start``,
            ``time_bin_end``. ``attrs['stimulus_set']`` is :meth:`get_stimulus_set` of ``access``.
        """
        key = ('assembly', access)
        if key not in self._cache:
            values = self.stored.responses(access)  # (images, reps, sites)
            counts = self.repetition_counts(access)
            # repetition-major: every image with a trial r, for r = 0, 1, ...; an image has counts[i] trials
            repetition, image = np.nonzero(np.arange(values.shape[1])[:, None] < counts[None, :])
            self._cache[key] = self._package(values[image, repetition], access, image, repetition)
        return self._cache[key]

    def teacher_activations(self, regions, access='private'):
        """The teacher features of one or more regions as a model's activations (a ``NeuroidAssembly``).

        Parameters
        ----------
        regions : str or sequence of str
            ``'V4'``, ``'IT'`` or both; each region's stage is one block of columns, in the given order.
        access : {'private', 'public', None}

        Returns
        -------
        NeuroidAssembly, shape (n_images, n_features)
            Presentation coords ``stimulus_id`` and ``object_name``; neuroid coords ``neuroid_id`` and
            ``layer`` (the teacher stage: ``'v4'`` or ``'it'``), ready for the ``nrp`` and ``pls`` metrics.
        """
        regions = [regions] if isinstance(regions, str) else list(regions)
        blocks = [self.features(region, access) for region in regions]
        layers = [REGION_LAYERS[region] for region, block in zip(regions, blocks) for _ in range(block.shape[1])]
        stimuli = self.get_stimulus_set(access)
        return NeuroidAssembly(np.concatenate(blocks, axis=1), dims=['presentation', 'neuroid'], coords={
            'stimulus_id': ('presentation', stimuli['stimulus_id'].values),
            'object_name': ('presentation', stimuli['object_name'].values),
            'neuroid_id': ('neuroid', [f'{layer}.{i}' for i, layer in enumerate(layers)]),
            'layer': ('neuroid', layers)})

    def region_assembly(self, region, access='private', average_repetitions=False):
        """One region's responses prepared as Brain-Score's MajajHong2015 benchmark prepares its data.

        Mirrors ``brainscore_vision.benchmarks.majajhong2015.benchmark.load_assembly``: squeeze the time
        bin, ``.sel(region=...)``, re-attach ``region``, put ``presentation`` first and, optionally, average
        the repetitions with Brain-Score's ``average_repetition``.

        Returns
        -------
        NeuronRecordingAssembly, shape (n_presentations, n_sites_of_region)
            ``n_presentations`` is the number of trials, or ``n_images`` when averaged.
        """
        if region not in REGIONS:
            raise ValueError(f"region={region!r} is unknown; use one of {REGIONS}.")
        assembly = self.get_assembly(access).squeeze('time_bin')
        attrs = dict(assembly.attrs)
        assembly = assembly.sel(region=region)
        assembly['region'] = 'neuroid', [region] * len(assembly['neuroid'])
        assembly = assembly.transpose('presentation', 'neuroid', ...)
        assembly.attrs.update(attrs)
        if average_repetitions:
            assembly = average_repetition(assembly)
        return assembly

    @property
    def stimulus_set(self):
        return self.get_stimulus_set(None)

    @property
    def assembly(self):
        return self.get_assembly(None)

    def _package(self, values, access, image, repetition):
        stimulus_set = self.get_stimulus_set(access)
        presentation = {column: ('presentation', stimulus_set[column].values[image]) for column in PRESENTATION_COLUMNS}
        presentation['repetition'] = ('presentation', np.asarray(repetition))
        neuroid = {column: ('neuroid', self.neuroids[column].values) for column in NEUROID_COLUMNS}
        assembly = NeuronRecordingAssembly(
            np.asarray(values, dtype=np.float32)[:, :, None], dims=['presentation', 'neuroid', 'time_bin'],
            coords={**presentation, **neuroid,
                    'time_bin_start': ('time_bin', [TIME_BIN[0]]), 'time_bin_end': ('time_bin', [TIME_BIN[1]])})
        assembly.attrs['stimulus_set'] = stimulus_set
        assembly.attrs['stimulus_set_identifier'] = stimulus_set.identifier
        assembly.attrs['identifier'] = self.identifier(access)
        return assembly


def stimulus_rows(stimuli, mask, identifier):
    """The rows of a StimulusSet under a mask, as a new StimulusSet.

    Parameters
    ----------
    stimuli : StimulusSet
    mask : ndarray of bool, shape (len(stimuli),)
    identifier : str or None
        The new set's ``identifier``; ``None`` keeps Brain-Score from caching activations of it.

    Returns
    -------
    StimulusSet
        The rows, re-indexed from 0, with their ``stimulus_paths``.
    """
    subset = StimulusSet(stimuli[mask].reset_index(drop=True))
    subset.stimulus_paths = {stimulus_id: stimuli.stimulus_paths[stimulus_id] for stimulus_id in subset['stimulus_id']}
    subset.identifier = identifier
    return subset


def load_world(config=None, root=None):
    """The :class:`SyntheticWorld` of :func:`nrp_plugin.synthetic.store.open_world` (same arguments): the world
    generated and cached first when needed."""
    return SyntheticWorld(open_world(config, root))
