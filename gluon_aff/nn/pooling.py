"""Global average pooling for the attention branches, cheap to train at every width."""
from mxnet.gluon import nn

__all__ = ['GlobalAvgPool', 'NATIVE_POOL_BELOW']

# Below this many channels the attention branches pool with MXNet's own kernel.
NATIVE_POOL_BELOW = 64


class GlobalAvgPool(nn.GlobalAvgPool2D):
    """``g = mean over H x W of X``: N x C x H x W -> N x C x 1 x 1, as ``nn.GlobalAvgPool2D``
    (the same node name, no parameters, the same checkpoint keys).

    On a map with few channels and many pixels, oneDNN (MXNet 1.9.1) computes the gradient
    of global average pooling with a generic kernel at about 80 ns per input value: on one
    thread, for a batch of 32 maps of 16 channels at 32 x 32, the backward pass took 42 ms
    where the forward took 0.5 ms. Below ``NATIVE_POOL_BELOW`` channels this block uses MXNet's own
    kernel (``contrib.AdaptiveAvgPooling2D`` to 1 x 1, exported to ONNX as
    GlobalAveragePool like the other), as fast as oneDNN's forwards there and fast
    backwards; from there up it uses oneDNN's, faster forwards and fast backwards at the
    zoo's sizes. benchmarks/global_pool_cost.md has the measurements.
    """

    def __init__(self, channels, **kwargs):
        super(GlobalAvgPool, self).__init__(**kwargs)
        self.native = channels < NATIVE_POOL_BELOW

    def hybrid_forward(self, F, x):
        if self.native:
            return F.contrib.AdaptiveAvgPooling2D(x, output_size=1, name='fwd')
        return super(GlobalAvgPool, self).hybrid_forward(F, x)
