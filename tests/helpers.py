"""Generated assemblies with a known ground truth, shared by the tests."""
import numpy as np
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly


def assembly(values, prefix, n_objects=64, layers=None, stimulus_ids=None):
    """A presentation x neuroid assembly with Brain-Score's coordinates."""
    n, k = values.shape
    ids = stimulus_ids if stimulus_ids is not None else [f'stim{i:04d}' for i in range(n)]
    coords = {'stimulus_id': ('presentation', list(ids)),
              'object_name': ('presentation', [f'object{i % n_objects:02d}' for i in range(n)]),
              'neuroid_id': ('neuroid', [f'{prefix}{j}' for j in range(k)]),
              'region': ('neuroid', [prefix] * k)}
    if layers is not None:
        coords['layer'] = ('neuroid', list(layers))
    return NeuroidAssembly(values, coords=coords, dims=['presentation', 'neuroid'])


def world(kind, n=640, n_features=40, n_targets=20, noise=0.3, seed=0):
    """Features and responses from a known map: ``'linear'`` or ``'nonlinear'`` (rectified square)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features))
    weights = rng.normal(size=(n_features, n_targets)) / np.sqrt(n_features)
    drive = features @ weights
    signal = drive if kind == 'linear' else np.maximum(drive, 0) ** 2
    responses = signal + noise * rng.normal(size=signal.shape)
    return assembly(features, 'feature'), assembly(responses, 'site')
