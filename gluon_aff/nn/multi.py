"""N-way attentional feature fusion: fuse three or more maps of one shape."""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .afi import softmax_blend
from ..core.fusion_arguments import inner_channels
from .pooling import GlobalAvgPool

__all__ = ['MultiAFF']


class MultiAFF(HybridBlock):
    """Soft selection among N maps with multi-scale (local + global) context.

    ``S = X_1 + ... + X_N``; one MS-CAM trunk reduces S (local: 1x1 conv to C/r, BN,
    ReLU; global: GAP, 1x1 conv to C/r, BN, ReLU); head i maps both back to C
    (1x1 conv + BN each) and ``s_i = L_i + g_i`` (global broadcast over H x W);
    ``W = softmax_i(s_i)`` per channel and position; ``Z = sum_i W_i X_i``.

    With N = 2 and the second head's output held at zero, ``W_1 = sigmoid(s_1)`` is
    MS-CAM's weight and ``Z = M X_1 + (1 - M) X_2``, AFF's selection without its
    factor 2. The weighted sum is shared with the AFINets AFI module
    (``softmax_blend``). Call ``block(x1, x2, ..., xN)``.

    Parameters
    ----------
    channels : int
    n : int
        Number of inputs (>= 2).
    r : int, default 4
    """

    def __init__(self, channels, n, r=4, **kwargs):
        super(MultiAFF, self).__init__(**kwargs)
        if n < 2:
            raise ValueError('MultiAFF fuses n >= 2 maps, got n=%d' % n)
        inter = inner_channels(channels, r)
        self.n = n
        with self.name_scope():
            self.local_trunk = nn.HybridSequential(prefix='local_trunk_')
            self.local_trunk.add(nn.Conv2D(inter, 1, in_channels=channels),
                                 nn.BatchNorm(in_channels=inter), nn.Activation('relu'))
            self.global_trunk = nn.HybridSequential(prefix='global_trunk_')
            self.global_trunk.add(GlobalAvgPool(channels),
                                  nn.Conv2D(inter, 1, in_channels=channels),
                                  nn.BatchNorm(in_channels=inter), nn.Activation('relu'))
            self.local_heads = nn.HybridSequential(prefix='local_heads_')
            self.global_heads = nn.HybridSequential(prefix='global_heads_')
            for _ in range(n):
                for heads in (self.local_heads, self.global_heads):
                    head = nn.HybridSequential(prefix='')
                    head.add(nn.Conv2D(channels, 1, in_channels=inter),
                             nn.BatchNorm(in_channels=channels))
                    heads.add(head)

    def _scores(self, F, xs):
        s = xs[0]
        for x in xs[1:]:
            s = s + x
        local, glob = self.local_trunk(s), self.global_trunk(s)
        return [F.broadcast_add(self.local_heads[i](local), self.global_heads[i](glob))
                for i in range(self.n)]

    def weights(self, F, *xs):
        """The fusion weights, shape (B, N, C, H, W), summing to 1 over N."""
        return F.softmax(F.stack(*self._scores(F, xs), axis=1), axis=1)

    def hybrid_forward(self, F, *xs):
        if len(xs) != self.n:
            raise ValueError('MultiAFF was built for %d inputs, got %d' % (self.n, len(xs)))
        return softmax_blend(F, self._scores(F, xs), xs)[0]
