"""Global magnitude pruning of ResNet50 (and any conv/linear network), with an optional fine-tune.

Sparsity is the share of zero-valued weights among the weights of all ``Conv2d`` and ``Linear``
modules (biases and batch-norm parameters are neither pruned nor counted), as in Anand, Sen & Roy
(2021): "the percentage of weights that are zero-valued".

:func:`global_magnitude_prune` zeroes exactly ``round(sparsity * n)`` of those ``n`` weights: the ones
with the smallest magnitude over the whole network (not per layer). Ties at the threshold are broken
by position in a fixed parameter order, so the pruned set is a total-order prefix and the zero set
at a higher sparsity always contains the zero set at a lower one (for the same starting weights).

Pruning is one-shot: the weights are zeroed in place, with no re-parametrisation, so the pruned
model has torchvision's exact module names. :func:`finetune_pruned` optionally retrains a pruned
model on an ImageNet folder with the zero mask held fixed.
"""
import math
import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

DEFAULT_SEED = 0
PRUNABLE_TYPES = (nn.Conv2d, nn.Linear)


class FineTuneError(RuntimeError):
    """Fine-tuning cannot run (no ImageNet directory, or one in the wrong layout)."""


def prunable_weights(model):
    """``OrderedDict(name -> weight Parameter)`` of every Conv2d and Linear weight, in module order."""
    return OrderedDict((f'{name}.weight' if name else 'weight', module.weight)
                       for name, module in model.named_modules()
                       if isinstance(module, PRUNABLE_TYPES) and module.weight is not None)


def measure_sparsity(model):
    """Share of zero-valued weights among all Conv2d and Linear weights (a float in [0, 1])."""
    weights = prunable_weights(model).values()
    total = sum(weight.numel() for weight in weights)
    zeros = sum(weight.numel() - int(torch.count_nonzero(weight)) for weight in weights)
    return zeros / total if total else 0.0


def sparsity_report(model):
    """``{'total': n, 'zeros': z, 'sparsity': z / n, 'per_layer': {name: share of zeros}}``."""
    per_layer, total, zeros = OrderedDict(), 0, 0
    for name, weight in prunable_weights(model).items():
        layer_zeros = weight.numel() - int(torch.count_nonzero(weight))
        per_layer[name] = layer_zeros / weight.numel()
        total += weight.numel()
        zeros += layer_zeros
    return {'total': total, 'zeros': zeros, 'sparsity': zeros / total if total else 0.0, 'per_layer': per_layer}


@torch.no_grad()
def global_magnitude_masks(model, sparsity):
    """Keep-masks (``True`` = kept) that remove the ``round(sparsity * n)`` smallest-magnitude weights.

    Parameters
    ----------
    model : nn.Module
    sparsity : float
        Target share of pruned weights, in ``[0, 1)``.

    Returns
    -------
    OrderedDict
        ``name -> bool tensor`` shaped like each weight of :func:`prunable_weights`.
    """
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = prunable_weights(model)
    total = sum(weight.numel() for weight in weights.values())
    magnitudes = torch.empty(total, dtype=torch.float32)
    offset = 0
    for weight in weights.values():
        torch.abs(weight.detach().reshape(-1).float().cpu(), out=magnitudes[offset:offset + weight.numel()])
        offset += weight.numel()
    count = int(round(float(sparsity) * total))
    if count > 0:
        threshold = torch.kthvalue(magnitudes, count).values
        keep = magnitudes > threshold  # prunes everything <= threshold: `count` weights, or more on ties
        excess = (total - int(keep.sum())) - count
        if excess > 0:  # ties at the threshold: prune the first ones in parameter order, keep the last
            tied = torch.nonzero(magnitudes == threshold, as_tuple=False).flatten()
            keep[tied[tied.numel() - excess:]] = True
    else:
        keep = torch.ones(total, dtype=torch.bool)
    masks, offset = OrderedDict(), 0
    for name, weight in weights.items():
        masks[name] = keep[offset:offset + weight.numel()].view_as(weight).to(weight.device)
        offset += weight.numel()
    return masks


@torch.no_grad()
def apply_masks(model, masks):
    """Zero the weights that ``masks`` (name -> keep-mask) mark as pruned, in place."""
    weights = prunable_weights(model)
    for name, mask in masks.items():
        weights[name].masked_fill_(~mask.to(weights[name].device), 0)
    return model


def global_magnitude_prune(model, sparsity):
    """Prune ``model`` in place to ``sparsity`` by global magnitude; returns the keep-masks."""
    masks = global_magnitude_masks(model, sparsity)
    apply_masks(model, masks)
    return masks


# ---------------------------------------------------------------------------------------------- ResNet50

def resnet50(pretrained=True, weights_path=None, seed=DEFAULT_SEED, allow_download=None):
    """torchvision's ResNet50: ImageNet weights (``resnet50-0676ba61.pth``) or a seeded initialisation.

    Parameters
    ----------
    pretrained : bool
        ``True`` loads the published weights, resolved by :func:`nrp_plugin.storage.weights.resolve_weights`
        (``weights_path``, ``$NRP_RESNET50_WEIGHTS``, caches including torchvision's, a download).
        ``False`` initialises with torchvision's own scheme under ``torch.manual_seed(seed)``; the
        global random state is left untouched.
    """
    import torchvision
    if pretrained:
        from .. import registry
        from ..storage.weights import WeightsError, load_checkpoint, resolve_weights
        path = resolve_weights(registry.RESNET50_WEIGHTS, path=weights_path, allow_download=allow_download)
        with torch.device('meta'):  # no point drawing a random initialisation that is overwritten
            model = torchvision.models.resnet50(weights=None)
        try:
            model.load_state_dict(load_checkpoint(path), strict=True, assign=True)
        except RuntimeError as error:
            raise WeightsError(f"{path} does not fit torchvision's ResNet50: {error}") from None
        unset = [name for name, tensor in list(model.named_parameters()) + list(model.named_buffers())
                 if tensor.is_meta]
        if unset:
            raise WeightsError(f"{path} left ResNet50 tensors unset: {unset[:5]}")
        model.weights_path = str(path)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = torchvision.models.resnet50(weights=None)
        model.weights_path = None
    return model.eval()


def pruned_resnet50(sparsity, pretrained=True, weights_path=None, seed=DEFAULT_SEED, allow_download=None):
    """One-shot globally magnitude-pruned ResNet50.

    Returns
    -------
    (nn.Module, dict)
        The model (in eval mode) and its metadata: ``pruning`` (``'one-shot'``), ``target_sparsity``,
        ``measured_sparsity``, ``zero_weights``, ``prunable_weights``, ``pretrained``, ``weights``, ``seed``.
    """
    model = resnet50(pretrained=pretrained, weights_path=weights_path, seed=seed, allow_download=allow_download)
    masks = global_magnitude_prune(model, sparsity)
    report = sparsity_report(model)
    metadata = {
        'architecture': 'resnet50',
        'pretrained': bool(pretrained),
        'weights': model.weights_path if pretrained else f'seeded initialisation (seed={seed})',
        'seed': None if pretrained else seed,
        'pruning': 'one-shot',
        'pruning_method': 'global magnitude (all Conv2d and Linear weights)',
        'target_sparsity': float(sparsity),
        'measured_sparsity': report['sparsity'],
        'zero_weights': report['zeros'],
        'prunable_weights': report['total'],
        'finetuned': False,
    }
    model.pruning_masks = masks
    return model, metadata


# ---------------------------------------------------------------------------------------------- fine-tuning

IMAGENET_ENV = 'NRP_IMAGENET_DIR'


def imagenet_train_dir(imagenet_dir):
    imagenet_dir = imagenet_dir or os.environ.get(IMAGENET_ENV)
    if not imagenet_dir:
        raise FineTuneError(
            f"Fine-tuning a pruned model needs ImageNet training images: pass imagenet_dir= (or set "
            f"{IMAGENET_ENV}) to a folder holding train/<class>/<image> (torchvision ImageFolder layout). "
            f"Without it, use the one-shot pruned models (resnet50_prunedNN), which need no data.")
    root = Path(os.path.expanduser(str(imagenet_dir)))
    train = root / 'train' if (root / 'train').is_dir() else root
    if not train.is_dir() or not any(child.is_dir() for child in train.iterdir()):
        raise FineTuneError(f"{root} is not an ImageNet folder: expected train/<class>/<image> "
                            f"(or <class>/<image>) sub-folders.")
    return train


def finetune_pruned(model, masks, imagenet_dir=None, epochs=1, max_steps=None, batch_size=64, lr=1e-3,
                    momentum=0.9, weight_decay=1e-4, image_size=224, num_workers=2, device='auto', seed=DEFAULT_SEED):
    """Retrain a pruned model on ImageNet with its zero mask held fixed (pruned weights stay zero).

    Parameters
    ----------
    model : nn.Module
        A model pruned by :func:`global_magnitude_prune`.
    masks : dict
        The keep-masks that call returned.
    imagenet_dir : path, optional
        ImageNet root with ``train/<wnid>/*.JPEG`` (or the train folder itself); defaults to
        ``$NRP_IMAGENET_DIR``. Class folders are sorted as torchvision's ImageFolder does, which
        matches the standard ImageNet class order when all 1000 wnid folders are present.
    epochs, max_steps : int
        Passes over the data; ``max_steps`` stops earlier (after that many optimiser steps).

    Returns
    -------
    dict
        ``{'steps': ..., 'final_loss': ..., 'measured_sparsity': ...}``.

    Raises
    ------
    FineTuneError
        Without an ImageNet directory, or with one in the wrong layout.
    """
    import torchvision
    from torchvision import transforms

    from ..core.device import resolve_device
    train_dir = imagenet_train_dir(imagenet_dir)
    device = resolve_device(device)
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    dataset = torchvision.datasets.ImageFolder(str(train_dir), transforms.Compose([
        transforms.RandomResizedCrop(image_size), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), normalize]))
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator,
                                         num_workers=num_workers, drop_last=False)
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    criterion = nn.CrossEntropyLoss()
    steps, loss_value = 0, math.nan
    for _ in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(images.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()
            apply_masks(model, masks)  # momentum and weight decay must not revive pruned weights
            steps += 1
            loss_value = float(loss.detach())
            if max_steps is not None and steps >= max_steps:
                break
        if max_steps is not None and steps >= max_steps:
            break
    model.eval()
    return {'steps': steps, 'final_loss': loss_value, 'measured_sparsity': measure_sparsity(model)}
