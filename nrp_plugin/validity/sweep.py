"""Run the NRP metric and its references on the generated worlds of :mod:`.worlds`, through the metric's
own code path.

For every world, one call to :meth:`nrp_plugin.brainscore.nrp_metric.NRPErrorMetric.fit` builds Brain-Score's
splits (unstratified, 90/10) and the prepared inputs, exactly as ``load_metric('nrp')`` does, and fits the NRP and
every reference mapping on them. On those inputs and splits the sweep scores, by test MAE (mean over sites, then
over splits):

- ``nrp``: the NRP with the metric's configuration;
- ``lstsq``: least squares on the same prepared inputs (``nrp_least_squares``);
- ``ridge``: the ridge reference of ``nrp_ridge`` (every component, one penalty per site by leave-one-out);
- ``banded``: banded ridge (``nrp_banded_ridge``: every component, one weight per layer);
- ``pls``: Brain-Score's PLS regression with 25 components (``pls_torch``) on the layers' features;
- ``kernel``: RBF kernel ridge on the prepared inputs (``nrp_kernel_ridge``);
- ``mlp``: scikit-learn's ``MLPRegressor()`` with its defaults, on the same prepared inputs and
  training-standardised targets, as an off-the-shelf nonlinear reference;
- ``nrp_paper`` (optional): the NRP as close to the paper as it is specified (``NRPErrorMetric(config='paper')``).

``best_linear`` is the lowest of least squares, ridge, banded ridge and PLS; ``best_nonlinear`` the lower of the
MLP and kernel ridge. :func:`check_targets` states the acceptance targets.
"""
import time
import warnings

import numpy as np
import torch

from ..brainscore.assemblies import feature_response_assemblies
from ..brainscore.nrp_metric import NRPErrorMetric
from ..core import scoring
from ..mappings import fit_mappings
from . import worlds

#: Acceptance targets (docs/validity.md): NRP / best linear reference on a linear truth; NRP / the better of the
#: MLP and kernel ridge on a nonlinear truth.
LINEAR_TARGET = 1.03
NONLINEAR_TARGET = 1.05


def mlp_predictions(data, random_state=0):
    """scikit-learn's ``MLPRegressor()`` (defaults) per split on the prepared inputs: (S, n_test, n_targets)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    predictions = []
    for split in range(data.n_splits):
        x_train = data.train_inputs[split].cpu().numpy()
        y_train = data.train_targets[split].cpu().numpy()
        mean, std = y_train.mean(axis=0), np.maximum(y_train.std(axis=0), 1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ConvergenceWarning)
            model = MLPRegressor(random_state=random_state + split).fit(x_train, (y_train - mean) / std)
        x_test = data.test_inputs[split].cpu().numpy()
        predictions.append(model.predict(x_test).reshape(len(x_test), -1) * std + mean)
    return torch.as_tensor(np.stack(predictions))


def _mae(prediction, data):
    return float(scoring.mae(prediction.double().to(data.test_targets.device), data.test_targets).mean())


def pls_mae(source, target, n_splits):
    """MAE of Brain-Score's PLS (25 components, ``pls_torch``) on the same splits, mean over sites and splits."""
    from ..brainscore.pls_metric import PLSTorchMetric
    metric = PLSTorchMetric(device='cpu', crossvalidation_kwargs=dict(splits=n_splits, stratification_coord=None))
    return float(metric(source, target).attrs['mae'])


def run_world(spec, metric=None, n_splits=10, with_mlp=True, with_paper=False):
    """Score every mapping on one world.

    Parameters
    ----------
    spec : WorldSpec
    metric : NRPErrorMetric, optional
        The NRP under test (its configuration, components rule and seed); the default metric otherwise.
    n_splits : int
    with_mlp : bool
    with_paper : bool
        Also score the NRP with ``config='paper'`` (``nrp_paper``, ``paper_vs_nrp``).

    Returns
    -------
    dict
        The world's parameters, ``nrp``, ``lstsq``, ``ridge``, ``banded``, ``pls``, ``kernel``, ``mlp``,
        ``best_linear``, ``best_nonlinear``, ``floor`` (MAE of the noise-free signal on the test rows), ``mean_mae``,
        the ratios ``nrp_vs_linear``, ``nrp_vs_nonlinear``, ``mlp_vs_linear``, ``nrp_vs_mlp``, ``kept`` (components per layer, min-max over splits),
        ``best_epoch_median``, ``best_epoch_max`` (the linear-path network's), ``paper_best_epoch_max`` (the paper's
        network's in the validated combination; -1 without it), ``linear_path_weight`` (the combination's mean
        weight of the linear-path network; NaN without it) and ``nrp_seconds`` (all splits together).
    """
    metric = metric or NRPErrorMetric()
    world = worlds.generate(spec)
    source, target = feature_response_assemblies(world.features, world.groups, world.responses)
    spec_kwargs = dict(splits=n_splits, stratification_coord=None)
    metric = NRPErrorMetric(config=metric.config, max_components=metric.max_components, device=metric.device,
                            crossvalidation_kwargs=spec_kwargs, random_state=metric.random_state, references='all')
    fitted = metric.all_mappings()
    data, split_fits = metric.prepare(source, target, split_mappings=[m for m in fitted if m.reads == 'components'])
    fits = {}
    for mapping in fitted:
        started = time.perf_counter()
        fits.update(fit_mappings([mapping], data, split_fits))
        if mapping.name == 'nrp':
            nrp_seconds = time.perf_counter() - started
    score = metric.package(data, fits)
    row = dict(spec.to_dict(), n_splits=n_splits, nrp=float(score), lstsq=score.attrs['least_squares_mae'],
               ridge=score.attrs['ridge_mae'], ridge_alpha_at_edge=score.attrs['ridge_alpha_at_edge'],
               banded=score.attrs['banded_ridge_mae'], kernel=score.attrs['kernel_ridge_mae'],
               pls=pls_mae(source, target, n_splits), mean_mae=score.attrs['mean_predictor_mae'],
               nrp_seconds=nrp_seconds)
    positions = {stimulus: index for index, stimulus in enumerate(np.asarray(target['stimulus_id'].values))}
    test_rows = [np.array([positions[s] for s in ids]) for ids in data.test_ids]
    row['floor'] = float(np.mean([np.abs(world.responses[rows] - world.signal[rows]).mean() for rows in test_rows]))
    row['best_linear'] = min(row['ridge'], row['lstsq'], row['banded'], row['pls'])
    row['mlp'] = _mae(mlp_predictions(data), data) if with_mlp else float('nan')
    row['best_nonlinear'] = float(np.nanmin([row['mlp'], row['kernel']]))
    row['nrp_vs_linear'] = row['nrp'] / row['best_linear']
    row['nrp_vs_nonlinear'] = row['nrp'] / row['best_nonlinear']
    row['mlp_vs_linear'] = row['mlp'] / row['best_linear']
    row['nrp_vs_mlp'] = row['nrp'] / row['mlp']
    if with_paper:
        paper = NRPErrorMetric(config='paper', device=metric.device, crossvalidation_kwargs=spec_kwargs,
                               random_state=metric.random_state, references='none')
        row['nrp_paper'] = float(paper(source, target))
        row['paper_vs_nrp'] = row['nrp_paper'] / row['nrp']
    kept = np.asarray(data.kept)
    row['kept'] = ' '.join(f'{low}-{high}' for low, high in zip(kept.min(axis=1), kept.max(axis=1)))
    row['best_epoch_median'] = float(np.median(score.attrs['best_epoch']))
    row['best_epoch_max'] = int(np.max(score.attrs['best_epoch']))
    # with the validated combination (core/combination.py): the paper's network's epochs and the linear path's weight
    paper_epochs = score.attrs.get('paper_best_epoch')
    row['paper_best_epoch_max'] = int(np.max(paper_epochs)) if paper_epochs else -1
    weights = score.attrs.get('linear_path_weight')
    row['linear_path_weight'] = float(np.mean(weights)) if weights else float('nan')
    return row


def check_targets(rows):
    """The acceptance targets each row misses: a list of ``(world, target, value)``; empty when all hold.

    - linear truth: ``nrp / best_linear <= LINEAR_TARGET`` (least squares, ridge, banded ridge and PLS);
    - nonlinear truth: ``nrp / best_nonlinear <= NONLINEAR_TARGET`` (the better of the MLP and kernel ridge).
    """
    missed = []
    for row in rows:
        if row['truth'] == 'linear':
            if row['nrp_vs_linear'] > LINEAR_TARGET:
                missed.append((row['name'], f'nrp/best linear <= {LINEAR_TARGET}', row['nrp_vs_linear']))
        elif row['nrp_vs_nonlinear'] > NONLINEAR_TARGET:
            missed.append((row['name'], f'nrp/best nonlinear <= {NONLINEAR_TARGET}', row['nrp_vs_nonlinear']))
    return missed
