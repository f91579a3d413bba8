"""The NRP network: its settings, its parameters and its forward pass, for ``S`` networks at once.

Architecture (Anand, Sen & Roy 2021, Fig. 1B):
NRP-L1: one dense block per input group (each fed only its group's columns), ReLU;
the blocks' outputs concatenated; NRP-L2: dense, ReLU; NRP-out: linear, one output per target.

With ``linear_path=True`` (the default) NRP-out also reads the inputs directly, through a linear path
(``w_linear``, ``b_linear``) that starts at a ridge solution of the fit rows; the rest starts as the paper's.
``linear_path=False`` is the paper's network. How the networks are trained, and how the linear path starts,
is :mod:`.training`; the validated choice between the linear-path network and the paper's, whose parameters
:func:`predict` also reads, is :mod:`.combination`.

Every function here works on a batch of ``S`` independent networks: each parameter tensor has a leading
dimension of ``S``, and network ``s`` reads only index ``s`` of the inputs.
"""
from dataclasses import asdict, dataclass

import numpy as np
import torch

#: Prefix of the paper's network's parameters in the parameters of the validated choice
#: (:func:`nrp_plugin.core.combination.train`), which also hold ``'mix'``, the two networks' weights.
PAPER_PREFIX = 'paper.'


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
        epoch-0 candidate of early stopping (:mod:`nrp_plugin.core.training`). ``False``: the paper's architecture.
    paper_candidate : bool
        With ``linear_path``: also train the paper's network on the same rows and predict, per fit, with the
        convex combination of the two networks whose weight minimises the validation MSE
        (:mod:`nrp_plugin.core.combination`). Ignored without ``linear_path``.
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
    """Draws from U(-bound, bound) of ``shape``, made in float64 from ``generator`` and cast to ``dtype``."""
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
        networks trained in the same batch, :func:`nrp_plugin.core.training.train_network`). Default: all.

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


def predict(params, layout, inputs, device, dtype=torch.float32):
    """Predictions of trained networks.

    Parameters holding the validated choice (:func:`nrp_plugin.core.combination.train`) predict the chosen mix
    of their two networks.

    Parameters
    ----------
    params : dict of Tensor
        Each with a leading dimension of ``S``.
    layout : tuple of int
        Input columns of each group.
    inputs : Tensor, shape (S, n_rows, n_inputs)
    device : torch.device
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape (S, n_rows, n_targets)
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
