"""Refuse a run whose activations cannot fit in memory (or on the scratch disk), before any is computed.

A comparison records every layer a model's benchmarks read, for all scored stimuli at once
(:mod:`nrp_plugin.app.activation_memo`): ``n_stimuli x features x 4`` bytes per copy.
:func:`check_activation_memory` measures each layer's width with one blank image through the network,
multiplies the activations' size by :data:`COPIES`, and compares the result with the memory the system
reports available. A run that would be killed after an hour of forward passes then stops at once, with
the size it needs, each region's share, and the option that lowers it.
"""
import shutil

import torch

from ..brainscore.extractor import network_of
from .checks import CompareError

#: Activation-sized copies at the peak of a run that records in memory (``--in-memory``, Brain-Score's own
#: extractor): Brain-Score's per-layer arrays, its packaged assembly, the layer selections and the metrics' reads
#: all count. The default, out-of-core recording holds one layer chunk at a time and is checked against the scratch
#: disk instead (:func:`check_scratch_space`).
COPIES = 4


class ActivationMemoryError(CompareError):
    """The activations a run would record do not fit in the available memory."""


class ScratchSpaceError(CompareError):
    """The layers a run records out of core do not fit on the scratch disk."""


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
    wrapped by Brain-Score's ``PytorchWrapper`` (:func:`nrp_plugin.brainscore.extractor.network_of`)."""
    network = network_of(model)
    image_size = getattr(getattr(model, 'activations_model', None), 'image_size', None)
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


def _recorded_widths(model, layers_by_region):
    """The union of the regions' layers, and each one's width (None when unknown)."""
    layers = list(dict.fromkeys(layer for names in layers_by_region.values() for layer in names))
    return layers, layer_widths(model, layers)


def _bytes_needed(widths, bytes_per_feature):
    """``needs(layers)``: the bytes of the distinct layers among ``layers``."""
    return lambda names: bytes_per_feature * sum(widths[name] for name in set(names))


def _gigabytes(size):
    return f'{size / 2 ** 30:.1f} GB'


def _shares(needs, layers_by_region):
    return ', '.join(f'{region} alone {_gigabytes(needs(names))}' for region, names in layers_by_region.items())


def check_activation_memory(model, model_id, layers_by_region, n_stimuli, available=None):
    """Raise :class:`ActivationMemoryError` when recording the regions' layers on ``n_stimuli`` would not fit.

    Parameters
    ----------
    layers_by_region : dict of str -> list of str
        The layers each region's benchmarks read; a run records their union.

    Returns
    -------
    int or None
        The bytes needed at the peak, or None when the widths or the available memory are unknown.
    """
    layers, widths = _recorded_widths(model, layers_by_region)
    available = available_bytes() if available is None else available
    if widths is None or available is None:
        return None
    needs = _bytes_needed(widths, COPIES * 4 * n_stimuli)
    needed = needs(layers)
    if needed > available:
        widest = max(widths, key=widths.get)
        shares = _shares(needs, layers_by_region)
        fitting = [region for region, names in layers_by_region.items() if needs(names) <= available]
        too_big = [region for region in layers_by_region if region not in fitting]
        if not fitting or len(layers_by_region) == 1:
            advice = "No single region fits: use a machine with more memory or fewer stimuli"
        elif not too_big:
            advice = "Score one region at a time: " + ', then '.join(f'--regions {region}' for region in fitting)
        else:
            advice = (f"Only {' and '.join(f'--regions {region}' for region in fitting)} "
                      f"{'fits' if len(fitting) == 1 else 'fit'} on its own here; {', '.join(too_big)} "
                      f"{'needs' if len(too_big) == 1 else 'need'} a machine with more memory")
        raise ActivationMemoryError(
            f"{model_id}: recording {len(layers)} layers ({sum(widths.values()):,} features per stimulus, the widest "
            f"'{widest}' with {widths[widest]:,}) on {n_stimuli:,} stimuli needs about {_gigabytes(needed)} "
            f"(float32, about {COPIES} copies at the peak; {shares}); {_gigabytes(available)} are available. "
            f"{advice}.")
    return needed


def free_bytes(folder):
    """Bytes free on the disk holding ``folder``."""
    return shutil.disk_usage(folder).free


def check_scratch_space(model, model_id, layers_by_region, n_stimuli, scratch, free=None):
    """Raise :class:`ScratchSpaceError` when one pass of the network over ``n_stimuli`` would not fit in ``scratch``.

    The out-of-core path (:mod:`nrp_plugin.brainscore.out_of_core`) writes every layer of a pass to
    ``scratch`` (float32) and deletes it once the layer's kernel is formed; memory holds one batch.

    Returns
    -------
    int or None
        The bytes the pass writes, or None when the widths are unknown.
    """
    layers, widths = _recorded_widths(model, layers_by_region)
    if widths is None:
        return None
    free = free_bytes(scratch) if free is None else free
    needs = _bytes_needed(widths, 4 * n_stimuli)
    needed = needs(layers)
    if needed > free:
        raise ScratchSpaceError(
            f"{model_id}: recording {len(layers)} layers ({sum(widths.values()):,} features per stimulus) on "
            f"{n_stimuli:,} stimuli writes about {_gigabytes(needed)} to the scratch folder {scratch} "
            f"({_shares(needs, layers_by_region)}); {_gigabytes(free)} are free there. Point NRP_PLUGIN_SCRATCH at a "
            f"disk with more space, or score one region at a time with --regions.")
    return needed
