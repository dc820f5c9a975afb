"""Released checkpoints: registry, verified download (local server), loading errors."""
import glob
import os
import subprocess

import mxnet as mx
import numpy as np
import pytest

from helpers import randomize
from gluon_aff.core import released
from gluon_aff.model_zoo import get_model, pretrained as P

SMALL = dict(blocks=1, channel_times=1)


@pytest.fixture
def small_file(tmp_path):
    """A params file of a small cifar_aff_resnet20, and its network."""
    net = randomize(get_model('cifar_aff_resnet20', **SMALL), seed=5)
    path = str(tmp_path / 'small.params')
    net.save_parameters(path)
    return path, net


@pytest.fixture
def fake_release(small_file, monkeypatch):
    """Register the small file as cifar_aff_resnet20's released 'fine' checkpoint."""
    path, net = small_file
    ckpt = P.Checkpoint(model='cifar_aff_resnet20', file='0.5000-fake-best.params',
                        path='cifar100/Fake/0.5000-fake-best.params',
                        git_blob_id=P.git_blob_id(path), dtype={}, labels='fine',
                        head_classes=100, label_classes=100, metric='accuracy', value=0.5,
                        input_size=32, paper=None)
    monkeypatch.setattr(released, 'CHECKPOINTS', released.CHECKPOINTS + [ckpt])
    with open(path, 'rb') as f:
        return ckpt, f.read(), net


def test_registry_has_the_nine_released_files():
    assert len(P.CHECKPOINTS) == 9
    assert len({c.git_blob_id for c in P.CHECKPOINTS}) == 9
    by_model = {}
    for c in P.CHECKPOINTS:
        by_model.setdefault(c.model, []).append(c.labels)
        assert c.path.endswith('/' + c.file)
        assert str(c.value) in c.file or ('%.4f' % c.value) in c.file
    assert by_model == {
        'aff_resnet50': ['imagenet'], 'aff_resnext50_32x4d': ['imagenet'],
        'iaff_resnet50': ['imagenet'], 'iaff_resnext50_32x4d': ['imagenet'],
        'cifar_aff_resnet32': ['fine', 'coarse'], 'cifar_aff_resnext38_32x4d': ['coarse'],
        'cifar_aff_resnext47_32x4d': ['fine', 'coarse']}
    imagenet = P.select_checkpoint('iaff_resnet50')
    assert imagenet.dtype == {'conv_dense': 'float16', 'batchnorm': 'float32'}
    assert imagenet.paper == {'where': 'Table 5, top-1 err.', 'value': 0.204}
    assert P.select_checkpoint('cifar_aff_resnet32').labels == 'fine'
    assert P.select_checkpoint('cifar_aff_resnet32', 'coarse').file.startswith('0.9078')
    assert P.select_checkpoint('cifar_aff_resnext38_32x4d').labels == 'coarse'
    with pytest.raises(P.CheckpointError, match="no 'fine' checkpoint"):
        P.select_checkpoint('cifar_aff_resnext38_32x4d', 'fine')
    with pytest.raises(P.CheckpointError, match='no released checkpoint'):
        get_model('aff_resnet152', pretrained=True)


def test_git_blob_id_equals_git_hash_object(small_file):
    path, _ = small_file
    out = subprocess.run(['git', 'hash-object', path], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip('git not available')
    assert P.git_blob_id(path) == out.stdout.strip()


def test_download_verify_and_load(fake_release, http_server, tmp_path, monkeypatch):
    ckpt, body, net = fake_release
    base, server = http_server
    server.files['/params/' + ckpt.path] = body
    monkeypatch.setenv(P.BASE_URL_ENV, base + '/params/')
    root = tmp_path / 'models'
    loaded = get_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)
    assert os.listdir(root) == [ckpt.file]
    assert loaded.checkpoint == ckpt
    x = mx.nd.array(np.random.RandomState(0).uniform(size=(1, 3, 32, 32)))
    np.testing.assert_allclose(loaded(x).asnumpy(), net(x).asnumpy(), rtol=1e-6)
    # a second call finds and verifies the file, without the server
    server.files.clear()
    get_model('cifar_aff_resnet20', pretrained='fine', root=str(root), **SMALL)


def test_default_root_is_mxnet_home(fake_release, http_server, monkeypatch, tmp_path):
    ckpt, body, _ = fake_release
    base, server = http_server
    server.files['/' + ckpt.path] = body
    monkeypatch.setenv(P.BASE_URL_ENV, base)
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'home'))
    get_model('cifar_aff_resnet20', pretrained=True, **SMALL)
    assert os.path.exists(tmp_path / 'home' / 'models' / ckpt.file)


def test_wrong_blob_id_is_refused_and_nothing_kept(fake_release, http_server, tmp_path,
                                                  monkeypatch):
    ckpt, body, _ = fake_release
    base, server = http_server
    server.files['/' + ckpt.path] = body[:-1] + bytes([body[-1] ^ 1])
    monkeypatch.setenv(P.BASE_URL_ENV, base)
    root = tmp_path / 'models'
    with pytest.raises(P.ChecksumError, match='not the released'):
        get_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)
    assert os.listdir(root) == []


def test_connection_cut_mid_file_leaves_nothing(fake_release, http_server, tmp_path,
                                               monkeypatch):
    ckpt, body, _ = fake_release
    base, server = http_server
    server.files['/' + ckpt.path] = body
    server.cut.add('/' + ckpt.path)
    monkeypatch.setenv(P.BASE_URL_ENV, base)
    root = tmp_path / 'models'
    with pytest.raises(P.DownloadError) as err:
        get_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)
    assert 'Nothing was kept' in str(err.value)
    assert os.listdir(root) == []


def test_missing_file_on_server_is_a_download_error(fake_release, http_server, tmp_path,
                                                     monkeypatch):
    ckpt, _, _ = fake_release
    base, _ = http_server
    monkeypatch.setenv(P.BASE_URL_ENV, base)
    root = tmp_path / 'models'
    with pytest.raises(P.DownloadError, match='404'):
        get_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)
    assert glob.glob(str(root / '*')) == []


def test_cached_file_with_wrong_content_is_refused(fake_release, tmp_path):
    ckpt, body, _ = fake_release
    (tmp_path / ckpt.file).write_bytes(body + b'x')
    with pytest.raises(P.ChecksumError, match='Delete it to download it again'):
        get_model('cifar_aff_resnet20', pretrained=True, root=str(tmp_path), **SMALL)


def test_released_name_with_other_content_is_refused_but_own_files_load(small_file, tmp_path):
    path, net = small_file
    released = P.CHECKPOINTS[4].file
    fake = tmp_path / released
    fake.write_bytes(open(path, 'rb').read())
    with pytest.raises(P.ChecksumError, match='name of a released checkpoint'):
        get_model('cifar_aff_resnet20', pretrained=str(fake), **SMALL)
    own = get_model('cifar_aff_resnet20', pretrained=path, **SMALL)   # no blob check
    x = mx.nd.ones((1, 3, 32, 32))
    np.testing.assert_allclose(own(x).asnumpy(), net(x).asnumpy(), rtol=1e-6)


def test_truncated_params_file(small_file, tmp_path):
    path, _ = small_file
    cut = tmp_path / 'cut.params'
    cut.write_bytes(open(path, 'rb').read()[:2000])
    with pytest.raises(P.CheckpointError) as err:
        get_model('cifar_aff_resnet20', pretrained=str(cut), **SMALL)
    assert 'truncated or not an MXNet .params file' in str(err.value)
    assert str(cut) in str(err.value)


def test_cifar_checkpoint_into_imagenet_network(small_file):
    path, _ = small_file
    with pytest.raises(P.CheckpointMismatchError) as err:
        get_model('aff_resnet50', pretrained=path)
    msg = str(err.value)
    assert 'does not fit aff_resnet50' in msg
    assert 'missing from the file (493)' in msg and 'conv1.0.weight' in msg
    assert 'in the file but not in the network' in msg and 'features.0.gamma' in msg
    assert 'another architecture' in msg


def test_mis_shaped_keys_are_named(small_file):
    path, _ = small_file
    with pytest.raises(P.CheckpointMismatchError) as err:
        get_model('cifar_aff_resnet20', pretrained=path, blocks=1, channel_times=2)
    msg = str(err.value)
    assert 'different shapes' in msg and 'features.1.weight (file (16, 3, 3, 3), network (32, 3, 3, 3))' in msg
    with pytest.raises(P.CheckpointMismatchError, match='missing from the file'):
        get_model('cifar_aff_resnet20', pretrained=path, blocks=2, channel_times=1)


def test_pretrained_string_that_is_neither_file_nor_label():
    with pytest.raises(P.CheckpointError, match="neither an existing file nor a label set"):
        get_model('cifar_aff_resnet32', pretrained='/no/such/file.params')


@pytest.mark.network
@pytest.mark.parametrize('ckpt', P.CHECKPOINTS, ids=[c.file[:24] for c in P.CHECKPOINTS])
def test_real_released_checkpoints(ckpt, tmp_path_factory):
    """Opt-in (--run-network): fetch each released file, check its blob id, load it."""
    root = os.environ.get('GLUON_AFF_TEST_ROOT') or str(tmp_path_factory.getbasetemp() / 'real')
    path = P.fetch_checkpoint(ckpt, root=root)
    assert P.git_blob_id(path) == ckpt.git_blob_id
    net = get_model(ckpt.model, pretrained=path)
    size = ckpt.input_size
    out = net(mx.nd.zeros((1, 3, size, size)))
    assert out.shape == (1, ckpt.head_classes) and np.isfinite(out.asnumpy()).all()
