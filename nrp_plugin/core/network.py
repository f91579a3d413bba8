"""The NRP network and its training, batched over independent fits (cross-validation splits).

Every fit in a batch has its own parameters, its own random initialisation, validation carve-out
and mini-batch order (each drawn from its own seeded generator), and its own early stopping; the
batch only shares the arithmetic. Because Adam is element-wise and the loss is a sum of per-fit
losses, training ``S`` fits together gives the same result as training each alone.

Architecture (Anand, Sen & Roy 2021, Fig. 1B):
NRP-L1: one dense block per input group (each fed only its group's columns), ReLU;
the blocks' outputs concatenated; NRP-L2: dense, ReLU; NRP-out: linear, one output per target.

With ``linear_path=True`` (the default) NRP-out also reads the inputs directly, through a linear path
initialised at a ridge solution of the fit rows (penalty per target by leave-one-out on those rows)
and trained with the rest of the network (same Adam, same weight decay); the rest starts as the paper's.
Given the layers' Gram matrices (``linear_kernels``), the ridge is the better, on the validation rows, of ridge on
the inputs and ridge on every component of every layer, whose part outside the inputs is held fixed
(:mod:`nrp_plugin.core.linear_start`); without them, ridge on the inputs. Early stopping
counts "epoch 0" as a candidate: the linear path alone, with NRP-out silenced, which predicts exactly
what ridge predicts. A fit that never beats ridge on its validation part returns ridge; the network
departs from the best linear map only where that lowers the validation error. The validity sweep
(docs/validity.md) shows why: without the path, the paper's network cannot match tuned ridge where
the truth is linear and spread over many directions. ``linear_path=False`` is the paper's network.

The validated choice (``paper_candidate=True``, the default with the linear path): the paper's network also
trains, on the same fit rows with the same validation carve-out, and each fit predicts with the convex
combination ``w * linear-path network + (1 - w) * paper's network`` whose ``w`` in [0, 1] minimises the
validation MSE (one number per fit, in closed form). Where the truth is linear ``w`` stays near 1; on the teacher
world, a nonlinear function of narrow layers, the paper's network takes a large share (docs/validity.md). The
two designs train as one batch of ``2 S`` networks (:func:`train_network`, ``twins=True``), which gives exactly
what training them one after the other gives; the arithmetic of the second network is still paid
(docs/speed.md).
"""
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.optim.adam import adam

from .linear_start import fixed_part, ridge_start
from .ridge import ridge_coefficients

# devices with torch's fused Adam kernel (CPU since torch 2.4); elsewhere the reference implementation runs
_FUSED_DEVICES = ('cpu', 'cuda')


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
    paper_candidate : bool
        With ``linear_path``: also train the paper's network on the same rows and predict, per fit, with the
        convex combination of the two networks whose weight minimises the validation MSE (:func:`choose_mix`, and
        the module notes). Ignored without ``linear_path``.
    standardize_targets : bool
        Train on each target standardised with the fit's training mean and standard deviation (predictions are
        returned in the targets' units either way). ``False``: on the recorded firing rates, as the paper does.
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
    paper_candidate: bool = True
    standardize_targets: bool = True

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
        for name in ('linear_path', 'paper_candidate', 'standardize_targets'):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"NRP parameter {name}={getattr(self, name)!r} must be True or False.")
        if not (0 < self.validation_fraction < 1):
            raise ValueError(f"NRP parameter validation_fraction={self.validation_fraction!r} must lie in (0, 1).")

    def to_dict(self):
        return asdict(self)

    @classmethod
    def paper(cls, **overrides):
        """The network as close to Anand, Sen & Roy (2021) as they specify it: NRP-L1 per layer, NRP-L2, NRP-out,
        ReLUs, Adam on the MSE of the recorded rates, stopped on a held-out validation part; no linear path, no
        combination, no weight decay, targets not standardised. What the paper leaves open (the layer sizes and
        learning rate, which it searched; the epochs, batch size and patience) keeps this package's defaults.
        The metric's ``config='paper'`` pairs it with the paper's inputs (:class:`nrp_plugin.brainscore.nrp_metric.
        NRPErrorMetric`)."""
        return cls(**dict(dict(weight_decay=0.0, linear_path=False, paper_candidate=False, standardize_targets=False),
                          **overrides))


def _uniform(shape, bound, generator, dtype):
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1).mul_(bound).to(dtype)


def init_parameters(group_sizes, n_targets, config, seeds, dtype=torch.float32, fan_in=None):
    """Draw the initial parameters of ``len(seeds)`` networks (on the CPU, for reproducibility).

    NRP-L1 is stored as one weight matrix per input group (``w1_<g>``, ``b1_<g>``): the locally dense
    connectivity is the parameters' shape, not a mask over a dense matrix, so neither the products nor
    the optimiser touch the connections that do not exist.

    Each network's draws come from its own generator, always ``group_sizes`` wide, so the random stream of one
    network depends on its seed and the (data-independent) layout only. A group's weights are then scaled to
    the network's own fan-in, the group's input columns that carry data (PyTorch's default uniform range,
    ``1 / sqrt(fan_in)``), and the rows of padding columns are zero.

    Parameters
    ----------
    group_sizes : sequence of int
        Input columns of each group, in column order (padding included).
    n_targets : int
    config : NRPConfig
    seeds : sequence of int
        One seed per network.
    fan_in : array-like of int, shape (len(seeds), n_groups), optional
        Each network's columns of each group that carry data, the leading ones (the rest are padding). All
        columns by default.

    Returns
    -------
    params : dict of str -> Tensor, each with a leading dimension of ``len(seeds)``
    layout : tuple of int
        The group sizes, which :func:`forward` needs to split the input columns.
    generators : list of torch.Generator
        Each network's generator, to be used next for its validation carve-out and batch order.
    """
    layout = tuple(int(size) for size in group_sizes)
    n_groups, l1, l2 = len(layout), config.l1_size, config.l2_size
    hidden = n_groups * l1
    out_in = l2 if l2 > 0 else hidden
    fan_in = np.tile(layout, (len(seeds), 1)) if fan_in is None else np.asarray(fan_in, dtype=int)
    if fan_in.shape != (len(seeds), n_groups) or (fan_in > np.asarray(layout)).any():
        raise ValueError(f"fan_in of shape {fan_in.shape} does not fit {len(seeds)} networks of groups {layout}.")
    params = {}
    generators = []
    for network, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(int(seed))
        draws = {}
        for index, size in enumerate(layout):
            active = int(fan_in[network, index])
            bound = 1 / np.sqrt(max(1, active))
            weights = _uniform((size, l1), bound, generator, dtype)
            weights[active:] = 0
            draws[f'w1_{index}'] = weights
            draws[f'b1_{index}'] = _uniform((l1,), bound, generator, dtype)
        if l2 > 0:
            draws['w2'] = _uniform((hidden, l2), 1 / np.sqrt(hidden), generator, dtype)
            draws['b2'] = _uniform((l2,), 1 / np.sqrt(hidden), generator, dtype)
        draws['w3'] = _uniform((out_in, n_targets), 1 / np.sqrt(out_in), generator, dtype)
        draws['b3'] = _uniform((n_targets,), 1 / np.sqrt(out_in), generator, dtype)
        for name, value in draws.items():
            params.setdefault(name, []).append(value)
        generators.append(generator)
    params = {name: torch.stack(values) for name, values in params.items()}
    return params, layout, generators


def active_columns(inputs, layout):
    """Per fit and group, how many leading input columns carry data: one past the last column that is not zero on
    every row (the rest are padding). Shape (S, n_groups).

    Parameters
    ----------
    inputs : Tensor, shape (S, n_rows, n_inputs)
    layout : tuple of int
    """
    nonzero = (inputs != 0).any(dim=1).cpu().numpy()  # (S, n_inputs)
    counts, offset = [], 0
    for size in layout:
        block = nonzero[:, offset:offset + size]
        last = np.where(block.any(axis=1), size - np.argmax(block[:, ::-1], axis=1), 0)
        counts.append(last)
        offset += size
    return np.stack(counts, axis=1).astype(int)


def split_groups(inputs, layout):
    """Each group's columns of ``inputs`` (S, n_rows, n_inputs) as its own contiguous tensor."""
    blocks, offset = [], 0
    for size in layout:
        blocks.append(inputs[..., offset:offset + size].contiguous())
        offset += size
    return blocks


def forward(params, layout, inputs, blocks=None, n_path=None):
    """Run ``S`` networks on their inputs.

    Parameters
    ----------
    params : dict of Tensor
    layout : tuple of int
        Input columns of each group (as :func:`init_parameters` returns it).
    inputs : Tensor, shape (S, n_rows, n_inputs)
    blocks : list of Tensor, optional
        ``split_groups(inputs, layout)``, when the caller already has it.
    n_path : int, optional
        With a linear path in ``params``: only the first ``n_path`` networks use it (the rest are the paper's
        networks trained in the same batch, see :func:`train_network`). Default: all.

    Returns
    -------
    Tensor, shape (S, n_rows, n_targets)
    """
    if blocks is None:
        blocks = split_groups(inputs, layout)
    hidden = [torch.baddbmm(params[f'b1_{index}'].unsqueeze(1), block, params[f'w1_{index}'])
              for index, block in enumerate(blocks)]
    hidden = torch.relu(hidden[0] if len(hidden) == 1 else torch.cat(hidden, dim=-1))
    if 'w2' in params:
        hidden = torch.relu(torch.baddbmm(params['b2'].unsqueeze(1), hidden, params['w2']))
    output = torch.baddbmm(params['b3'].unsqueeze(1), hidden, params['w3'])
    if 'w_linear' in params:
        n_path = output.shape[0] if n_path is None else int(n_path)
        if n_path == output.shape[0]:
            output = output + torch.baddbmm(params['b_linear'].unsqueeze(1), inputs, params['w_linear'])
        elif n_path > 0:
            linear = torch.baddbmm(params['b_linear'][:n_path].unsqueeze(1), inputs[:n_path],
                                   params['w_linear'][:n_path])
            output = torch.cat([output[:n_path] + linear, output[n_path:]])
    return output


class _FlatAdam:
    """Adam over all parameters of ``S`` networks kept in one (S, P) buffer, one row per network.

    The update is ``torch.optim``'s Adam (functional form, its fused kernel where available), with the
    L2 weight decay added to the gradient (as ``torch.optim.Adam`` adds it). Keeping every
    parameter in one buffer makes a step one kernel over the buffer instead of several per parameter
    tensor, and networks whose early stopping has ended are dropped from the buffer
    (:meth:`keep`), so later steps cost only what the networks still training need. Each network's
    update reads only its own row: dropping rows changes no other network's result.
    """

    def __init__(self, params, weight_decay, learning_rate, betas=(0.9, 0.999), eps=1e-8):
        self.names = list(params)
        self.shapes = [tuple(params[name].shape[1:]) for name in self.names]
        self.flat = self.flatten(params)
        self.weight_decay = float(weight_decay)
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.learning_rate, self.betas, self.eps = learning_rate, betas, eps
        self.steps = torch.zeros((), dtype=torch.float32)  # a tensor, as torch's Adam keeps it
        self.fused = self.flat.device.type in _FUSED_DEVICES and self.flat.dtype in (torch.float32, torch.float64)
        self._bind()

    def columns(self):
        """``(name, shape, slice of the buffer's columns)`` of every parameter, in buffer order."""
        offset = 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            yield name, shape, slice(offset, offset + size)
            offset += size

    def flatten(self, values):
        """A dict of parameter tensors (each with a leading dimension of S) as one (S, P) buffer."""
        n_fits = next(iter(values.values())).shape[0]
        return torch.cat([values[name].reshape(n_fits, -1) for name in self.names], dim=1)

    def _bind(self):
        """Re-create the per-parameter views of the buffer that the forward pass differentiates."""
        self.params = {name: self.flat[:, columns].view(self.flat.shape[0], *shape).requires_grad_(True)
                       for name, shape, columns in self.columns()}

    def unflatten(self, flat):
        """A (S, P) buffer as a dict of parameter tensors (copies)."""
        return {name: flat[:, columns].reshape(flat.shape[0], *shape).clone()
                for name, shape, columns in self.columns()}

    def step(self):
        with torch.no_grad():
            # a parameter no network used in this step (the linear path while only the paper's networks train) has
            # no gradient: zero
            grads = [self.params[name].grad for name in self.names]
            grad = torch.cat([(torch.zeros_like(self.params[name]) if value is None else value)
                              .reshape(len(self.flat), -1) for name, value in zip(self.names, grads)], dim=1)
            for name in self.names:
                self.params[name].grad = None
            self.steps.add_(1)
            beta1, beta2 = self.betas
            # torch's fused Adam kernel where it exists for this device and type: one pass over the buffer
            adam([self.flat], [grad], [self.exp_avg], [self.exp_avg_sq], [], [self.steps], fused=self.fused,
                 foreach=None if self.fused else False, amsgrad=False, beta1=beta1, beta2=beta2,
                 lr=self.learning_rate, weight_decay=self.weight_decay, eps=self.eps, maximize=False)

    def keep(self, rows):
        """Keep only the networks at ``rows`` (a LongTensor of row indices)."""
        self.flat, self.exp_avg, self.exp_avg_sq = self.flat[rows], self.exp_avg[rows], self.exp_avg_sq[rows]
        self._bind()


PAPER_PREFIX = 'paper.'


def train(inputs, targets, group_sizes, config, seeds, device, dtype=torch.float32, progress=None,
          linear_kernels=None):
    """Train one NRP per leading index of ``inputs``, with early stopping (and, by default, the validated choice).

    With ``config.linear_path`` and ``config.paper_candidate`` two networks train per fit on the same fit and
    validation rows, the linear-path network and the paper's, and the fit predicts with the convex combination
    of the two with the lowest validation MSE (:func:`choose_mix`). The two train in one batch
    (:func:`train_network` with ``twins=True``), so they share every step's overhead. The returned parameters
    then hold both networks (the paper's under the prefix ``'paper.'``) and ``'mix'`` (S, 2), the two weights,
    which :func:`predict` and :func:`new_row_offset` apply; ``info`` adds ``mix`` and ``candidate_validation_mse``
    (S, 3: the linear-path network, the combination, the paper's network) and ``paper_best_epoch``.
    Parameters and returns otherwise as :func:`train_network`.
    """
    twins = bool(config.linear_path and config.paper_candidate)
    params, layout, info = train_network(inputs, targets, group_sizes, config, seeds, device, dtype=dtype,
                                         progress=progress, linear_kernels=linear_kernels, twins=twins)
    residual = info.pop('validation_residual')
    if not twins:
        return params, layout, info
    n_fits = len(seeds)
    rows = info['validation_rows']
    if not torch.equal(rows[:n_fits], rows[n_fits:]):  # same seeds, same carve-out
        raise RuntimeError("The two networks of the validated choice were validated on different rows.")
    mix, errors = choose_mix(residual[:n_fits], residual[n_fits:])
    combined = {name: value[:n_fits] for name, value in params.items()}
    combined.update({PAPER_PREFIX + name: value[n_fits:] for name, value in params.items()
                     if name not in ('w_linear', 'b_linear')})
    combined['mix'] = mix.to(params['w3'])
    info.update(mix=mix.numpy(), candidate_validation_mse=errors.numpy(), paper_best_epoch=info['best_epoch'][n_fits:],
                best_epoch=info['best_epoch'][:n_fits], best_validation_mse=info['best_validation_mse'][:n_fits],
                validation_rows=rows[:n_fits])
    return combined, layout, info


def choose_mix(linear_residual, paper_residual):
    """Each fit's weights ``(w, 1 - w)`` of the two networks: the ``w`` in [0, 1] that minimises the validation MSE
    of ``w * linear + (1 - w) * paper``, in closed form (a quadratic in ``w``, clipped to [0, 1]).

    Identical residuals (nothing to choose) keep the linear-path network: ``w = 1``.

    Parameters
    ----------
    linear_residual, paper_residual : Tensor, shape (S, n_validation, n_targets)
        Each network's validation prediction minus the validation targets.

    Returns
    -------
    mix : Tensor, shape (S, 2), float64, on the CPU
    errors : Tensor, shape (S, 3), float64
        The validation MSE of the linear-path network, of the chosen combination and of the paper's network.
    """
    linear_residual, paper_residual = linear_residual.double().cpu(), paper_residual.double().cpu()
    difference = linear_residual - paper_residual
    spread = (difference ** 2).sum(dim=(1, 2))
    pull = -(paper_residual * difference).sum(dim=(1, 2))
    weight = torch.where(spread > 0, (pull / spread.clamp(min=torch.finfo(torch.float64).tiny)).clamp(0, 1),
                         torch.ones_like(spread))
    mix = torch.stack([weight, 1 - weight], dim=1)
    errors = torch.stack([(linear_residual ** 2).mean(dim=(1, 2)),
                          ((weight[:, None, None] * difference + paper_residual) ** 2).mean(dim=(1, 2)),
                          (paper_residual ** 2).mean(dim=(1, 2))], dim=1)
    return mix, errors


def train_network(inputs, targets, group_sizes, config, seeds, device, dtype=torch.float32, progress=None,
                  linear_kernels=None, twins=False):
    """Train one network of ``config``'s design per leading index of ``inputs``, with early stopping.

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
    linear_kernels : GroupKernels, optional
        The layers' Gram matrices for these fits (:mod:`nrp_plugin.core.linear_start`): the linear path then
        starts at ridge on every component of every layer, the part outside the inputs held fixed. Without
        them it starts at ridge on the inputs.
    twins : bool
        With ``config.linear_path``: also train, in the same batch, the paper's network of every fit (same seed,
        so the same initial draws, validation carve-out and batch order), on the fit's original targets. The
        batch then holds ``2 S`` networks, the linear-path networks first; the paper's carry a linear path that
        the forward pass skips (``n_path``), so it stays at zero. Each network keeps its own early stopping, and
        the result equals training the two designs one after the other.

    Returns
    -------
    params : dict of Tensor
        The parameters of each fit at its best validation epoch.
    layout : tuple of int
        The group sizes, for :func:`forward` and :func:`predict`.
    info : dict
        ``best_epoch`` (array, shape (S,)), ``best_validation_mse`` (array, shape (S,)), ``epochs_run``
        (epochs until the last fit stopped), ``validation_rows`` (S, n_validation) and ``validation_residual``
        (S, n_validation, n_targets: the returned network's validation prediction minus the targets); with
        ``linear_kernels`` also ``linear_start``
        (:func:`nrp_plugin.core.linear_start.ridge_start`'s result), from which :func:`new_row_offset` gives
        the fixed part's prediction on the new rows. With ``twins`` the parameters and the per-network entries
        have ``2 S`` rows, the paper's networks last.
    """
    n_fits, n_rows, _ = inputs.shape
    if len(seeds) != n_fits:
        raise ValueError(f"{len(seeds)} seeds for {n_fits} fits.")
    n_validation = max(1, int(round(config.validation_fraction * n_rows)))
    n_fit = n_rows - n_validation
    if n_fit < 1:
        raise ValueError(f"{n_rows} training rows are too few to hold out a validation part; "
                         f"at least 2 are needed.")
    if twins and not config.linear_path:
        raise ValueError("twins=True trains the paper's network beside the linear-path network; it needs linear_path.")
    n_nets = 2 * n_fits if twins else n_fits
    n_path = n_fits if config.linear_path else 0  # the leading networks that have a linear path
    layout = tuple(int(size) for size in group_sizes)
    fan_in = active_columns(inputs, layout)
    params, layout, generators = init_parameters(layout, targets.shape[-1], config, list(seeds) * (n_nets // n_fits),
                                                 dtype, fan_in=np.concatenate([fan_in] * (n_nets // n_fits)))
    orders = torch.stack([torch.randperm(n_rows, generator=generator) for generator in generators])
    fit_rows, validation_rows = orders[:, :n_fit], orders[:, n_fit:]
    start = None  # ridge on every component: its part on the inputs starts the linear path, the rest is fixed
    path_targets = targets
    if config.linear_path and linear_kernels is not None:
        start = ridge_start(linear_kernels, inputs, targets, fit_rows[:n_fits], validation_rows[:n_fits])
        params['w_linear'] = start['w_linear'].to('cpu', dtype)
        params['b_linear'] = start['b_linear'].to('cpu', dtype)
        # the network learns what the fixed part leaves
        path_targets = targets.to(start['w_linear']) - fixed_part(start, start['every_rows'], inputs)
    inputs = inputs.to(device=device, dtype=dtype)
    path_targets = path_targets.to(device=device, dtype=dtype)
    targets = torch.cat([path_targets, targets.to(device=device, dtype=dtype)]) if twins else path_targets
    if twins:
        inputs = torch.cat([inputs, inputs])
    fit_x, fit_y = _take_rows(inputs, fit_rows), _take_rows(targets, fit_rows)
    val_x, val_y = _take_rows(inputs, validation_rows), _take_rows(targets, validation_rows)
    every_val_x, every_val_y = val_x, val_y  # every network's, for the residuals once training ends
    if config.linear_path and start is None:
        params.update(linear_path_init(fit_x[:n_fits], fit_y[:n_fits], dtype))
    if twins:  # the paper's networks' linear path: zero, and never used, so never changed
        for name in ('w_linear', 'b_linear'):
            params[name] = torch.cat([params[name], torch.zeros_like(params[name])])
    # the same weight decay on every parameter, the linear path included: measured on the validity sweep and
    # the teacher world against a linear path exempt from it (docs/validity.md)
    optimizer = _FlatAdam({name: value.to(device) for name, value in params.items()}, config.weight_decay,
                          config.learning_rate)
    best_flat = optimizer.flat.detach().clone()
    best_loss = torch.full((n_nets,), float('inf'), dtype=torch.float64)
    if config.linear_path:  # epoch 0: the linear path alone (NRP-out silenced) is the first candidate
        for name, _, columns in optimizer.columns():
            if name in ('w3', 'b3'):
                best_flat[:n_path, columns] = 0
        silenced = optimizer.unflatten(best_flat[:n_path])
        with torch.no_grad():
            best_loss[:n_path] = ((forward(silenced, layout, val_x[:n_path]) - val_y[:n_path]) ** 2
                                  ).mean(dim=(1, 2)).double().cpu()
    final_flat = best_flat.clone()
    best_epoch = np.zeros(n_nets, dtype=int)
    waited = np.zeros(n_nets, dtype=int)
    running = np.arange(n_nets)  # the networks still training, in the order of the buffer's rows (ascending)
    val_blocks = split_groups(val_x, layout)
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        permutation = torch.stack([torch.randperm(n_fit, generator=generators[index]) for index in running])
        # the epoch's row order applied once; mini-batches are then views of consecutive rows
        epoch_x, epoch_y = _take_rows(fit_x, permutation), _take_rows(fit_y, permutation)
        epoch_blocks = split_groups(epoch_x, layout)
        running_path = int((running < n_path).sum())  # the linear-path networks lead the buffer
        for first in range(0, n_fit, config.batch_size):
            stop = first + config.batch_size
            prediction = forward(optimizer.params, layout, epoch_x[:, first:stop],
                                 [block[:, first:stop] for block in epoch_blocks], n_path=running_path)
            loss = ((prediction - epoch_y[:, first:stop]) ** 2).mean(dim=(1, 2)).sum()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            validation = ((forward(optimizer.params, layout, val_x, val_blocks, n_path=running_path) - val_y) ** 2
                          ).mean(dim=(1, 2))
        validation = validation.double().cpu()
        improved = (validation < best_loss[running]).numpy()
        if improved.any():
            rows = torch.from_numpy(improved).to(best_flat.device)
            best_flat = torch.where(rows[:, None], optimizer.flat.detach(), best_flat)
            best_loss[running[improved]] = validation[torch.from_numpy(improved)]
            best_epoch[running[improved]] = epoch
        waited[running[improved]] = 0
        waited[running[~improved]] += 1
        done = waited[running] >= config.patience
        if progress is not None:
            progress(epoch, int((~done).sum()))
        if done.any():
            final_flat[torch.as_tensor(running[done])] = best_flat[torch.from_numpy(done).to(best_flat.device)]
            if done.all():
                break
            rows = torch.from_numpy(np.flatnonzero(~done)).to(best_flat.device)
            optimizer.keep(rows)
            best_flat = best_flat[rows]
            fit_x, fit_y, val_x, val_y = fit_x[rows], fit_y[rows], val_x[rows], val_y[rows]
            val_blocks = split_groups(val_x, layout)
            running = running[~done]
    else:
        final_flat[torch.as_tensor(running)] = best_flat
    final = optimizer.unflatten(final_flat)
    with torch.no_grad():
        residual = forward(final, layout, every_val_x, n_path=n_path) - every_val_y
    info = dict(best_epoch=best_epoch, best_validation_mse=best_loss.numpy(), epochs_run=epoch,
                validation_rows=validation_rows, validation_residual=residual)
    if start is not None:
        info['linear_start'] = start
    return final, layout, info


def new_row_offset(info, new_inputs):
    """The linear path's fixed part on new rows (S, n_new, n_targets), float64, from ``info['linear_start']``.

    ``new_inputs`` (S, n_new, n_inputs) are the prepared inputs of the rows ``linear_kernels.new_rows`` named.
    """
    start = info['linear_start']
    offset = fixed_part(start, start['every_new'], new_inputs)
    if 'mix' in info:  # the validated choice weighs the linear-path network, and with it its fixed part
        offset = offset * torch.as_tensor(info['mix'][:, 0], dtype=offset.dtype, device=offset.device)[:, None, None]
    return offset


def _take_rows(tensor, rows):
    """``tensor[s, rows[s]]`` for every leading index ``s``: (S, n, d) and (S, m) -> (S, m, d)."""
    batch = torch.arange(tensor.shape[0], device=tensor.device)[:, None]
    return tensor[batch, rows.to(tensor.device)]


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


def predict(params, layout, inputs, device, dtype=torch.float32):
    """Predictions of trained networks, shape (S, n_rows, n_targets).

    Parameters holding the validated choice (:func:`train`) predict the chosen mix of their two networks.
    """
    inputs = inputs.to(device=device, dtype=dtype)
    with torch.no_grad():
        if 'mix' not in params:
            return forward(params, layout, inputs)
        own = {name: value for name, value in params.items() if name != 'mix' and not name.startswith(PAPER_PREFIX)}
        paper = {name[len(PAPER_PREFIX):]: value for name, value in params.items() if name.startswith(PAPER_PREFIX)}
        mix = params['mix'].to(device=device, dtype=dtype)
        return (mix[:, 0, None, None] * forward(own, layout, inputs)
                + mix[:, 1, None, None] * forward(paper, layout, inputs))
