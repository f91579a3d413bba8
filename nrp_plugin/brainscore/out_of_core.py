"""Record a network's layers out of core and hand each wide layer on as its Gram matrix.

Every mapping this package scores with sees a layer's features only through the stimulus-by-stimulus
Gram matrix of its centred features: the NRP's per-split PCA, ridge, least squares on the components,
and kernel PLS (``pls_torch``, as Brain-Score's ``PLSRegression(scale=False)``). A layer of ``d`` units
recorded on ``n < d`` stimuli can therefore be replaced by its uncentred Gram matrix ``K = X X^T``
(``n x n``, float64): the same scores, from 52 MB instead of 4 GB for ResNet50's ``layer2`` on
MajajHong2015's 2,560 images. Each entry of ``K`` is the dot product of two stimuli's features and nothing
else, so no stimulus's entries depend on another stimulus (a split's training block of ``K`` does not change
when its test images do), and the in-memory path forms the same matrix, bit for bit, from the same features.

:func:`record_layers` runs the network once over the stimuli with Brain-Score's own preprocessing and
hooks (through :class:`nrp_plugin.brainscore.extractor.Extractor`, the one adapter over Brain-Score's private
extractor members), writing each batch of every layer to a
:class:`nrp_plugin.storage.ColumnChunkedFile` in a scratch folder; :func:`recorded_blocks` then forms each
wide layer's Gram matrix one column chunk at a time (a layer no wider than the number of stimuli is kept as
it is). The process holds one batch, one chunk and the ``n x n`` kernel, never a whole layer.
:class:`OutOfCoreActivations` serves a model's activations requests this way and keeps every layer in a
bounded on-disk store (:class:`nrp_plugin.storage.ActivationStore`), so another benchmark or a second run reads
it instead of running the network again.

The returned assembly has Brain-Score's presentation coordinates (``stimulus_id`` and the stimulus set's
columns) and, on ``neuroid``: ``model``, ``layer``, ``neuroid_num``, ``neuroid_id``, ``basis`` (``'unit'``
for a layer kept as recorded, ``'gram'`` for a Gram matrix), ``kernel_stimulus_id`` (for a Gram matrix's
columns, the stimulus of each) and ``layer_width`` (the layer's number of units). Only this package's
metrics read the ``'gram'`` form (:mod:`nrp_plugin.brainscore.source_layers`); a request from anything else
goes to Brain-Score's own extractor (``nrp-plugin compare --reference-pls`` records in memory).
"""
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.device import resolve_device
from ..core.kernels import feature_chunk_size, gram_matrix
from ..storage.activation_store import ActivationStore, store_key
from ..storage.cache import cache_root, remove_stale_folders
from ..storage.column_file import ColumnChunkedFile
from .extractor import Extractor
from .source_layers import KERNEL_BASIS

__all__ = ['OutOfCoreActivations', 'SCRATCH_ENV', 'build_assembly', 'recorded_blocks', 'record_layers',
           'scratch_root', 'supports_out_of_core', 'weights_fingerprint']

#: Environment variable: the folder recorded layers are written to while their kernels are formed
#: (default ``$NRP_PLUGIN_HOME/scratch``). Needs ``n_stimuli x units x 4`` bytes free for one pass.
SCRATCH_ENV = 'NRP_PLUGIN_SCRATCH'
#: Changes whenever what is stored for a layer changes, so older entries are never read.
FORMAT_VERSION = 2


def scratch_root():
    """Where recorded layers are written while their kernels are formed (created when missing)."""
    root = Path(os.environ.get(SCRATCH_ENV) or cache_root() / 'scratch')
    root.mkdir(parents=True, exist_ok=True)
    return root


def remove_stale_scratch(root):
    """Delete scratch folders left by processes that no longer run (killed before they could clean up)."""
    remove_stale_folders(root, 'nrp-record-*-*', lambda name: int(name.split('-')[2]))


def supports_out_of_core(extractor):
    """Whether ``extractor`` is a Brain-Score ``PytorchWrapper`` whose batches this module can record."""
    return Extractor.supports(extractor)


def weights_fingerprint(module):
    """A hash of a network's parameters and buffers (names, types, shapes and values)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(type(module).__name__.encode())
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{tensor.dtype}:{tuple(tensor.shape)}'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b'')
    return digest.hexdigest()


def _stimulus_paths(stimulus_set):
    return [str(stimulus_set.get_stimulus(stimulus_id)) for stimulus_id in stimulus_set['stimulus_id']]


def stimuli_fingerprint(stimulus_set):
    """A hash of the stimulus ids in order and of every image file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    for stimulus_id, path in zip(stimulus_set['stimulus_id'], _stimulus_paths(stimulus_set)):
        digest.update(f'{stimulus_id}\0'.encode())
        with open(path, 'rb') as handle:
            digest.update(hashlib.blake2b(handle.read(), digest_size=16).digest())
    return digest.hexdigest()


def record_layers(extractor, stimulus_set, layers, directory, progress=False):
    """Run the network once over ``stimulus_set`` and write every layer to a file in ``directory``.

    Parameters
    ----------
    extractor : PytorchWrapper
        Its Brain-Score helper preprocesses, pads and hooks each batch exactly as Brain-Score does; its
        stimulus-set and batch hooks are applied as Brain-Score applies them.
    stimulus_set : StimulusSet
    layers : list of str
    directory : Path
        Receives one :class:`ColumnChunkedFile` per layer (the caller removes them).

    Returns
    -------
    stimulus_set : StimulusSet
        After the extractor's stimulus-set hooks (its rows are the files' rows).
    files : dict of str -> ColumnChunkedFile
    """
    adapter = Extractor(extractor)
    stimulus_set = adapter.apply_stimulus_set_hooks(stimulus_set)
    paths = _stimulus_paths(stimulus_set)
    ids = np.asarray(stimulus_set['stimulus_id'])
    n, batch_size = len(paths), adapter.batch_size
    files = {}
    for start in tqdm(range(0, n, batch_size), desc='activations', unit_scale=batch_size, disable=not progress):
        inputs = paths[start:start + batch_size]
        batch = adapter.batch(inputs, layers)
        for index, layer in enumerate(layers):
            values = np.asarray(batch[layer]).reshape(len(inputs), -1)
            finite = np.isfinite(values).all(axis=1)
            if not finite.all():
                bad = ids[start:start + len(inputs)][~finite]
                raise ValueError(f"Layer '{layer}' gives NaN/inf activations for stimuli {list(bad[:3])}: the network "
                                 f"is numerically broken on them (check its weights and preprocessing).")
            if layer not in files:
                # the columns per chunk of gram_matrix's in-memory reads: the same kernel, bit for bit
                files[layer] = ColumnChunkedFile(Path(directory) / f'layer{index}.f32', n, values.shape[1],
                                                 chunk_columns=feature_chunk_size(n, torch.float64))
            files[layer].write_rows(start, values)
        del batch
    return stimulus_set, files


def recorded_blocks(files, device='auto'):
    """Each layer's block for the metrics: the recorded values when the layer has at most as many units as
    stimuli, else its uncentred Gram matrix.

    Returns
    -------
    dict of str -> (values, basis, width)
        ``values`` float32 (n, width) for ``basis='unit'``, float64 (n, n) for ``basis='gram'``.
    """
    device = resolve_device(device)
    blocks = {}
    for layer, stored in files.items():
        n, width = stored.shape
        if width <= n:
            blocks[layer] = (stored.read_all(), 'unit', width)
        else:
            kernel = gram_matrix(stored, center=False, device=device, dtype=torch.float64)
            blocks[layer] = (kernel.cpu().numpy(), KERNEL_BASIS, width)
            del kernel
    return blocks


def build_assembly(blocks, layers, stimulus_set, model_identifier, extractor=None):
    """A presentation x neuroid assembly of ``layers`` from :func:`recorded_blocks`' output, with the presentation
    coordinates Brain-Score gives activations (the extractor's trial coordinates, the stimulus set's columns)."""
    from brainscore_vision.model_helpers.activations.core import attach_stimulus_set_meta
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    parts = [blocks[layer] for layer in layers]
    dtype = np.float64 if any(basis == KERNEL_BASIS for _, basis, _ in parts) else np.float32
    values = np.concatenate([np.asarray(part, dtype=dtype) for part, _, _ in parts], axis=1)
    ids = np.asarray(stimulus_set['stimulus_id'])
    coords = {'model': [], 'layer': [], 'neuroid_num': [], 'neuroid_id': [], 'basis': [], 'layer_width': [],
              'kernel_stimulus_id': []}
    for layer, (part, basis, width) in zip(layers, parts):
        count = part.shape[1]
        numbers = np.arange(count)
        coords['model'] += [model_identifier] * count
        coords['layer'] += [layer] * count
        coords['neuroid_num'] += numbers.tolist()
        prefix = 'k' if basis == KERNEL_BASIS else ''
        coords['neuroid_id'] += [f'{model_identifier}.{layer}.{prefix}{number}' for number in numbers]
        coords['basis'] += [basis] * count
        coords['layer_width'] += [int(width)] * count
        coords['kernel_stimulus_id'] += ids.tolist() if basis == KERNEL_BASIS else [''] * count
    neuroid = {name: ('neuroid', np.asarray(column)) for name, column in coords.items()}
    paths = _stimulus_paths(stimulus_set)
    assembly = NeuroidAssembly(values, coords={'stimulus_path': ('presentation', paths),
                                               **_trial_coords(paths, extractor), **neuroid},
                               dims=['presentation', 'neuroid'])
    return attach_stimulus_set_meta(assembly, stimulus_set, number_of_trials=1)


def _trial_coords(paths, extractor):
    """The trial coordinates Brain-Score's extractor gives a request without variance: every image seen once,
    unshifted (its microsaccade helper records a shift of 0 for each image of such a request).

    Formed here rather than read from the helper, which only knows the images it has run itself: layers served
    from the activation store in a new process never went through it.
    """
    if extractor is None or not Extractor(extractor).has_microsaccades:
        return {}
    zeros = np.zeros(len(np.unique(np.asarray(paths))))
    return {f'microsaccade_shift_{axis}_{unit}': ('presentation', zeros)
            for unit in ('pixels', 'degrees') for axis in ('x', 'y')}


class OutOfCoreActivations:
    """Serve a ``PytorchWrapper``'s activations requests from out-of-core recordings (see the module notes).

    Parameters
    ----------
    extractor : PytorchWrapper
    prefetch : iterable of str
        Layers recorded together with the first request for a stimulus set.
    store : ActivationStore, optional
        Where layers are kept between runs (``ActivationStore()`` by default).
    device : {'auto', 'cpu', 'cuda'}
        Where the Gram matrices are formed.
    progress : bool
    """

    def __init__(self, extractor, prefetch=(), store=None, device='auto', progress=False):
        self._extractor = extractor
        self.prefetch = list(dict.fromkeys(prefetch))
        self.store = store if store is not None else ActivationStore()
        self.device = device
        self.progress = progress
        self._blocks = {}  # (stimulus-set key, layer) -> block
        self._weights = None
        self.recorded = []  # (stimulus identifier, layers) of every pass of the network, for reports and tests

    def _supports(self, stimuli, kwargs):
        """A stimulus set, no varying responses asked for, and no hooks on the extractor (those requests go to
        Brain-Score's own path)."""
        return (hasattr(stimuli, 'get_stimulus') and 'stimulus_id' in getattr(stimuli, 'columns', ())
                and not kwargs.get('require_variance') and not Extractor(self._extractor).has_hooks)

    def _layer_key(self, stimuli_hash, layer):
        adapter = Extractor(self._extractor)
        if self._weights is None:
            self._weights = weights_fingerprint(adapter.network)
        parameter = next(adapter.network.parameters(), None)
        return store_key(format=FORMAT_VERSION, model=str(adapter.identifier or ''),
                         weights=self._weights, stimuli=stimuli_hash, layer=layer,
                         resolution=str(adapter.resolution), torch=torch.__version__,
                         device=str(parameter.device.type if parameter is not None else 'cpu'),
                         gram_device=str(resolve_device(self.device).type))

    def __call__(self, stimuli, layers, **kwargs):
        if not self._supports(stimuli, kwargs):
            return self._extractor(stimuli, layers=layers, **kwargs)
        layers = list(dict.fromkeys(layers))
        stimuli_hash = stimuli_fingerprint(stimuli)
        wanted = list(dict.fromkeys(layers + self.prefetch))
        missing = [layer for layer in wanted if (stimuli_hash, layer) not in self._blocks]
        keys = {layer: self._layer_key(stimuli_hash, layer) for layer in missing}
        for layer in list(missing):
            stored = self.store.get(keys[layer])
            if stored is not None:
                values, meta = stored
                self._blocks[stimuli_hash, layer] = (values, meta['basis'], int(meta['width']))
                missing.remove(layer)
        if missing:
            self._record(stimuli, stimuli_hash, missing, keys)
        blocks = {layer: self._blocks[stimuli_hash, layer] for layer in layers}
        return build_assembly(blocks, layers, stimuli, str(getattr(self._extractor, 'identifier', None)),
                              self._extractor)

    def _record(self, stimuli, stimuli_hash, layers, keys):
        # the scratch folder and its files go whatever happens (an error, an interrupt)
        root = scratch_root()
        remove_stale_scratch(root)
        with tempfile.TemporaryDirectory(prefix=f'nrp-record-{os.getpid()}-', dir=root) as directory:
            _, files = record_layers(self._extractor, stimuli, layers, directory, progress=self.progress)
            try:
                blocks = recorded_blocks(files, self.device)
            finally:
                for stored in files.values():
                    stored.remove()
        self.recorded.append((getattr(stimuli, 'identifier', None), list(layers)))
        for layer, (values, basis, width) in blocks.items():
            self._blocks[stimuli_hash, layer] = (values, basis, width)
            self.store.put(keys[layer], values, {'basis': basis, 'width': int(width), 'layer': layer})

    def __getattr__(self, name):
        return getattr(self._extractor, name)
