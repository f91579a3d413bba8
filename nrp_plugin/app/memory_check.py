"""Refuse a run whose activations cannot fit in memory, before any of them is computed.

A comparison records every layer a model's benchmarks read, for all scored stimuli at once
(:mod:`nrp_plugin.app.activation_memo`): ``n_stimuli x features x 4`` bytes, and Brain-Score's packaging
holds a second copy while it assembles them. :func:`check_activation_memory` measures each layer's width
with one blank image through the network and compares twice the activations' size with the memory the
system reports available, so a run that would be killed after an hour of forward passes stops at once
with the size it needs and the option that lowers it.
"""
import torch

from .checks import CompareError

#: Copies of the activations alive at the peak: Brain-Score's per-layer arrays and the packaged assembly.
PACKAGING_COPIES = 2


class ActivationMemoryError(CompareError):
    """The activations a run would record do not fit in the available memory."""


def available_bytes():
    """Memory the system can give this process without swapping (``MemAvailable``), or None if unknown."""
    try:
        with open('/proc/meminfo') as handle:
            for line in handle:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def layer_widths(model, layers):
    """Features per stimulus of each layer, from one blank image; None when the model is not a torch network
    wrapped by Brain-Score's ``PytorchWrapper`` (whose ``_model`` and ``image_size`` this reads)."""
    extractor = getattr(model, 'activations_model', None)
    network = getattr(extractor, '_model', None)
    image_size = getattr(extractor, 'image_size', None)
    if not isinstance(network, torch.nn.Module) or not image_size or not layers:
        return None
    widths, hooks = {}, []
    modules = dict(network.named_modules())
    try:
        for layer in layers:
            if layer not in modules:
                return None
            hooks.append(modules[layer].register_forward_hook(
                lambda module, inputs, output, name=layer: widths.__setitem__(name, int(output[0].numel()))))
        parameter = next(network.parameters(), None)
        device = parameter.device if parameter is not None else torch.device('cpu')
        dtype = parameter.dtype if parameter is not None else torch.float32
        was_training = network.training
        network.eval()
        with torch.no_grad():
            network(torch.zeros(1, 3, int(image_size), int(image_size), device=device, dtype=dtype))
        network.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    return widths if set(widths) == set(layers) else None


def check_activation_memory(model, model_id, layers, n_stimuli, available=None):
    """Raise :class:`ActivationMemoryError` when recording ``layers`` on ``n_stimuli`` would not fit.

    Returns
    -------
    int or None
        The bytes needed at the peak, or None when the widths or the available memory are unknown.
    """
    widths = layer_widths(model, layers)
    available = available_bytes() if available is None else available
    if widths is None or available is None:
        return None
    features = sum(widths.values())
    needed = PACKAGING_COPIES * 4 * n_stimuli * features
    if needed > available:
        widest = max(widths, key=widths.get)
        raise ActivationMemoryError(
            f"{model_id}: recording {len(layers)} layers ({features:,} features per stimulus, the widest "
            f"'{widest}' with {widths[widest]:,}) on {n_stimuli:,} stimuli needs about {needed / 2 ** 30:.1f} GB "
            f"(float32, {PACKAGING_COPIES} copies while Brain-Score packages them); {available / 2 ** 30:.1f} GB "
            f"are available. Score one region at a time (--regions V4, then --regions IT) so only that region's "
            f"layers are recorded, or free memory.")
    return needed
