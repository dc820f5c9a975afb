"""Attentive feature integration (AFI), AFINets paper, section 3.1, eq. 1-2."""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .pooling import GlobalAvgPool

__all__ = ['AFI', 'softmax_blend']


def softmax_blend(F, scores, features):
    """``sum_i softmax_i(scores)_i * features_i``, the softmax taken across the N inputs.

    ``scores[i]`` has the shape of ``features[i]`` or one that broadcasts to it with the
    same number of axes (B, C, 1, 1 for per-channel weights). Returns ``(blend, weights)``
    with ``weights`` stacked on axis 1 (B, N, ...)."""
    weights = F.softmax(F.stack(*scores, axis=1), axis=1)
    out = None
    for i, x in enumerate(features):
        wi = F.squeeze(F.slice_axis(weights, axis=1, begin=i, end=i + 1), axis=1)
        term = F.broadcast_mul(x, wi)
        out = term if out is None else out + term
    return out, weights


class AFI(HybridBlock):
    """Softmax-weighted sum of N feature maps of one shape, weights per channel.

    ``z_i = GAP(X_i)``, ``s_i = W2 ReLU(W1 z_i)`` (one scorer shared by all inputs;
    ``W1``: C -> C/r, ``W2``: C/r -> C, no biases, so ``2 C^2 / r`` parameters),
    ``a_i = softmax_i(s_i)`` across the N inputs per channel,
    ``R = sum_i a_i * X_i``.

    Call it with the N maps as separate arguments, ``afi(x1, x2, x3)``; N may be
    1 (then ``R = X_1``) and is fixed once the block is hybridized.

    Parameters
    ----------
    channels : int
        Channels C of every input.
    r : int, default 4
        Reduction ratio of the scorer (4 in the paper's setting A, 16 in B).
    """

    def __init__(self, channels, r=4, **kwargs):
        super(AFI, self).__init__(**kwargs)
        inner = channels // r
        if inner < 1:
            raise ValueError('AFI: r=%d leaves no channel of %d; use r <= %d'
                             % (r, channels, channels))
        with self.name_scope():
            self.squeeze = GlobalAvgPool(channels)
            self.fc1 = nn.Dense(inner, use_bias=False, in_units=channels)
            self.fc2 = nn.Dense(channels, use_bias=False, in_units=inner)

    def _scores(self, F, features):
        return [F.reshape(self.fc2(F.relu(self.fc1(self.squeeze(x)))), shape=(0, -1, 1, 1))
                for x in features]

    def weights(self, F, *features):
        """The attention weights, shape (B, N, C): non-negative, summing to 1 over N."""
        scores = F.stack(*self._scores(F, features), axis=1)
        return F.reshape(F.softmax(scores, axis=1), shape=(0, 0, -1))

    def hybrid_forward(self, F, *features):
        if not features:
            raise ValueError('AFI needs at least one feature map')
        return softmax_blend(F, self._scores(F, features), features)[0]
