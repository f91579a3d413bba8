"""Generated assemblies with a known ground truth, shared by the tests."""
import numpy as np

from nrp_plugin.brainscore.assemblies import neuroid_assembly


assembly = neuroid_assembly  # the library's helper, under the name the tests use


def world(kind, n=640, n_features=40, n_targets=20, noise=0.3, seed=0):
    """Features and responses from a known map: ``'linear'`` or ``'nonlinear'`` (rectified square)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features))
    weights = rng.normal(size=(n_features, n_targets)) / np.sqrt(n_features)
    drive = features @ weights
    signal = drive if kind == 'linear' else np.maximum(drive, 0) ** 2
    responses = signal + noise * rng.normal(size=signal.shape)
    return assembly(features, 'feature'), assembly(responses, 'site')
