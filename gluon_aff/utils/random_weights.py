"""Random, well-scaled values for every parameter, BatchNorm statistics included.

A freshly initialised network has BN means 0 and variances 1, which hides any
mistake in how a deployment path treats those statistics; tests and benchmarks
use this instead.
"""
import mxnet as mx
import numpy as np

__all__ = ['randomize']


def randomize(net, seed=0):
    """Set every parameter of ``net`` (initialising it if needed) and return ``net``.

    Weights ~ N(0, 2/fan_in); BN gamma ~ U(0.3, 0.8), running_var ~ U(0.5, 1.5);
    beta, running_mean and biases ~ N(0, 0.1). Deterministic for a given seed.
    """
    rng = np.random.RandomState(seed)
    for key, p in net._collect_params_with_prefix().items():
        shape = p.shape
        if key.endswith('running_var'):
            v = rng.uniform(0.5, 1.5, shape)
        elif key.endswith('gamma'):
            v = rng.uniform(0.3, 0.8, shape)
        elif key.endswith(('beta', 'running_mean', 'bias')):
            v = rng.normal(0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            v = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        if p._data is None:
            p.initialize(ctx=mx.cpu())
        p.set_data(mx.nd.array(v, dtype=p.dtype))
    return net
