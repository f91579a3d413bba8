"""Small presentation x neuroid assemblies with Brain-Score's coordinates, built from plain arrays, for tests,
examples and the validity sweep's generated worlds."""
import numpy as np
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly


def neuroid_assembly(values, prefix, n_objects=64, layers=None, stimulus_ids=None):
    """A ``NeuroidAssembly`` of ``values`` as Brain-Score's metrics take it.

    Parameters
    ----------
    values : ndarray, shape (n_stimuli, n_neuroids)
    prefix : str
        ``neuroid_id`` prefix and ``region`` of every neuroid.
    n_objects : int
        Stimulus ``i`` shows object ``i % n_objects`` (the ``object_name`` the splits stratify on).
    layers : sequence of str, optional
        A ``layer`` coordinate on ``neuroid`` (the NRP's input groups).
    stimulus_ids : sequence of str, optional
        ``stim0000``, ``stim0001``, ... by default.

    Returns
    -------
    NeuroidAssembly, dims (presentation, neuroid)
    """
    n, k = values.shape
    ids = list(stimulus_ids) if stimulus_ids is not None else [f'stim{i:04d}' for i in range(n)]
    coords = {'stimulus_id': ('presentation', ids),
              'object_name': ('presentation', [f'object{i % n_objects:02d}' for i in range(n)]),
              'neuroid_id': ('neuroid', [f'{prefix}{j}' for j in range(k)]),
              'region': ('neuroid', [prefix] * k)}
    if layers is not None:
        coords['layer'] = ('neuroid', list(layers))
    return NeuroidAssembly(values, coords=coords, dims=['presentation', 'neuroid'])


def feature_response_assemblies(features, layers, responses):
    """A source (model features) and a target (recorded responses) on the same stimuli, as the metrics take them.

    Parameters
    ----------
    features : ndarray, shape (n_stimuli, n_features)
    layers : sequence of str, length n_features
        The layer of every feature column (the NRP's input groups).
    responses : ndarray, shape (n_stimuli, n_sites)

    Returns
    -------
    source, target : NeuroidAssembly, dims (presentation, neuroid)
        Presentation coords ``stimulus_id`` (``stimulus00000``, ...) and ``stimulus_index``; the source's
        neuroid coords ``neuroid_id`` (``unit<j>``) and ``layer``, the target's ``neuroid_id`` (``site<j>``)
        and ``region`` (``'site'``).
    """
    n = features.shape[0]
    stimulus_ids = [f'stimulus{i:05d}' for i in range(n)]
    # two coordinates per dimension, as Brain-Score's assemblies carry (a lone one becomes the dimension's index)
    presentation = {'stimulus_id': ('presentation', stimulus_ids), 'stimulus_index': ('presentation', np.arange(n))}
    source = NeuroidAssembly(features, dims=['presentation', 'neuroid'], coords={
        **presentation,
        'neuroid_id': ('neuroid', [f'unit{j}' for j in range(features.shape[1])]),
        'layer': ('neuroid', list(layers))})
    target = NeuroidAssembly(responses, dims=['presentation', 'neuroid'], coords={
        **presentation,
        'neuroid_id': ('neuroid', [f'site{j}' for j in range(responses.shape[1])]),
        'region': ('neuroid', ['site'] * responses.shape[1])})
    return source, target


def target_assembly(responses, stimulus_ids, object_names):
    """Recorded (or generated) responses as the metrics take them.

    Parameters
    ----------
    responses : ndarray, shape (n_stimuli, n_sites)
    stimulus_ids, object_names : sequence of str, length n_stimuli
        ``object_name`` is what Brain-Score's splits stratify on.

    Returns
    -------
    NeuroidAssembly, dims (presentation, neuroid); sites ``site0``, ``site1``, ...
    """
    values = np.asarray(responses, dtype=np.float64)
    sites = values.shape[1]
    return NeuroidAssembly(values, dims=['presentation', 'neuroid'], coords={
        'stimulus_id': ('presentation', list(stimulus_ids)), 'object_name': ('presentation', list(object_names)),
        'neuroid_id': ('neuroid', [f'site{j}' for j in range(sites)]), 'region': ('neuroid', ['site'] * sites)})
