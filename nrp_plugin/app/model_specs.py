"""Score a network that has no plugin: ``torchvision:<architecture>`` and ``path/to/file.py:function``.

``nrp-plugin compare --models`` and ``nrp-plugin score`` accept, besides registered identifiers:

``torchvision:<architecture>``
    A torchvision classification network (``torchvision.models.list_models()``), randomly initialised
    with a fixed seed (0), so offline and deterministic.
``torchvision:<architecture>:pretrained``
    torchvision's default ImageNet weights, found (and checked) by
    :func:`nrp_plugin.storage.weights.resolve_weights`: ``$NRP_PLUGIN_WEIGHTS_DIR``, the nrp_plugin
    cache, torch's hub cache (where torchvision keeps its downloads), else a download unless
    ``NRP_PLUGIN_OFFLINE=1``.
``torchvision:<architecture>:<path/to/weights.pth>``
    The same architecture with the state dict in that file.
``path/to/file.py:function``
    ``function()`` (no arguments; called with torch's random generator seeded with 0) returns either
    a ``torch.nn.Module``, or a tuple ``(module, layers)``, or a dict with the key ``'model'`` and any of
    ``'layers'`` (names from ``module.named_modules()``), ``'preprocessing'`` (``paths -> array``;
    Brain-Score's ``load_preprocess_images`` by default) and ``'image_size'`` (224 by default).

The network is wrapped by :func:`nrp_plugin.brainscore.model_commitment.commit_pytorch_model`
(Brain-Score's ``PytorchWrapper`` inside its ``ModelCommitment``) with an empty region-layer map: each
benchmark commits the region's layer on the embedded world's public images
(:mod:`nrp_plugin.brainscore.layer_choice`), never on scored images. Without ``layers``, the candidate
layers are the network's top-level modules (:func:`default_layers`) that Brain-Score can record: those that
run, with a tensor output, when the network runs once in eval mode on a probe image of its input size
(:func:`probe_layers`). So torchvision ``googlenet``'s auxiliary heads ``aux1`` and ``aux2`` (and
``inception_v3``'s ``AuxLogits``), which run only in training, are left out. Given ``layers`` must pass the
same probe.

Every problem (a missing file, an import error, a missing function, a function that does not return a
module, a layer that does not exist, a given layer that never runs in eval mode or outputs no tensor, a
network that fails on the probe image or none of whose candidate layers runs, an unknown architecture,
missing weights) raises :class:`ModelSpecError` with a one-line message naming the problem and the fix,
from :func:`check_specs`, before any scoring.
"""
import contextlib
import difflib
import importlib.util
import re
import sys
from pathlib import Path

from ..storage.hashing import file_digest

TORCHVISION_PREFIX = 'torchvision:'
SEED = 0
IMAGE_SIZE = 224
NEVER_RUNS = 'never runs in the forward pass (eval mode)'
_FILE_SPEC = re.compile(r'^(?P<path>.+\.py):(?P<function>[A-Za-z_]\w*)$')


class ModelSpecError(ValueError):
    """A model spec that cannot be built: a one-line message naming the problem and the fix."""


def is_spec(text):
    """True for ``torchvision:...`` and ``path/to/file.py:function``; False for registered identifiers."""
    return text.startswith(TORCHVISION_PREFIX) or _FILE_SPEC.match(text) is not None


def _file_digest(path):
    """The first 12 hex digits of the file's sha256: the version tag of a spec's file or weights."""
    return file_digest(path)[:12]


@contextlib.contextmanager
def _seeded(seed=SEED):
    import torch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# ----------------------------------------------------------------------------------------------
# torchvision

def _torchvision_parts(spec):
    rest = spec[len(TORCHVISION_PREFIX):]
    architecture, _, weights = rest.partition(':')
    return architecture, weights or None


def _architectures():
    import torchvision
    return sorted(torchvision.models.list_models(module=torchvision.models))


def _check_architecture(spec, architecture):
    known = _architectures()
    if architecture not in known:
        close = difflib.get_close_matches(architecture, known, n=4, cutoff=0.5)
        hint = f"closest: {', '.join(close)}" if close else 'e.g. resnet18, alexnet, vgg16'
        raise ModelSpecError(f"model '{spec}': unknown torchvision architecture '{architecture}' ({hint}); "
                             f"the names are torchvision.models.list_models()")


def _pretrained_file(spec, architecture):
    """torchvision's default weights file for ``architecture``, found by ``storage.weights``."""
    import torchvision
    from ..storage import weights
    try:
        url = torchvision.models.get_model_weights(architecture).DEFAULT.url
    except Exception:  # noqa: BLE001 - an architecture without published weights
        raise ModelSpecError(f"model '{spec}': torchvision publishes no weights for '{architecture}'; "
                             f"give a file: torchvision:{architecture}:path/to/weights.pth") from None
    filename = url.rsplit('/', 1)[-1]
    match = re.search(r'-([0-9a-f]{8,})\.pth$', filename)
    weight_spec = weights.WeightSpec(
        name=architecture, filename=filename, url=url, algorithm='sha256', digest=match.group(1) if match else '',
        env_var=f'NRP_{re.sub(r"[^A-Z0-9]", "_", architecture.upper())}_WEIGHTS',
        alternative=f"'torchvision:{architecture}' (seeded random weights, no download)")
    try:
        return Path(weights.resolve_weights(weight_spec))
    except weights.WeightsError as error:
        raise ModelSpecError(f"model '{spec}': {' '.join(str(error).split())}") from None


def _weights_path(spec, architecture, weights):
    if weights is None:
        return None
    if weights == 'pretrained':
        return _pretrained_file(spec, architecture)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ModelSpecError(f"model '{spec}': no weights file {path}; give an existing .pth file, or "
                             f"'torchvision:{architecture}:pretrained' for torchvision's own weights")
    return path


def _build_torchvision(spec):
    import torch
    import torchvision
    architecture, weights = _torchvision_parts(spec)
    _check_architecture(spec, architecture)
    path = _weights_path(spec, architecture, weights)
    with _seeded():
        network = torchvision.models.get_model(architecture, weights=None)
    if path is not None:
        try:
            state = torch.load(path, map_location='cpu', weights_only=True)
            state = state.get('state_dict', state) if isinstance(state, dict) else state
            network.load_state_dict(state)
        except Exception as error:  # noqa: BLE001 - one line for the user
            raise ModelSpecError(f"model '{spec}': {path} does not fit torchvision's {architecture} "
                                 f"({type(error).__name__}: {' '.join(str(error).split())[:200]}); give a "
                                 f"state dict saved from torchvision.models.{architecture}") from None
    metadata = {'source': spec, 'architecture': architecture, 'pretrained': path is not None,
                'weights': str(path) if path is not None else f'seeded initialisation (seed={SEED})'}
    return {'model': network}, metadata, (f'weights-{_file_digest(path)}' if path is not None else f'seed{SEED}')


# ----------------------------------------------------------------------------------------------
# path/to/file.py:function

def _build_from_file(spec):
    import torch
    match = _FILE_SPEC.match(spec)
    path, function = Path(match.group('path')).expanduser(), match.group('function')
    if not path.is_file():
        raise ModelSpecError(f"model '{spec}': no file {path}; give the path of a Python file and the function "
                             f"that builds the network, e.g. examples/my_net.py:build")
    digest = _file_digest(path)
    name = f'nrp_user_model_{digest}'
    loader_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader_spec)
    directory = str(path.resolve().parent)
    sys.path.insert(0, directory)  # the file may import its neighbours
    try:
        loader_spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001
        raise ModelSpecError(f"model '{spec}': importing {path} failed ({type(error).__name__}: "
                             f"{' '.join(str(error).split())[:200]}); fix the file") from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
    builder = getattr(module, function, None)
    if not callable(builder):
        functions = sorted(n for n, v in vars(module).items() if callable(v) and getattr(v, '__module__', '') == name)
        raise ModelSpecError(f"model '{spec}': {path} defines no function '{function}' (functions there: "
                             f"{', '.join(functions) or 'none'}); name one after the ':'")
    try:
        with _seeded():
            built = builder()
    except Exception as error:  # noqa: BLE001
        raise ModelSpecError(f"model '{spec}': {function}() raised {type(error).__name__}: "
                             f"{' '.join(str(error).split())[:200]}; it must build the network without arguments") from None
    if isinstance(built, torch.nn.Module):
        built = {'model': built}
    elif isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], torch.nn.Module):
        built = {'model': built[0], 'layers': built[1]}
    if not isinstance(built, dict) or not isinstance(built.get('model'), torch.nn.Module):
        got = type(built.get('model') if isinstance(built, dict) else built).__name__
        raise ModelSpecError(f"model '{spec}': {function}() returned {got}, not a torch.nn.Module; return the "
                             f"network, (network, layers) or {{'model': network, 'layers': [...]}}")
    unknown = set(built) - {'model', 'layers', 'preprocessing', 'image_size'}
    if unknown:
        raise ModelSpecError(f"model '{spec}': {function}() returned unknown keys {sorted(unknown)}; "
                             f"allowed: model, layers, preprocessing, image_size")
    metadata = {'source': spec, 'file': str(path), 'function': function, 'file_sha256': digest}
    return built, metadata, f'file-{digest}'


# ----------------------------------------------------------------------------------------------

def default_layers(network):
    """Candidate layers of a network without a given list: its top-level modules, except
    normalisation layers and parameter-free ones other than pooling (activations, dropout, flatten);
    a top-level ``nn.Sequential`` of plain layers (e.g. AlexNet's ``features``) is opened one level.

    These are chosen from the network's structure alone; a spec's candidate layers are those of them that
    run on a probe image (:func:`probe_layers`).

    Examples: torchvision ``resnet18`` -> conv1, maxpool, layer1, layer2, layer3, layer4, avgpool, fc;
    ``alexnet`` -> features.0, features.2, features.3, features.5, features.6, features.8, features.10,
    features.12, avgpool, classifier.1, classifier.4, classifier.6 (all of them run); ``googlenet`` -> conv1,
    maxpool1, conv2, conv3, maxpool2, inception3a, inception3b, maxpool3, inception4a, ..., inception4e,
    maxpool4, inception5a, inception5b, aux1, aux2, avgpool, fc, of which the spec's candidates leave out
    aux1 and aux2 (they run only in training).
    """
    import torch.nn as nn

    def keep(module):
        kind = type(module).__name__
        if 'Norm' in kind:
            return False
        return 'Pool' in kind or any(True for _ in module.parameters())

    layers = []
    for name, child in network.named_children():
        grandchildren = list(child.named_children())
        plain = bool(grandchildren) and all(not list(g.children()) for _, g in grandchildren)
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and plain:
            layers.extend(f'{name}.{sub}' for sub, grandchild in grandchildren if keep(grandchild))
        elif keep(child):
            layers.append(name)
    return layers


def _build(spec):
    """``(built dict, metadata, version tag)`` for a spec; ModelSpecError on any problem."""
    if spec.startswith(TORCHVISION_PREFIX):
        return _build_torchvision(spec)
    if _FILE_SPEC.match(spec):
        return _build_from_file(spec)
    raise ModelSpecError(f"model '{spec}' is neither a registered identifier nor a spec; use "
                         f"torchvision:<architecture> or path/to/file.py:function")


def _image_size(built):
    return int(built.get('image_size') or IMAGE_SIZE)


def probe_layers(spec, network, layers, image_size=IMAGE_SIZE):
    """Run ``network`` once on a probe image and say, for each of ``layers``, whether Brain-Score can record it.

    The probe is one deterministic image (seeded normal noise, shaped ``(1, 3, image_size, image_size)``, no
    preprocessing) on the device and in the dtype of the network's first parameter (float32 on the CPU without
    one), through the network in eval mode under ``torch.no_grad()``, with a forward hook on every layer. A
    layer can be recorded when its hook fires and every output it gives is a tensor: Brain-Score's
    ``PytorchWrapper`` stores a hooked module's ``output`` with ``output.cpu()``, which a tuple, list or
    namedtuple does not have, so such a module cannot be recorded (a module inside it that returns a tensor
    can). Each module's train/eval mode is restored afterwards and the hooks are removed.

    Parameters
    ----------
    spec : str
        Named in the error.
    network : torch.nn.Module
    layers : list of str
        Names from ``network.named_modules()``.
    image_size : int

    Returns
    -------
    dict of str -> str or None
        For each layer: None when it can be recorded, else why not (``'never runs in the forward pass (eval
        mode)'`` or, e.g., ``'outputs a tuple, not a tensor'``).

    Raises
    ------
    ModelSpecError
        When the forward pass raises on the probe image (one line naming the cause and the fix).
    """
    import torch
    modules = dict(network.named_modules())
    outputs = {layer: [] for layer in layers}

    def hook(name):
        return lambda _module, _input, output: outputs[name].append(
            None if isinstance(output, torch.Tensor) else type(output).__name__)

    reference = next(network.parameters(), None)
    if reference is None:
        reference = next(network.buffers(), torch.empty(0))
    dtype = reference.dtype if reference.is_floating_point() else torch.float32
    probe = torch.randn(1, 3, image_size, image_size, generator=torch.Generator().manual_seed(SEED))
    probe = probe.to(device=reference.device, dtype=dtype)
    modes = {module: module.training for module in network.modules()}
    handles = [modules[layer].register_forward_hook(hook(layer)) for layer in layers]
    try:
        network.eval()
        with torch.no_grad():
            network(probe)
    except Exception as error:  # noqa: BLE001 - one line for the user
        fix = ("wrap it in a path/to/file.py:function that returns {'model': network, 'image_size': N} with the "
               "input size it needs" if spec.startswith(TORCHVISION_PREFIX) else
               "return 'image_size' with the input size it needs, or fix its forward")
        raise ModelSpecError(f"model '{spec}': the network fails on a 1x3x{image_size}x{image_size} probe image "
                             f"in eval mode ({type(error).__name__}: {' '.join(str(error).split())[:200]}); "
                             f"{fix}") from None
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    verdicts = {}
    for layer in layers:
        kinds = [kind for kind in outputs[layer] if kind is not None]
        if not outputs[layer]:
            verdicts[layer] = NEVER_RUNS
        elif kinds:
            verdicts[layer] = f'outputs a {kinds[0]}, not a tensor'
        else:
            verdicts[layer] = None
    return verdicts


def _layers(spec, built):
    """The layers Brain-Score records for a built spec: the given ones, or :func:`default_layers` that can be
    recorded on a probe image (:func:`probe_layers`); ModelSpecError on any problem."""
    network = built['model']
    layers = built.get('layers')
    given = layers is not None
    if layers is None:
        layers = default_layers(network)
    if isinstance(layers, str) or not all(isinstance(layer, str) for layer in layers) or not layers:
        raise ModelSpecError(f"model '{spec}': 'layers' must be a non-empty list of module names, got {layers!r}")
    modules = dict(network.named_modules())
    missing = [layer for layer in layers if layer not in modules]
    if missing:
        available = [name for name in modules if name][:12]
        raise ModelSpecError(f"model '{spec}': layer '{missing[0]}' is not a module of the network (available: "
                             f"{', '.join(available)}{', ...' if len(modules) > 13 else ''}); use names from "
                             f"model.named_modules()")
    verdicts = probe_layers(spec, network, list(layers), _image_size(built))
    if given:
        bad = [layer for layer in layers if verdicts[layer] is not None]
        if bad:
            raise ModelSpecError(f"model '{spec}': layer '{bad[0]}' {verdicts[bad[0]]}, so Brain-Score cannot "
                                 f"record it; drop it from 'layers' or name a module that runs at inference and "
                                 f"returns a tensor")
        return list(layers)
    # a container that is never called itself (a ModuleList the network iterates, e.g. maxvit_t's blocks) stands
    # for its children: the ones of them that run are candidates in its place
    containers = {layer: [f'{layer}.{name}' for name, _ in modules[layer].named_children()] for layer in layers
                  if verdicts[layer] == NEVER_RUNS and any(True for _ in modules[layer].children())}
    if containers:
        verdicts.update(probe_layers(spec, network, [child for children in containers.values() for child in children],
                                     _image_size(built)))
    recordable = [name for layer in layers for name in containers.get(layer, [layer]) if verdicts[name] is None]
    if not recordable:
        fix = ("wrap it in a path/to/file.py:function that returns {'model': network, 'layers': [...]}"
               if spec.startswith(TORCHVISION_PREFIX) else "return 'layers' with modules that do")
        named = ', '.join(layers[:12]) + (', ...' if len(layers) > 12 else '')
        raise ModelSpecError(f"model '{spec}': none of its candidate layers ({named}) runs in the forward pass "
                             f"(eval mode) with a tensor output; {fix}")
    return recordable


def spec_identifier(spec):
    """The identifier a spec's model gets: changes with the file's content or the weights, so that no
    cache (ours or Brain-Score's, keyed on the identifier) mixes two versions."""
    if spec.startswith(TORCHVISION_PREFIX):
        architecture, weights = _torchvision_parts(spec)
        tag = f'seed{SEED}'
        if weights is not None:
            path = _weights_path(spec, architecture, weights)
            tag = f'weights-{_file_digest(path)}'
        return f'torchvision-{architecture}-{tag}'
    match = _FILE_SPEC.match(spec)
    path = Path(match.group('path')).expanduser()
    if not path.is_file():
        raise ModelSpecError(f"model '{spec}': no file {path}; give the path of a Python file and the function "
                             f"that builds the network, e.g. examples/my_net.py:build")
    return f'{path.stem}.{match.group("function")}-{_file_digest(path)}'


def cache_identifier(model):
    """The name a model's scores are cached under: the identifier itself, or a spec with its version."""
    return f'{model}@{spec_identifier(model)}' if is_spec(model) else model


#: Specs checked by :func:`spec_problems` in this process whose network is kept for :func:`load_spec_model`: spec ->
#: (built dict, metadata, candidate layers). Each network is built once per process.
_CHECKED = {}


def _built_and_layers(spec):
    """The spec's network, metadata and recordable layers: the ones :func:`spec_problems` kept, else built now."""
    if spec in _CHECKED:
        return _CHECKED.pop(spec)
    built, metadata, _ = _build(spec)
    return built, metadata, _layers(spec, built)


def load_spec_model(spec):
    """Build the network of ``spec`` and wrap it as an uncommitted Brain-Score ``ModelCommitment``.

    Returns
    -------
    ModelCommitment
        Empty region-layer map (benchmarks commit on public images); ``metadata`` with the spec, the
        candidate ``layers`` and how the weights were obtained.
    """
    import functools
    from brainscore_vision.model_helpers.activations.pytorch import load_preprocess_images
    from ..brainscore.model_commitment import commit_pytorch_model
    built, metadata, layers = _built_and_layers(spec)
    image_size = _image_size(built)
    preprocessing = built.get('preprocessing') or functools.partial(load_preprocess_images, image_size=image_size)
    metadata.update(layers=list(layers), image_size=image_size)
    model = commit_pytorch_model(spec_identifier(spec), built['model'].eval(), layers, region_layer_map={},
                                 metadata=metadata, image_size=image_size, preprocessing=preprocessing)
    model.spec = spec
    return model


def spec_problems(models, keep=False):
    """Build every spec among ``models`` once and check its layers on a probe image: ``{spec: one-line problem}``
    for those that cannot be scored (empty when all can). Registered identifiers are left to the identifier
    check.

    Parameters
    ----------
    models : sequence of str
    keep : bool
        Keep each checked network for :func:`load_spec_model` in this process (it is then not built again);
        False where the models are scored in other processes.
    """
    problems = {}
    for spec in models:
        if not is_spec(spec):
            continue
        try:
            built, metadata, _ = _build(spec)
            layers = _layers(spec, built)
        except ModelSpecError as error:
            problems[spec] = str(error)
            continue
        if keep:
            _CHECKED[spec] = (built, metadata, layers)
    return problems


def check_specs(models):
    """Raise :class:`ModelSpecError` naming every problem of :func:`spec_problems` (one line), before any scoring."""
    problems = spec_problems(models)
    if problems:
        raise ModelSpecError(' | '.join(problems.values()))
