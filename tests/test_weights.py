"""Weight-file resolution: order of places, hash checks, atomic downloads and the offline error."""
import hashlib
import io
import re
import socket
import traceback
import urllib.error
from pathlib import Path

import pytest

from nrp_plugin import registry
from nrp_plugin.storage import weights
from nrp_plugin.storage.weights import (WeightSpec, WeightsChecksumError, WeightsUnavailableError,
                                        resolve_weights)

pytestmark = pytest.mark.usefixtures('weight_env')

PAYLOAD = b'toy checkpoint bytes ' * 1000


@pytest.fixture
def toy(monkeypatch, tmp_path):
    spec = WeightSpec(name='toy', filename='toy.bin', url='https://example.invalid/toy.bin', algorithm='sha1',
                      digest=hashlib.sha1(PAYLOAD).hexdigest(), env_var='NRP_TOY_WEIGHTS',
                      alternative="'toy_untrained'",
                      extra_locations=(f'TOY_EXTRA_HOME|{tmp_path / "extra-default"}|deep/toy.bin',))
    return spec


def _write(path, data=PAYLOAD):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _fail_network(url, timeout):
    raise urllib.error.URLError(socket.gaierror(-3, 'Temporary failure in name resolution'))


def test_resolution_order(toy, tmp_path, monkeypatch):
    extra = _write(tmp_path / 'extra-default' / 'deep' / 'toy.bin')
    assert resolve_weights(toy) == extra
    hub = _write(tmp_path / 'torch' / 'hub' / 'checkpoints' / 'toy.bin')
    assert resolve_weights(toy) == hub
    own = _write(tmp_path / 'nrp' / 'weights' / 'toy.bin')
    assert resolve_weights(toy) == own
    monkeypatch.setenv('NRP_PLUGIN_WEIGHTS_DIR', str(tmp_path / 'placed'))
    placed = _write(tmp_path / 'placed' / 'toy.bin')
    assert resolve_weights(toy) == placed
    from_env = _write(tmp_path / 'elsewhere' / 'any-name.bin')
    monkeypatch.setenv('NRP_TOY_WEIGHTS', str(from_env))
    assert resolve_weights(toy) == from_env
    argument = _write(tmp_path / 'argument.bin')
    assert resolve_weights(toy, path=argument) == argument


def test_missing_explicit_file_does_not_fall_back(toy, tmp_path, monkeypatch):
    _write(tmp_path / 'torch' / 'hub' / 'checkpoints' / 'toy.bin')  # a good cached copy exists
    monkeypatch.setenv('NRP_TOY_WEIGHTS', str(tmp_path / 'typo.bin'))
    with pytest.raises(WeightsUnavailableError, match=r'NRP_TOY_WEIGHTS does not exist: .*typo\.bin'):
        resolve_weights(toy)


@pytest.mark.parametrize('where', ['cache', 'explicit'])
def test_wrong_checksum_is_rejected(toy, tmp_path, where):
    corrupted = PAYLOAD[:-10]  # truncated
    if where == 'cache':
        path = _write(tmp_path / 'torch' / 'hub' / 'checkpoints' / 'toy.bin', corrupted)
        call = lambda: resolve_weights(toy)  # noqa: E731
    else:
        path = _write(tmp_path / 'mine.bin', corrupted)
        call = lambda: resolve_weights(toy, path=path)  # noqa: E731
    with pytest.raises(WeightsChecksumError) as info:
        call()
    message = str(info.value)
    assert str(path) in message and toy.digest in message and hashlib.sha1(corrupted).hexdigest() in message
    assert 'Delete it' in message


def test_sha256_prefix_digest(monkeypatch, tmp_path):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    good = WeightSpec('p', 'p.bin', 'https://example.invalid/p.bin', 'sha256', digest[:8], 'NRP_P', "'p0'")
    bad = WeightSpec('p', 'p.bin', 'https://example.invalid/p.bin', 'sha256',
                     ('0' if digest[0] != '0' else '1') + digest[1:8], 'NRP_P', "'p0'")
    path = _write(tmp_path / 'p.bin')
    assert weights.verify_file(path, good) == path
    with pytest.raises(WeightsChecksumError):
        weights.verify_file(path, bad)


@pytest.mark.parametrize('name, alternative', [('cornet_s', 'cornet_s_untrained'),
                                               ('resnet50', 'resnet50_untrained_pruned')])
def test_network_failure_gives_clear_error(name, alternative, monkeypatch, tmp_path):
    monkeypatch.delenv('NRP_PLUGIN_OFFLINE')
    monkeypatch.setattr(weights, '_open_url', _fail_network)
    spec = {'cornet_s': registry.CORNET_S_WEIGHTS, 'resnet50': registry.RESNET50_WEIGHTS}[name]
    with pytest.raises(WeightsUnavailableError) as info:
        resolve_weights(spec)
    error = info.value
    message = str(error)
    assert spec.filename in message and spec.env_var in message and alternative in message
    assert str(tmp_path / 'torch' / 'hub' / 'checkpoints' / spec.filename) in message  # where to place it
    assert 'Temporary failure in name resolution' in message  # the reason, in one line
    # no chained network traceback
    assert error.__cause__ is None and error.__suppress_context__
    rendered = ''.join(traceback.format_exception(error))
    assert 'During handling of the above exception' not in rendered
    assert 'urllib' not in rendered.split('WeightsUnavailableError')[0]
    assert not list((tmp_path / 'torch' / 'hub' / 'checkpoints').glob('*'))  # nothing half-written


def test_offline_switch_skips_the_network(toy, monkeypatch):
    def must_not_be_called(url, timeout):
        raise AssertionError('download attempted although NRP_PLUGIN_OFFLINE is set')
    monkeypatch.setattr(weights, '_open_url', must_not_be_called)
    with pytest.raises(WeightsUnavailableError, match='NRP_PLUGIN_OFFLINE') as info:
        resolve_weights(toy)
    assert "'toy_untrained'" in str(info.value)
    with pytest.raises(WeightsUnavailableError):
        resolve_weights(toy, allow_download=False)


def test_download_verifies_and_caches(toy, monkeypatch, tmp_path):
    monkeypatch.delenv('NRP_PLUGIN_OFFLINE')
    calls = []

    def serve(url, timeout):
        calls.append(url)
        return io.BytesIO(PAYLOAD)
    monkeypatch.setattr(weights, '_open_url', serve)
    path = resolve_weights(toy)
    assert path == tmp_path / 'torch' / 'hub' / 'checkpoints' / 'toy.bin'
    assert path.read_bytes() == PAYLOAD and calls == [toy.url]
    assert resolve_weights(toy) == path and len(calls) == 1  # second time from the cache


def test_download_with_wrong_bytes_leaves_nothing(toy, monkeypatch, tmp_path):
    monkeypatch.delenv('NRP_PLUGIN_OFFLINE')
    monkeypatch.setattr(weights, '_open_url', lambda url, timeout: io.BytesIO(b'<html>captive portal</html>'))
    with pytest.raises(WeightsChecksumError, match='discarded'):
        resolve_weights(toy)
    assert not list((tmp_path / 'torch' / 'hub' / 'checkpoints').iterdir())


def test_interrupted_download_leaves_nothing(toy, monkeypatch, tmp_path):
    monkeypatch.delenv('NRP_PLUGIN_OFFLINE')

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError(104, 'Connection reset by peer')
            return super().read(100)
    monkeypatch.setattr(weights, '_open_url', lambda url, timeout: Broken(PAYLOAD))
    with pytest.raises(WeightsUnavailableError, match='Connection reset by peer'):
        resolve_weights(toy)
    assert not list((tmp_path / 'torch' / 'hub' / 'checkpoints').iterdir())


def test_published_specs_match_their_sources():
    """Our file facts agree with Brain-Score's CORnet-S plugin and with torchvision."""
    import brainscore_vision
    from torchvision.models import ResNet50_Weights
    in_tree = (Path(brainscore_vision.__file__).parent / 'models' / 'cornet_s' / 'model.py').read_text()
    sha1 = re.search(r'sha1="([0-9a-f]{40})"', in_tree).group(1)
    assert registry.CORNET_S_WEIGHTS.digest == sha1
    assert 'cornet_s/cornet_s_epoch43.pth.tar' in in_tree and registry.CORNET_S_WEIGHTS.url.endswith(
        'brainscore-vision/models/cornet_s/cornet_s_epoch43.pth.tar')
    url = ResNet50_Weights.IMAGENET1K_V1.url
    assert registry.RESNET50_WEIGHTS.url == url and url.endswith('/' + registry.RESNET50_WEIGHTS.filename)
    assert registry.RESNET50_WEIGHTS.filename == f'resnet50-{registry.RESNET50_WEIGHTS.digest}.pth'
