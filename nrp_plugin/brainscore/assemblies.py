"""Small presentation x neuroid assemblies with Brain-Score's coordinates, for tests and examples."""
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
