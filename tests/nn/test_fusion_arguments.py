"""gluon_aff.nn's AFF, iAFF and MS-CAM take the twin's arguments (in_channels, resize,
dims, norm_layer, a list of two maps): the same checkpoint keys as the twin's blocks and
the same outputs, eager and hybridized, 1D to 3D; bad input named by argument; the zoo's
fusions keep graphs without a resize."""
import numpy as np
import pytest

import gluon_aff.model_zoo  # noqa: F401  (MXNet on numpy 2 first)
import mxnet as mx
import torch

from gluon_aff import nn as gnn
from gluon_aff import torch as twin
from gluon_aff.nn.registry import create_fusion
from helpers import run_python


def _to_twin(block, twin_block):
    state = {}
    for key, p in block._collect_params_with_prefix().items():
        key = key.replace('.gamma', '.weight').replace('.beta', '.bias')
        state[key] = torch.from_numpy(p.data().asnumpy())
    result = twin_block.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    assert all(k.endswith('num_batches_tracked') for k in result.missing_keys)
    return twin_block.eval()


@pytest.mark.parametrize('dims,resize', [(1, 'nearest'), (2, 'nearest'), (2, 'bilinear'),
                                         (3, 'nearest')])
@pytest.mark.parametrize('kind', ['AFF', 'IAFF'])
def test_the_twins_arguments_give_the_twins_outputs(kind, dims, resize):
    mx.random.seed(dims)
    block = getattr(gnn, kind)(16, 4, in_channels=(8, 24), resize=resize, dims=dims)
    block.initialize(mx.init.Uniform(0.5))
    y = mx.nd.random.normal(shape=(2, 8) + (6,) * dims)
    x = mx.nd.random.normal(shape=(2, 24) + (4,) * dims)       # 4 -> 6: not a whole scale
    eager = block(y, x).asnumpy()
    block.hybridize()
    hybrid = block([y, x]).asnumpy()
    reference = _to_twin(block, getattr(twin, kind)(16, 4, in_channels=(8, 24),
                                                    resize=resize, dims=dims))
    with torch.no_grad():
        want = reference(torch.from_numpy(y.asnumpy()), torch.from_numpy(x.asnumpy())).numpy()
    assert eager.shape == (2, 16) + (6,) * dims
    np.testing.assert_allclose(eager, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hybrid, want, rtol=1e-4, atol=1e-5)


AFTER_A_2D_NETWORK = r"""
import sys
import gluon_aff.model_zoo
import mxnet as mx
from mxnet import autograd
from mxnet.gluon import nn
from gluon_aff import nn as gnn
dims = int(sys.argv[1])
host = nn.HybridSequential()
host.add(nn.Conv2D(16, 1, in_channels=16), nn.BatchNorm(in_channels=16))
host.initialize()
with autograd.predict_mode():
    host(mx.nd.ones((2, 16, 1, 1))).wait_to_read()
for block in (gnn.MSCAM(16, 4, dims=dims), gnn.AFF(16, 4, dims=dims)):
    block.initialize()
    maps = [mx.nd.ones((2, 16) + (5,) * dims)] * (1 if isinstance(block, gnn.MSCAM) else 2)
    for hybrid in (False, True):
        block.hybridize(hybrid)
        with autograd.predict_mode():
            print(type(block).__name__, hybrid, block(*maps).asnumpy().mean())
"""


@pytest.mark.parametrize('dims', [1, 3])
def test_1d_and_3d_batch_norms_run_after_a_2d_network(dims):
    """MXNet 1.9.1's oneDNN BatchNorm crashed on MS-CAM's (N, C, 1) global branch once the
    process had run a 2D BatchNorm on an (N, C, 1, 1) convolution output (a segmentation
    fault; here in a process of its own)."""
    assert len(run_python(AFTER_A_2D_NETWORK, str(dims), timeout=300).splitlines()) == 4


def test_norm_layer_none_and_mscam_in_1d():
    block = gnn.AFF(8, 2, norm_layer=None, dims=1)
    assert not [k for k in block._collect_params_with_prefix() if 'gamma' in k]
    cam = gnn.MSCAM(8, 2, dims=1)
    cam.initialize()
    assert cam(mx.nd.ones((1, 8, 10))).shape == (1, 8, 10)


@pytest.mark.parametrize('build,call,message', [
    (lambda: gnn.AFF(16, 4), lambda b: b(mx.nd.ones((1, 8, 4, 4)), mx.nd.ones((1, 16, 4, 4))),
     r'y has 8 channels.*in_channels=\(8, 16\)'),
    (lambda: gnn.AFF(16, 4, resize=None),
     lambda b: b(mx.nd.ones((1, 16, 4, 4)), mx.nd.ones((1, 16, 2, 2))), "resize='nearest'"),
    (lambda: gnn.IAFF(16, 4, dims=1), lambda b: b(mx.nd.ones((1, 16, 4, 4)),
                                                  mx.nd.ones((1, 16, 4, 4))), 'rank 3'),
    (lambda: gnn.AFF(16, 4, dims=4), None, 'dims=4'),
    (lambda: gnn.AFF(16, 4, resize='bilinear', dims=3), None, 'bilinear: dims=2 only'),
    (lambda: gnn.AFF(16, 4, in_channels=(8, 8, 8)), None, 'in_channels=.*a pair'),
    (lambda: gnn.AFF(16, 32), None, 'r=32 is larger than the channel count 16'),
    (lambda: gnn.AFF(16, 4), lambda b: b([mx.nd.ones((1, 16, 4, 4))] * 3),
     'exactly two maps'),
])
def test_bad_input_is_named(build, call, message):
    with pytest.raises(ValueError, match=message):
        block = build()
        block.initialize()
        call(block)


def test_the_zoos_fusions_hold_no_resize():
    for name in ('aff', 'iaff'):
        block = create_fusion(name, 16, 4)
        assert block.resize is None and block.inputs is None
        graph = block(mx.sym.var('y'), mx.sym.var('x')).tojson()
        assert 'take' not in graph and 'BilinearResize2D' not in graph
