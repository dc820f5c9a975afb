"""MXNet's .params format read and written with numpy alone, on files MXNet writes."""
import glob
import json
import os
import struct
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.core.params_file import ParamsFileError, read_params, write_params
from helpers import COMPAT_DIR


def _mxnet_file(path, arrays):
    mx.nd.save(path, {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
    return path


def test_reads_what_mxnet_writes(tmp_path):
    rng = np.random.RandomState(0)
    arrays = {'features.0.weight': rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
              'features.3.0.attention.local_att.0.weight':
                  rng.normal(size=(8, 2, 1, 1)).astype(np.float16),
              'output.bias': rng.normal(size=(10,)).astype(np.float64),
              'steps': np.array([7], np.int64), 'mask': np.array([1, 0, 3], np.uint8),
              'ids': np.array([[-2, 5]], np.int32), 'small': np.array([-3, 4], np.int8)}
    path = _mxnet_file(str(tmp_path / 'a.params'), arrays)
    got = read_params(path)
    assert list(got) == list(arrays)                          # the file's order
    for name, value in arrays.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        np.testing.assert_array_equal(got[name], value)


def test_writes_what_mxnet_writes_byte_for_byte(tmp_path):
    rng = np.random.RandomState(1)
    arrays = {'w': rng.normal(size=(2, 3)).astype(np.float32),
              'features.0.b': rng.normal(size=(2,)).astype(np.float16),
              's': np.array([5], np.int64)}
    ours, theirs = str(tmp_path / 'ours.params'), str(tmp_path / 'theirs.params')
    write_params(ours, arrays)
    _mxnet_file(theirs, arrays)
    assert open(ours, 'rb').read() == open(theirs, 'rb').read()
    assert os.path.getsize(ours) == 210          # the layout worked out in the spec
    loaded = mx.nd.load(ours)
    np.testing.assert_array_equal(loaded['features.0.b'].asnumpy(), arrays['features.0.b'])


def test_save_parameters_of_a_zoo_network(tmp_path):
    from gluon_aff.model_zoo import get_model
    from helpers import randomize
    net = randomize(get_model('cifar_iaff_resnet20', blocks=1, channel_times=1), seed=2)
    net.cast('float16')
    path = str(tmp_path / 'net.params')
    net.save_parameters(path)
    got = read_params(path)
    expected = net._collect_params_with_prefix()
    assert list(got) == list(expected)
    for name, p in expected.items():
        np.testing.assert_array_equal(got[name], p.data().asnumpy())


@pytest.mark.parametrize('manifest', sorted(glob.glob(os.path.join(COMPAT_DIR, '*.json'))),
                         ids=lambda p: os.path.basename(p)[:-5])
def test_released_layouts(manifest, tmp_path):
    """Every key of the original's checkpoints (the manifests), float16 convolution and
    dense weights beside float32 BatchNorm values, as in the released ImageNet files."""
    with open(manifest) as f:
        keys = json.load(f)['keys']
    arrays = {}
    for i, (key, shape) in enumerate(keys):
        norm = key.rsplit('.', 1)[-1] in ('gamma', 'beta', 'running_mean', 'running_var')
        arrays[key] = np.full(shape, i % 7 - 3, np.float32 if norm else np.float16)
    path = _mxnet_file(str(tmp_path / 'released.params'), arrays)
    got = read_params(path)
    assert [(k, list(v.shape), v.dtype) for k, v in got.items()] == \
        [(k, list(v.shape), v.dtype) for k, v in arrays.items()]
    assert all((got[k] == v).all() for k, v in arrays.items())


def test_bad_files_are_named(tmp_path):
    path = _mxnet_file(str(tmp_path / 'cut.params'), {'w': np.ones((64, 64), np.float32)})
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ParamsFileError, match=r"cut.params' is truncated: array 0 data "
                                              r'\(float32 \(64, 64\)\) needs 16384 bytes'):
        read_params(path)
    other = tmp_path / 'model.onnx'
    other.write_bytes(b'\x08\x07\x12\x07pytorch' + b'\0' * 40)
    with pytest.raises(ParamsFileError, match='is not an MXNet .params file'):
        read_params(str(other))
    sparse = tmp_path / 'sparse.params'
    sparse.write_bytes(struct.pack('<QQQIi', 0x112, 0, 1, 0xF993FAC9, 1) + b'\0' * 16)
    with pytest.raises(ParamsFileError, match='sparse'):
        read_params(str(sparse))
    with pytest.raises(ValueError, match='bool'):
        write_params(str(tmp_path / 'x.params'), {'b': np.array([True])})


def test_reads_without_mxnet(tmp_path):
    path = _mxnet_file(str(tmp_path / 'a.params'), {'w': np.arange(6, dtype=np.float16)})
    code = ("import sys; sys.modules['mxnet'] = None; "
            "from gluon_aff.core.params_file import read_params; "
            "print(read_params(sys.argv[1])['w'].tolist())")
    out = subprocess.run([sys.executable, '-c', code, path], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == '[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]'
