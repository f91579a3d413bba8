"""Training of NRP networks, batched over independent fits (cross-validation splits), with early stopping.

Every fit in a batch has its own parameters, its own random initialisation, validation carve-out
and mini-batch order (each drawn from its own seeded generator), and its own early stopping; the
batch only shares the arithmetic. Because Adam is element-wise and the loss is a sum of per-fit
losses, training ``S`` fits together gives the same result as training each alone.

With a linear path (:class:`nrp_plugin.core.network.NRPConfig`), the path is initialised at a ridge solution of
the fit rows (penalty per target by leave-one-out on those rows) and trained with the rest of the network (same
Adam, same weight decay). Given the layers' Gram matrices (``linear_kernels``), the ridge is the better, on the
validation rows, of ridge on the inputs and ridge on every component of every layer, whose part outside the inputs
is held fixed (:mod:`nrp_plugin.core.linear_start`); without them, ridge on the inputs. Early stopping counts
"epoch 0" as a candidate: the linear path alone, with NRP-out silenced, which predicts exactly what ridge
predicts. A fit that never beats ridge on its validation part returns ridge; the network departs from the best
linear map only where that lowers the validation error. The validity sweep (docs/validity.md) shows why: without
the path, the paper's network cannot match tuned ridge where the truth is linear and spread over many directions.

:func:`train_network` trains one design; with ``twins=True`` it also trains the paper's network of every fit in
the same batch, for the validated choice of :mod:`nrp_plugin.core.combination`.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch.optim.adam import adam

from .linear_start import fixed_part, ridge_start
from .network import active_columns, forward, init_parameters, split_groups
from .ridge import ridge_coefficients

# devices with torch's fused Adam kernel (CPU since torch 2.4); elsewhere the reference implementation runs
_FUSED_DEVICES = ('cpu', 'cuda')


class _FlatAdam:
    """Adam over all parameters of ``S`` networks kept in one (S, P) buffer, one row per network.

    Each step is ``torch.optim.Adam``'s step (torch's functional form, its fused kernel where available): the L2
    weight decay added to the gradient, the moment estimates and their bias correction at the step count, the
    same learning rate, betas and eps, and for every network the same result as ``torch.optim.Adam`` on that
    network's parameters alone. Keeping every parameter in one buffer makes a step one kernel over the buffer
    instead of several per parameter tensor, and networks whose early stopping has ended are dropped from the
    buffer (:meth:`keep`), so later steps cost only what the networks still training need. Each network's update
    reads only its own row: dropping rows changes no other network's result. The step count is shared, as every
    network in the buffer takes every step.

    Parameters
    ----------
    params : dict of str -> Tensor
        Each with a leading dimension of ``S``; copied into the buffer, in the dict's order.
    weight_decay, learning_rate : float
    betas : tuple of float
    eps : float

    Attributes
    ----------
    flat : Tensor, shape (S, P)
        The buffer.
    params : dict of str -> Tensor
        Views of the buffer, one per parameter, that the forward pass differentiates.
    """

    def __init__(self, params, weight_decay, learning_rate, betas=(0.9, 0.999), eps=1e-8):
        self.names = list(params)
        self.shapes = [tuple(params[name].shape[1:]) for name in self.names]
        self.flat = self.flatten(params)
        self.weight_decay = float(weight_decay)
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.learning_rate, self.betas, self.eps = learning_rate, betas, eps
        self.fused = self.flat.device.type in _FUSED_DEVICES and self.flat.dtype in (torch.float32, torch.float64)
        # the step count, a tensor as torch's Adam keeps it: on the parameters' device for the fused kernel, which
        # reads it there; the functional form advances it by one before each update
        self.steps = torch.zeros((), dtype=torch.float32, device=self.flat.device if self.fused else 'cpu')
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
        """One Adam step of every network from the gradients of ``params``, which it then clears."""
        with torch.no_grad():
            # a parameter no network used in this step (the linear path while only the paper's networks train) has
            # no gradient: zero. The paper's networks' linear path is zero with zero moments, so it stays zero, as a
            # parameter torch.optim.Adam is not given
            grads = [self.params[name].grad for name in self.names]
            grad = torch.cat([(torch.zeros_like(self.params[name]) if value is None else value)
                              .reshape(len(self.flat), -1) for name, value in zip(self.names, grads)], dim=1)
            for name in self.names:
                self.params[name].grad = None
            beta1, beta2 = self.betas
            # torch's fused Adam kernel where it exists for this device and type: one pass over the buffer
            adam([self.flat], [grad], [self.exp_avg], [self.exp_avg_sq], [], [self.steps], fused=self.fused,
                 foreach=None if self.fused else False, amsgrad=False, beta1=beta1, beta2=beta2,
                 lr=self.learning_rate, weight_decay=self.weight_decay, eps=self.eps, maximize=False)

    def keep(self, rows):
        """Keep only the networks at ``rows`` (a LongTensor of row indices)."""
        self.flat, self.exp_avg, self.exp_avg_sq = self.flat[rows], self.exp_avg[rows], self.exp_avg_sq[rows]
        self._bind()


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
    dtype : torch.dtype
        The type the networks are trained in.
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
        The group sizes, for :func:`nrp_plugin.core.network.forward` and :func:`nrp_plugin.core.network.predict`.
    info : dict
        ``best_epoch`` (array, shape (S,)), ``best_validation_mse`` (array, shape (S,)), ``epochs_run``
        (epochs until the last fit stopped), ``validation_rows`` (S, n_validation) and ``validation_residual``
        (S, n_validation, n_targets: the returned network's validation prediction minus the targets); with
        ``linear_kernels`` also ``linear_start``
        (:func:`nrp_plugin.core.linear_start.ridge_start`'s result), from which
        :func:`nrp_plugin.core.combination.new_row_offset` gives the fixed part's prediction on the new rows. With
        ``twins`` the parameters and the per-network entries have ``2 S`` rows, the paper's networks last.
    """
    n_fits, n_rows, _ = inputs.shape
    n_fit = _check_batch(n_fits, n_rows, seeds, config, twins)
    copies = 2 if twins else 1  # the linear-path networks, then the paper's (twins)
    n_nets = copies * n_fits
    n_path = n_fits if config.linear_path else 0  # the leading networks that have a linear path
    layout = tuple(int(size) for size in group_sizes)
    params, layout, generators = init_parameters(layout, targets.shape[-1], config, list(seeds) * copies, dtype,
                                                 fan_in=np.concatenate([active_columns(inputs, layout)] * copies))
    fit_rows, validation_rows = carve_out(generators, n_rows, n_fit)
    start = None  # ridge on every component: its part on the inputs starts the linear path, the rest is fixed
    path_targets = targets
    if config.linear_path and linear_kernels is not None:
        start, path_targets = _kernel_start(params, linear_kernels, inputs, targets, fit_rows[:n_fits],
                                            validation_rows[:n_fits], dtype)
    rows = _Rows.gather(inputs, path_targets, targets if twins else None, fit_rows, validation_rows, layout, device,
                        dtype)
    every_val_x, every_val_y = rows.val_x, rows.val_y  # every network's, for the residuals once training ends
    if config.linear_path and start is None:
        params.update(linear_path_init(rows.fit_x[:n_fits], rows.fit_y[:n_fits], dtype))
    if twins:  # the paper's networks' linear path: zero, and never used, so never changed
        for name in ('w_linear', 'b_linear'):
            params[name] = torch.cat([params[name], torch.zeros_like(params[name])])
    # the same weight decay on every parameter, the linear path included: measured on the validity sweep and
    # the teacher world against a linear path exempt from it (docs/validity.md)
    optimizer = _FlatAdam({name: value.to(device) for name, value in params.items()}, config.weight_decay,
                          config.learning_rate)
    stopping = _EarlyStopping(*_epoch_zero(optimizer, layout, rows, n_path, n_nets, config.linear_path),
                              config.patience)
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        order = batch_order(generators, stopping.running, n_fit)
        running_path = int((stopping.running < n_path).sum())  # the linear-path networks lead the buffer
        _run_epoch(optimizer, layout, rows, order, config.batch_size, running_path)
        done = stopping.record(epoch, _validation_mse(optimizer.params, layout, rows, running_path), optimizer.flat)
        if progress is not None:
            progress(epoch, int((~done).sum()))
        if done.any():
            kept = stopping.stop(done)
            if not len(stopping.running):
                break
            optimizer.keep(kept)
            rows = rows.keep(kept)
    stopping.finish()
    final = optimizer.unflatten(stopping.final_flat)
    with torch.no_grad():
        residual = forward(final, layout, every_val_x, n_path=n_path) - every_val_y
    info = dict(best_epoch=stopping.best_epoch, best_validation_mse=stopping.best_loss.numpy(), epochs_run=epoch,
                validation_rows=validation_rows, validation_residual=residual)
    if start is not None:
        info['linear_start'] = start
    return final, layout, info


def _check_batch(n_fits, n_rows, seeds, config, twins):
    """Raise where the batch cannot be trained; return the number of fit rows (those outside the validation part).

    Parameters
    ----------
    n_fits, n_rows : int
    seeds : sequence of int
    config : NRPConfig
    twins : bool

    Returns
    -------
    int
    """
    if len(seeds) != n_fits:
        raise ValueError(f"{len(seeds)} seeds for {n_fits} fits.")
    n_validation = max(1, int(round(config.validation_fraction * n_rows)))
    n_fit = n_rows - n_validation
    if n_fit < 1:
        raise ValueError(f"{n_rows} training rows are too few to hold out a validation part; "
                         f"at least 2 are needed.")
    if twins and not config.linear_path:
        raise ValueError("twins=True trains the paper's network beside the linear-path network; it needs linear_path.")
    return n_fit


def carve_out(generators, n_rows, n_fit):
    """Each network's fit rows and validation rows, from one permutation drawn from its generator.

    Parameters
    ----------
    generators : list of torch.Generator, length S
    n_rows, n_fit : int

    Returns
    -------
    fit_rows : Tensor of int, shape (S, n_fit)
    validation_rows : Tensor of int, shape (S, n_rows - n_fit)
    """
    orders = torch.stack([torch.randperm(n_rows, generator=generator) for generator in generators])
    return orders[:, :n_fit], orders[:, n_fit:]


def batch_order(generators, running, n_fit):
    """One epoch's order of the fit rows of each network still training, each drawn from its own generator.

    Parameters
    ----------
    generators : list of torch.Generator
        Every network's.
    running : ndarray of int, shape (R,)
        The networks still training.
    n_fit : int

    Returns
    -------
    Tensor of int, shape (R, n_fit)
        Positions among each network's fit rows.
    """
    return torch.stack([torch.randperm(n_fit, generator=generators[index]) for index in running])


def _kernel_start(params, linear_kernels, inputs, targets, fit_rows, validation_rows, dtype):
    """Start the linear path at the ridge that validates better (:func:`nrp_plugin.core.linear_start.ridge_start`).

    Sets ``params['w_linear']`` and ``params['b_linear']`` (on the CPU, in ``dtype``).

    Parameters
    ----------
    params : dict of Tensor
    linear_kernels : GroupKernels
    inputs : Tensor, shape (S, n_rows, n_inputs)
    targets : Tensor, shape (S, n_rows, n_targets)
    fit_rows, validation_rows : Tensor of int, shapes (S, n_fit) and (S, n_validation)
    dtype : torch.dtype

    Returns
    -------
    start : dict
        ``ridge_start``'s result.
    path_targets : Tensor, shape (S, n_rows, n_targets), float64
        What the fixed part leaves of the targets: what the linear-path networks learn.
    """
    start = ridge_start(linear_kernels, inputs, targets, fit_rows, validation_rows)
    params['w_linear'] = start['w_linear'].to('cpu', dtype)
    params['b_linear'] = start['b_linear'].to('cpu', dtype)
    return start, targets.to(start['w_linear']) - fixed_part(start, start['every_rows'], inputs)


@dataclass(eq=False)
class _Rows:
    """Every running network's fit and validation rows, on the training device.

    Attributes
    ----------
    fit_x : Tensor, shape (R, n_fit, n_inputs)
    fit_y : Tensor, shape (R, n_fit, n_targets)
    val_x : Tensor, shape (R, n_validation, n_inputs)
    val_y : Tensor, shape (R, n_validation, n_targets)
    val_blocks : list of Tensor
        ``val_x``'s groups (:func:`nrp_plugin.core.network.split_groups`).
    layout : tuple of int
    """
    fit_x: torch.Tensor
    fit_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    val_blocks: list
    layout: tuple

    @classmethod
    def gather(cls, inputs, path_targets, twin_targets, fit_rows, validation_rows, layout, device, dtype):
        """The rows of every network: the linear-path (or only) networks' on ``path_targets``, then, with
        ``twin_targets``, the paper's networks' on those.

        Parameters
        ----------
        inputs : Tensor, shape (S, n_rows, n_inputs)
        path_targets : Tensor, shape (S, n_rows, n_targets)
        twin_targets : Tensor, shape (S, n_rows, n_targets), or None
        fit_rows, validation_rows : Tensor of int, shapes (N, n_fit) and (N, n_validation)
            ``N`` is ``S``, or ``2 S`` with ``twin_targets``.
        layout : tuple of int
        device : torch.device
        dtype : torch.dtype
        """
        inputs = inputs.to(device=device, dtype=dtype)
        targets = path_targets.to(device=device, dtype=dtype)
        if twin_targets is not None:
            targets = torch.cat([targets, twin_targets.to(device=device, dtype=dtype)])
            inputs = torch.cat([inputs, inputs])
        val_x = _take_rows(inputs, validation_rows)
        return cls(_take_rows(inputs, fit_rows), _take_rows(targets, fit_rows), val_x,
                   _take_rows(targets, validation_rows), split_groups(val_x, layout), layout)

    def keep(self, rows):
        """Only the networks at ``rows`` (a LongTensor of indices)."""
        val_x = self.val_x[rows]
        return _Rows(self.fit_x[rows], self.fit_y[rows], val_x, self.val_y[rows], split_groups(val_x, self.layout),
                     self.layout)


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
    dtype : torch.dtype

    Returns
    -------
    dict
        ``w_linear`` (S, n_inputs, n_targets) and ``b_linear`` (S, n_targets), on the CPU.
    """
    weights, intercepts = zip(*(ridge_coefficients(x, y) for x, y in zip(fit_inputs, fit_targets)))
    return {'w_linear': torch.as_tensor(np.stack(weights), dtype=dtype),
            'b_linear': torch.as_tensor(np.stack(intercepts), dtype=dtype)}


def _epoch_zero(optimizer, layout, rows, n_path, n_nets, linear_path):
    """Early stopping's first candidate: the initial parameters, and with a linear path, the path alone.

    With a linear path, the linear-path networks' candidate has NRP-out silenced (``w3``, ``b3`` zero), so it
    predicts what the linear path's ridge start predicts, and its validation error is their best so far; the
    others start with an infinite best error.

    Parameters
    ----------
    optimizer : _FlatAdam
        Holding the initial parameters of the ``n_nets`` networks.
    layout : tuple of int
    rows : _Rows
    n_path : int
        The leading networks that have a linear path.
    n_nets : int
    linear_path : bool

    Returns
    -------
    best_flat : Tensor, shape (n_nets, P)
        The candidate parameters, in the optimiser's buffer layout.
    best_loss : Tensor, shape (n_nets,), float64
        Their validation MSE.
    """
    best_flat = optimizer.flat.detach().clone()
    best_loss = torch.full((n_nets,), float('inf'), dtype=torch.float64)
    if linear_path:
        for name, _, columns in optimizer.columns():
            if name in ('w3', 'b3'):
                best_flat[:n_path, columns] = 0
        silenced = optimizer.unflatten(best_flat[:n_path])
        with torch.no_grad():
            best_loss[:n_path] = ((forward(silenced, layout, rows.val_x[:n_path]) - rows.val_y[:n_path]) ** 2
                                  ).mean(dim=(1, 2)).double().cpu()
    return best_flat, best_loss


def _run_epoch(optimizer, layout, rows, order, batch_size, n_path):
    """One pass over every running network's fit rows in its ``order``, one Adam step per mini-batch.

    Parameters
    ----------
    optimizer : _FlatAdam
    layout : tuple of int
    rows : _Rows
    order : Tensor of int, shape (R, n_fit)
        Each network's order of its fit rows (:func:`batch_order`).
    batch_size : int
    n_path : int
        The leading running networks that have a linear path.
    """
    # the epoch's row order applied once; mini-batches are then views of consecutive rows
    epoch_x, epoch_y = _take_rows(rows.fit_x, order), _take_rows(rows.fit_y, order)
    epoch_blocks = split_groups(epoch_x, layout)
    for first in range(0, epoch_x.shape[1], batch_size):
        stop = first + batch_size
        prediction = forward(optimizer.params, layout, epoch_x[:, first:stop],
                             [block[:, first:stop] for block in epoch_blocks], n_path=n_path)
        loss = ((prediction - epoch_y[:, first:stop]) ** 2).mean(dim=(1, 2)).sum()
        loss.backward()
        optimizer.step()


def _validation_mse(params, layout, rows, n_path):
    """Each running network's mean squared error on its validation rows, shape (R,), float64, on the CPU."""
    with torch.no_grad():
        validation = ((forward(params, layout, rows.val_x, rows.val_blocks, n_path=n_path) - rows.val_y) ** 2
                      ).mean(dim=(1, 2))
    return validation.double().cpu()


class _EarlyStopping:
    """Each network's best validation error, its epoch and its parameters, and which networks still train.

    Parameters
    ----------
    best_flat : Tensor, shape (N, P)
        The epoch-0 candidates (:func:`_epoch_zero`), one row per network.
    best_loss : Tensor, shape (N,), float64
        Their validation errors.
    patience : int
        Epochs without an improvement after which a network stops.

    Attributes
    ----------
    running : ndarray of int, shape (R,)
        The networks still training, in the order of the optimiser's rows (ascending).
    best_flat : Tensor, shape (R, P)
        The running networks' best parameters.
    best_loss : Tensor, shape (N,), float64
    best_epoch : ndarray of int, shape (N,)
    final_flat : Tensor, shape (N, P)
        The returned parameters: a network's row is its best once it has stopped (and once :meth:`finish` ran).
    """

    def __init__(self, best_flat, best_loss, patience):
        n_nets = len(best_loss)
        self.best_flat, self.best_loss, self.patience = best_flat, best_loss, patience
        self.final_flat = best_flat.clone()
        self.best_epoch = np.zeros(n_nets, dtype=int)
        self.waited = np.zeros(n_nets, dtype=int)
        self.running = np.arange(n_nets)

    def record(self, epoch, validation, flat):
        """Note one epoch's validation errors of the running networks.

        Parameters
        ----------
        epoch : int
        validation : Tensor, shape (R,), float64
        flat : Tensor, shape (R, P)
            The running networks' parameters after the epoch.

        Returns
        -------
        done : ndarray of bool, shape (R,)
            The running networks whose patience has run out.
        """
        running = self.running
        improved = (validation < self.best_loss[running]).numpy()
        if improved.any():
            rows = torch.from_numpy(improved).to(self.best_flat.device)
            self.best_flat = torch.where(rows[:, None], flat.detach(), self.best_flat)
            self.best_loss[running[improved]] = validation[torch.from_numpy(improved)]
            self.best_epoch[running[improved]] = epoch
        self.waited[running[improved]] = 0
        self.waited[running[~improved]] += 1
        return self.waited[running] >= self.patience

    def stop(self, done):
        """Stop the running networks marked in ``done`` (keeping their best parameters); return the optimiser's
        rows of those that go on, a LongTensor."""
        self.final_flat[torch.as_tensor(self.running[done])] = self.best_flat[
            torch.from_numpy(done).to(self.best_flat.device)]
        kept = torch.from_numpy(np.flatnonzero(~done)).to(self.best_flat.device)
        self.best_flat = self.best_flat[kept]
        self.running = self.running[~done]
        return kept

    def finish(self):
        """Keep the best parameters of the networks still running when training ends."""
        if len(self.running):
            self.final_flat[torch.as_tensor(self.running)] = self.best_flat
