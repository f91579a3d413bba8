"""The validated choice: the linear-path network and the paper's network, trained together and mixed.

With ``linear_path`` and ``paper_candidate`` (the defaults of :class:`nrp_plugin.core.network.NRPConfig`) the
paper's network also trains, on the same fit rows with the same validation carve-out, and each fit predicts with the
convex combination ``w * linear-path network + (1 - w) * paper's network`` whose ``w`` in [0, 1] minimises the
validation MSE (one number per fit, in closed form: :func:`choose_mix`). Where the truth is linear ``w`` stays near
1; on the teacher world, a nonlinear function of narrow layers, the paper's network takes a large share
(docs/validity.md). The two designs train as one batch of ``2 S`` networks
(:func:`nrp_plugin.core.training.train_network` with ``twins=True``), which gives exactly what training them one
after the other gives; the arithmetic of the second network is still paid (docs/speed.md).
"""
import torch

from .linear_start import fixed_part
from .network import PAPER_PREFIX
from .training import train_network


def train(inputs, targets, group_sizes, config, seeds, device, dtype=torch.float32, progress=None,
          linear_kernels=None):
    """Train one NRP per leading index of ``inputs``, with early stopping (and, by default, the validated choice).

    With ``config.linear_path`` and ``config.paper_candidate`` two networks train per fit on the same fit and
    validation rows, the linear-path network and the paper's, and the fit predicts with the convex combination
    of the two with the lowest validation MSE (:func:`choose_mix`). The two train in one batch
    (:func:`nrp_plugin.core.training.train_network` with ``twins=True``), so they share every step's overhead. The
    returned parameters then hold both networks (the paper's under the prefix
    :data:`nrp_plugin.core.network.PAPER_PREFIX`) and ``'mix'`` (S, 2), the two weights, which
    :func:`nrp_plugin.core.network.predict` and :func:`new_row_offset` apply; ``info`` adds ``mix`` (S, 2) and
    ``candidate_validation_mse`` (S, 3: the linear-path network, the combination, the paper's network) and
    ``paper_best_epoch`` (S,). Otherwise one design trains, and this is ``train_network``.

    Parameters
    ----------
    inputs : Tensor, shape (S, n_rows, n_inputs)
    targets : Tensor, shape (S, n_rows, n_targets)
    group_sizes : sequence of int
    config : NRPConfig
    seeds : sequence of int, length S
    device : torch.device
    dtype : torch.dtype
    progress : callable, optional
    linear_kernels : GroupKernels, optional
        As :func:`nrp_plugin.core.training.train_network` takes them.

    Returns
    -------
    params : dict of Tensor
        Each with a leading dimension of ``S``.
    layout : tuple of int
    info : dict
        As :func:`nrp_plugin.core.training.train_network` returns it, for the ``S`` fits (the linear-path networks'
        entries), without ``validation_residual``; with the entries above.
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


def new_row_offset(info, new_inputs):
    """The linear path's fixed part on new rows, from ``info['linear_start']``.

    Under the validated choice (``info['mix']``) it is weighed as the linear-path network is.

    Parameters
    ----------
    info : dict
        What :func:`train` returned, trained with ``linear_kernels``.
    new_inputs : Tensor, shape (S, n_new, n_inputs)
        The prepared inputs of the rows ``linear_kernels.new_rows`` named.

    Returns
    -------
    Tensor, shape (S, n_new, n_targets), float64
    """
    start = info['linear_start']
    offset = fixed_part(start, start['every_new'], new_inputs)
    if 'mix' in info:  # the validated choice weighs the linear-path network, and with it its fixed part
        offset = offset * torch.as_tensor(info['mix'][:, 0], dtype=offset.dtype, device=offset.device)[:, None, None]
    return offset
