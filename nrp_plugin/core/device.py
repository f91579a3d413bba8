"""The one place where the compute device is chosen."""
import os

import torch

_VALID = ('auto', 'cpu', 'cuda')
ENV_VAR = 'NRP_PLUGIN_DEVICE'  # what 'auto' resolves to when set (the CLI's --device sets it)


def resolve_device(device='auto'):
    """Return the torch device to compute on.

    Parameters
    ----------
    device : {'auto', 'cpu', 'cuda'} or torch.device
        ``'auto'`` picks ``$NRP_PLUGIN_DEVICE`` when set, else CUDA when a GPU is visible and the
        CPU otherwise.

    Returns
    -------
    torch.device
    """
    if isinstance(device, torch.device):
        return device
    if device is None:
        device = 'auto'
    name = str(device).lower()
    if name == 'auto' and os.environ.get(ENV_VAR, 'auto').lower() != 'auto':
        name = os.environ[ENV_VAR].lower()
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if name.startswith('cuda'):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was asked for but no CUDA GPU is visible; "
                             f"use device='auto' or 'cpu'.")
        return torch.device(name)
    if name == 'cpu':
        return torch.device('cpu')
    raise ValueError(f"Unknown device {device!r}; choose one of {_VALID}.")
