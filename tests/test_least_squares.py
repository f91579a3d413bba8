"""Least squares on the NRP's inputs (the ``linear`` reference), against scikit-learn."""
import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from nrp_plugin.core.least_squares import fit_predict


@pytest.fixture
def two_threads():
    # the metric runs under the thread count the user sets (--threads); batched solvers must hold with several
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize('padding', [0, 40])
def test_batched_least_squares_equals_sklearn_per_split(two_threads, padding):
    rng = np.random.default_rng(0)
    n_splits, n_train, n_test, width, n_targets = 4, 600, 50, 256, 7
    inputs = rng.normal(size=(n_splits, n_train + n_test, width)) * rng.uniform(0.5, 2, size=width)
    inputs[..., width - padding:] = 0  # zero columns, as the NRP's padded inputs have
    noise = rng.normal(size=(n_splits, n_train + n_test, n_targets))
    targets = inputs[..., :20] @ rng.normal(size=(20, n_targets)) + noise
    prediction = fit_predict(torch.as_tensor(inputs[:, :n_train]), torch.as_tensor(targets[:, :n_train]),
                             torch.as_tensor(inputs[:, n_train:])).numpy()
    for split in range(n_splits):
        reference = LinearRegression().fit(inputs[split, :n_train], targets[split, :n_train])
        expected = reference.predict(inputs[split, n_train:])
        np.testing.assert_allclose(prediction[split], expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
