"""gluon-aff export: symbol/params and ONNX (run by ONNX Runtime), one small network per
family."""
import mxnet as mx
import numpy as np
import pytest

from helpers import randomize
from gluon_aff.cli import main
from gluon_aff.deploy import run_onnx
from gluon_aff.model_zoo import get_model

FAMILIES = [
    ('iaff_resnet50', dict(layers=[1, 1, 1, 1], stem_width=8), 64),
    ('aff_resnext50_32x4d', dict(layers=[1, 1, 1, 1], stem_width=16), 64),
    ('cifar_iaff_resnet20', dict(blocks=1, channel_times=1), 32),
    ('cifar_aff_resnext38_32x4d', dict(blocks=1, channel_times=1), 32),
]


def _saved(tmp_path, name, kwargs):
    net = randomize(get_model(name, **kwargs), seed=3)
    path = str(tmp_path / (name + '.params'))
    net.save_parameters(path)
    args = sum((['--arg', '%s=%r' % kv] for kv in kwargs.items()), [])
    return net, path, args


@pytest.mark.parametrize('name,kwargs,size', FAMILIES, ids=[f[0] for f in FAMILIES])
def test_export_symbol_and_onnx(name, kwargs, size, tmp_path):
    import onnx
    net, path, args = _saved(tmp_path, name, kwargs)
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    expected = net(mx.nd.array(x)).asnumpy()
    scale = np.abs(expected).max()
    out = str(tmp_path / 'out')
    assert main(['export', name, '--params', path, '--format', 'symbol', '--out', out] + args) == 0
    sym = mx.gluon.SymbolBlock.imports('%s/%s-symbol.json' % (out, name), ['data'],
                                       '%s/%s-0000.params' % (out, name))
    assert np.abs(sym(mx.nd.array(x)).asnumpy() - expected).max() <= 1e-4 * scale
    assert main(['export', name, '--params', path, '--format', 'onnx', '--out', out,
                 '--input-size', str(size)] + args) == 0
    model = onnx.load('%s/%s.onnx' % (out, name))
    assert [i.name for i in model.graph.input] == ['data']      # weights are initializers
    assert all(w.raw_data and not w.float_data for w in model.graph.initializer)   # as bytes
    assert model.opset_import[0].version == 19
    onnx.checker.check_model(model)
    # ONNX Runtime computes what MXNet computes
    got = run_onnx('%s/%s.onnx' % (out, name), x)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * scale


def test_export_errors_and_random_weights(tmp_path, capsys):
    assert main(['export', 'cifar_aff_resnet2', '--format', 'symbol']) == 2
    assert 'cifar_aff_resnet20' in capsys.readouterr().err
    net, path, _ = _saved(tmp_path, 'cifar_aff_resnet20', dict(blocks=1, channel_times=1))
    assert main(['export', 'cifar_aff_resnet20', '--params', path, '--format', 'symbol',
                 '--out', str(tmp_path)]) == 2
    assert 'does not fit cifar_aff_resnet20' in capsys.readouterr().err
    assert main(['export', 'cifar_add_resnet20', '--format', 'symbol', '--out',
                 str(tmp_path), '--batch-size', '4']) == 0
    assert 'input "data" 4x3x32x32' in capsys.readouterr().out


BEYOND_THE_FOUR = [
    ('cifar_afi_resnet32', dict(blocks=2), 32),                 # concatenation (A)
    ('cifar_afi_mobilenetv2_b', dict(config=[(1, 8, 1, 1), (6, 12, 3, 1)]), 32),  # interleave
    ('cifar_afi_shufflenetv2', dict(net_size=0.5), 32),         # split, shuffle
    ('afi_resnet50_b', dict(classes=10, layers=[1, 2, 1, 1]), 32),  # bottlenecks
    ('cifar_inception_concat_b1', dict(channel_times=1), 32),   # the concat fusion
    ('fpn_resnet20_iaff_b1', {}, 30),                           # upsampling "like", odd sizes
] + [('cifar_add_resnet20', dict(blocks=1, channel_times=1, fusion=f), 32)
     for f in ('concat_aff', 'recursive_aff', 'global_global', 'sk')]


@pytest.mark.parametrize('name,kwargs,size', BEYOND_THE_FOUR,
                         ids=[c[0] + ('-' + c[1]['fusion'] if 'fusion' in c[1] else '')
                              for c in BEYOND_THE_FOUR])
def test_onnx_and_optimize_beyond_the_four_families(name, kwargs, size, tmp_path):
    """ONNX export (run by ONNX Runtime) and the optimised MXNet form compute what the
    network computes, for the AFI, Inception and FPN networks and the ablation variants."""
    from gluon_aff.deploy import export_onnx, optimize
    net = randomize(get_model(name, **kwargs), seed=11)
    x = np.random.RandomState(12).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    expected = net(mx.nd.array(x)).asnumpy()
    scale = np.abs(expected).max()
    path = export_onnx(net, str(tmp_path / 'net.onnx'), x.shape)
    assert np.abs(run_onnx(path, x) - expected).max() <= 1e-4 * scale
    assert np.abs(optimize(net)(mx.nd.array(x)).asnumpy() - expected).max() <= 1e-4 * scale
