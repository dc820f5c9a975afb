"""The attention blocks' global average pooling: NumPy's mean and its gradient on both of
its kernels, and the kernel each attention block gets at a narrow width."""
import json

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.nn import AFI, MSCAM, MultiAFF
from gluon_aff.nn.pooling import NATIVE_POOL_BELOW, GlobalAvgPool


@pytest.mark.parametrize('channels', [3, NATIVE_POOL_BELOW - 1, NATIVE_POOL_BELOW, 130])
@pytest.mark.parametrize('hybridize', [False, True])
def test_mean_over_the_pixels_and_its_gradient(channels, hybridize):
    rng = np.random.RandomState(channels)
    x = rng.uniform(-2, 3, (2, channels, 5, 7)).astype(np.float32)
    upstream = rng.uniform(-1, 1, (2, channels, 1, 1)).astype(np.float32)
    pool = GlobalAvgPool(channels)
    if hybridize:
        pool.hybridize()
    data = mx.nd.array(x)
    data.attach_grad()
    with mx.autograd.record():
        out = pool(data)
    out.backward(mx.nd.array(upstream))
    np.testing.assert_allclose(out.asnumpy(), x.mean(axis=(2, 3), keepdims=True),
                               rtol=1e-6, atol=1e-6)
    # d mean / d x = 1 / (H W) at every pixel
    np.testing.assert_allclose(data.grad.asnumpy(),
                               np.broadcast_to(upstream / 35.0, x.shape), rtol=1e-6, atol=1e-7)


def _pooling_ops(block, n_inputs=1):
    inputs = [mx.sym.var('x%d' % i) for i in range(n_inputs)]
    out = block(*inputs)
    return [(node['op'], node.get('attrs', {}).get('global_pool'))
            for node in json.loads(out.tojson())['nodes'] if 'Pool' in node['op']]


@pytest.mark.parametrize('make,n_inputs', [(lambda c: MSCAM(c, r=4), 1),
                                           (lambda c: AFI(c, r=4), 2),
                                           (lambda c: MultiAFF(c, 3, r=4), 3)])
def test_narrow_attention_pools_with_mxnets_kernel(make, n_inputs):
    """oneDNN's gradient of global average pooling is slow on narrow, large maps (42 ms
    against 1 ms for 32 x 16 x 32 x 32; benchmarks/global_pool_cost.md): the attention
    blocks pool narrow maps with MXNet's kernel, and wide ones with oneDNN's."""
    narrow = _pooling_ops(make(16), n_inputs)
    assert narrow and set(narrow) == {('_contrib_AdaptiveAvgPooling2D', None)}
    wide = _pooling_ops(make(NATIVE_POOL_BELOW), n_inputs)
    assert wide and set(wide) == {('Pooling', 'True')}
