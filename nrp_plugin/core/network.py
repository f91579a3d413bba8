"""The NRP network and its training, batched over independent fits (cross-validation splits).

Every fit in a batch has its own parameters, its own random initialisation, validation carve-out
and mini-batch order (each drawn from its own seeded generator), and its own early stopping; the
batch only shares the arithmetic. Because Adam is element-wise and the loss is a sum of per-fit
losses, training ``S`` fits together gives the same result as training each alone.

Architecture (Anand, Sen & Roy 2021, Fig. 1B):
NRP-L1: one dense block per input group (each fed only its group's columns), ReLU;
the blocks' outputs concatenated; NRP-L2: dense, ReLU; NRP-out: linear, one output per target.

With ``linear_path=True`` (the default) NRP-out also reads the inputs directly, through a linear path
initialised at the ridge solution of the fit rows (penalty per target by leave-one-out on those rows)
and exempt from weight decay; the rest of the network starts and trains as the paper's. Early stopping
counts "epoch 0" as a candidate: the linear path alone, with NRP-out silenced, which predicts exactly
what ridge predicts. A fit that never beats ridge on its validation part returns ridge; the network
departs from the best linear map only where that lowers the validation error. The validity sweep
(docs/validity.md) shows why: without the path, the paper's network cannot match tuned ridge where
the truth is linear and spread over many directions. ``linear_path=False`` is the paper's network.
"""
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .ridge import ridge_coefficients


@dataclass(frozen=True)
class NRPConfig:
    """Architecture and optimisation settings of the NRP network.

    Attributes
    ----------
    l1_size : int
        Units in each NRP-L1 block (one block per input group).
    l2_size : int
        Units in NRP-L2. ``0`` drops NRP-L2 (one hidden layer), for the search's depth comparison.
    learning_rate : float
        Adam's learning rate.
    max_epochs : int
        Upper bound on passes over the training data.
    batch_size : int
        Mini-batch size.
    weight_decay : float
        L2 penalty added by Adam.
    patience : int
        Epochs without a validation improvement before a fit stops.
    validation_fraction : float
        Share of the training rows held out for early stopping.
    linear_path : bool
        Add the ridge-initialised linear path from the inputs to NRP-out, with ridge alone as the
        epoch-0 candidate of early stopping (see the module notes). ``False``: the paper's architecture.
    """
    l1_size: int = 128
    l2_size: int = 128
    learning_rate: float = 3e-3
    max_epochs: int = 400
    batch_size: int = 64
    weight_decay: float = 1e-3
    patience: int = 40
    validation_fraction: float = 0.1
    linear_path: bool = True

    def __post_init__(self):
        for name in ('l1_size', 'max_epochs', 'batch_size'):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"NRP parameter {name}={value!r} must be a positive integer.")
        if not isinstance(self.l2_size, (int, np.integer)) or self.l2_size < 0:
            raise ValueError(f"NRP parameter l2_size={self.l2_size!r} must be a non-negative integer "
                             f"(0 drops NRP-L2).")
        if not isinstance(self.patience, (int, np.integer)) or self.patience < 1:
            raise ValueError(f"NRP parameter patience={self.patience!r} must be a positive integer.")
        if not (self.learning_rate > 0):
            raise ValueError(f"NRP parameter learning_rate={self.learning_rate!r} must be > 0.")
        if not (self.weight_decay >= 0):
            raise ValueError(f"NRP parameter weight_decay={self.weight_decay!r} must be >= 0.")
        if not (0 < self.validation_fraction < 1):
            raise ValueError(f"NRP parameter validation_fraction={self.validation_fraction!r} must lie in (0, 1).")

    def to_dict(self):
        return asdict(self)


def _uniform(shape, bound, generator, dtype):
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1).mul_(bound).to(dtype)


def init_parameters(group_sizes, n_targets, config, seeds, dtype=torch.float32):
    """Draw the initial parameters of ``len(seeds)`` networks (on the CPU, for reproducibility).

    Parameters
    ----------
    group_sizes : sequence of int
        Input columns of each group, in column order.
    n_targets : int
    config : NRPConfig
    seeds : sequence of int
        One seed per network.

    Returns
    -------
    params : dict of str -> Tensor, each with a leading dimension of ``len(seeds)``
    mask : Tensor, shape (n_inputs, n_groups * l1_size)
        The locally dense connectivity of NRP-L1.
    generators : list of torch.Generator
        Each network's generator, to be used next for its validation carve-out and batch order.
    """
    group_sizes = [int(size) for size in group_sizes]
    n_inputs, n_groups, l1, l2 = sum(group_sizes), len(group_sizes), config.l1_size, config.l2_size
    hidden = n_groups * l1
    mask = torch.zeros(n_inputs, hidden, dtype=dtype)
    offset = 0
    for index, size in enumerate(group_sizes):
        mask[offset:offset + size, index * l1:(index + 1) * l1] = 1
        offset += size
    out_in = l2 if l2 > 0 else hidden
    params = {name: [] for name in ('w1', 'b1', 'w2', 'b2', 'w3', 'b3')}
    generators = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        w1 = torch.zeros(n_inputs, hidden, dtype=dtype)
        b1 = torch.zeros(hidden, dtype=dtype)
        offset = 0
        for index, size in enumerate(group_sizes):
            bound = 1 / np.sqrt(size)
            w1[offset:offset + size, index * l1:(index + 1) * l1] = _uniform((size, l1), bound, generator, dtype)
            b1[index * l1:(index + 1) * l1] = _uniform((l1,), bound, generator, dtype)
            offset += size
        params['w1'].append(w1)
        params['b1'].append(b1)
        if l2 > 0:
            params['w2'].append(_uniform((hidden, l2), 1 / np.sqrt(hidden), generator, dtype))
            params['b2'].append(_uniform((l2,), 1 / np.sqrt(hidden), generator, dtype))
        params['w3'].append(_uniform((out_in, n_targets), 1 / np.sqrt(out_in), generator, dtype))
        params['b3'].append(_uniform((n_targets,), 1 / np.sqrt(out_in), generator, dtype))
        generators.append(generator)
    params = {name: torch.stack(values) for name, values in params.items() if values}
    return params, mask, generators


def forward(params, mask, inputs):
    """Run ``S`` networks on their inputs.

    Parameters
    ----------
    params : dict of Tensor
    mask : Tensor, shape (n_inputs, hidden)
    inputs : Tensor, shape (S, n_rows, n_inputs)

    Returns
    -------
    Tensor, shape (S, n_rows, n_targets)
    """
    hidden = torch.relu(torch.baddbmm(params['b1'].unsqueeze(1), inputs, params['w1'] * mask))
    if 'w2' in params:
        hidden = torch.relu(torch.baddbmm(params['b2'].unsqueeze(1), hidden, params['w2']))
    output = torch.baddbmm(params['b3'].unsqueeze(1), hidden, params['w3'])
    if 'w_linear' in params:
        output = output + torch.baddbmm(params['b_linear'].unsqueeze(1), inputs, params['w_linear'])
    return output


def train(inputs, targets, group_sizes, config, seeds, device, dtype=torch.float32, progress=None):
    """Train one NRP network per leading index of ``inputs``, with early stopping.

    Parameters
    ----------
    inputs : Tensor, shape (S, n_rows, n_inputs)
        Standardised training inputs of each fit.
    targets : Tensor, shape (S, n_rows, n_targets)
        Standardised training targets of each fit.
    group_sizes : sequence of int
    config : NRPConfig
    seeds : sequence of int, length S
    device : torch.device
    progress : callable, optional
        Called as ``progress(epoch, n_active)`` after every epoch.

    Returns
    -------
    params : dict of Tensor
        The parameters of each fit at its best validation epoch.
    mask : Tensor
    info : dict
        ``best_epoch`` (array, shape (S,)), ``best_validation_mse`` (array, shape (S,)), ``epochs_run``.
    """
    n_fits, n_rows, _ = inputs.shape
    if len(seeds) != n_fits:
        raise ValueError(f"{len(seeds)} seeds for {n_fits} fits.")
    n_validation = max(1, int(round(config.validation_fraction * n_rows)))
    n_fit = n_rows - n_validation
    if n_fit < 1:
        raise ValueError(f"{n_rows} training rows are too few to hold out a validation part; "
                         f"at least 2 are needed.")
    params, mask, generators = init_parameters(group_sizes, targets.shape[-1], config, seeds, dtype)
    orders = torch.stack([torch.randperm(n_rows, generator=generator) for generator in generators])
    fit_rows, validation_rows = orders[:, :n_fit], orders[:, n_fit:]
    inputs = inputs.to(device=device, dtype=dtype)
    targets = targets.to(device=device, dtype=dtype)
    take = lambda tensor, rows: torch.take_along_dim(tensor, rows.to(device).unsqueeze(-1), dim=1)
    fit_x, fit_y = take(inputs, fit_rows), take(targets, fit_rows)
    val_x, val_y = take(inputs, validation_rows), take(targets, validation_rows)
    if config.linear_path:
        params.update(linear_path_init(fit_x, fit_y, dtype))
    params = {name: value.to(device).requires_grad_(True) for name, value in params.items()}
    mask = mask.to(device)
    linear_names = ('w_linear', 'b_linear')
    groups = [{'params': [value for name, value in params.items() if name not in linear_names],
               'weight_decay': config.weight_decay}]
    if config.linear_path:  # the ridge solution already carries its own penalty
        groups.append({'params': [params[name] for name in linear_names], 'weight_decay': 0.0})
    optimizer = torch.optim.Adam(groups, lr=config.learning_rate)
    best = {name: value.detach().clone() for name, value in params.items()}
    if config.linear_path:  # epoch 0: the linear path alone (NRP-out silenced) is the first candidate
        best['w3'], best['b3'] = torch.zeros_like(best['w3']), torch.zeros_like(best['b3'])
        with torch.no_grad():
            best_loss = ((forward(best, mask, val_x) - val_y) ** 2).mean(dim=(1, 2)).double().cpu()
    else:
        best_loss = torch.full((n_fits,), float('inf'), dtype=torch.float64)
    best_epoch = np.zeros(n_fits, dtype=int)
    waited = np.zeros(n_fits, dtype=int)
    active = np.ones(n_fits, dtype=bool)
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        permutation = torch.stack([torch.randperm(n_fit, generator=generator) for generator in generators])
        for start in range(0, n_fit, config.batch_size):
            rows = permutation[:, start:start + config.batch_size]
            batch_x, batch_y = take(fit_x, rows), take(fit_y, rows)
            optimizer.zero_grad(set_to_none=True)
            loss = ((forward(params, mask, batch_x) - batch_y) ** 2).mean(dim=(1, 2)).sum()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            validation = ((forward(params, mask, val_x) - val_y) ** 2).mean(dim=(1, 2)).double().cpu()
        improved = (validation < best_loss).numpy() & active
        if improved.any():
            keep = torch.from_numpy(improved).to(device)
            for name, value in params.items():
                shape = (-1,) + (1,) * (value.dim() - 1)
                best[name] = torch.where(keep.view(shape), value.detach(), best[name])
            best_loss = torch.where(torch.from_numpy(improved), validation, best_loss)
            best_epoch[improved] = epoch
        waited[improved] = 0
        waited[~improved & active] += 1
        active &= waited < config.patience
        if progress is not None:
            progress(epoch, int(active.sum()))
        if not active.any():
            break
    info = dict(best_epoch=best_epoch, best_validation_mse=best_loss.numpy(), epochs_run=epoch)
    return best, mask, info


def linear_path_init(fit_inputs, fit_targets, dtype=torch.float32):
    """The linear path's starting weights: ridge on each fit's fit rows (penalty per target by leave-one-out).

    Parameters
    ----------
    fit_inputs : Tensor, shape (S, n_rows, n_inputs)
    fit_targets : Tensor, shape (S, n_rows, n_targets)

    Returns
    -------
    dict
        ``w_linear`` (S, n_inputs, n_targets) and ``b_linear`` (S, n_targets), on the CPU.
    """
    weights, intercepts = zip(*(ridge_coefficients(x, y) for x, y in zip(fit_inputs, fit_targets)))
    return {'w_linear': torch.as_tensor(np.stack(weights), dtype=dtype),
            'b_linear': torch.as_tensor(np.stack(intercepts), dtype=dtype)}


def predict(params, mask, inputs, device, dtype=torch.float32):
    """Predictions of trained networks, shape (S, n_rows, n_targets)."""
    with torch.no_grad():
        return forward(params, mask, inputs.to(device=device, dtype=dtype))
