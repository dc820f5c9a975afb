"""Multi-scale channel attention (MS-CAM), Dai et al., WACV 2021, section 3."""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .pooling import GlobalAvgPool

__all__ = ['MSCAM', 'local_context', 'global_context', 'mscam_weight', 'add_mscam_branches']


def _inter_channels(channels, r):
    inter = channels // r
    if inter < 1:
        raise ValueError('reduction ratio r=%d is larger than the channel count %d; '
                         'use r <= %d' % (r, channels, channels))
    return inter


def local_context(channels, r):
    """L(X) = BN(PWConv2(ReLU(BN(PWConv1(X))))), shape C x H x W (eq. 2).

    Indices 0..4 are part of the checkpoint keys (``local_att.0.weight`` ...).
    The BatchNorms are plain ``BatchNorm()`` whatever the host's norm layer, as
    in the original code.
    """
    inter = _inter_channels(channels, r)
    branch = nn.HybridSequential()
    with branch.name_scope():
        branch.add(nn.Conv2D(inter, 1, in_channels=channels))
        branch.add(nn.BatchNorm(in_channels=inter))
        branch.add(nn.Activation('relu'))
        branch.add(nn.Conv2D(channels, 1, in_channels=inter))
        branch.add(nn.BatchNorm(in_channels=channels))
    return branch


def global_context(channels, r):
    """g(X) = BN(PWConv2(ReLU(BN(PWConv1(GAP(X)))))), shape C x 1 x 1 (eq. 1)."""
    inter = _inter_channels(channels, r)
    branch = nn.HybridSequential()
    with branch.name_scope():
        branch.add(GlobalAvgPool(channels))
        branch.add(nn.Conv2D(inter, 1, in_channels=channels))
        branch.add(nn.BatchNorm(in_channels=inter))
        branch.add(nn.Activation('relu'))
        branch.add(nn.Conv2D(channels, 1, in_channels=inter))
        branch.add(nn.BatchNorm(in_channels=channels))
    return branch


def add_mscam_branches(block, channels, r, suffix=''):
    """Give ``block`` MS-CAM's two branches as ``local_att<suffix>``/``global_att<suffix>``
    (call it inside the block's name_scope; the names are checkpoint keys)."""
    setattr(block, 'local_att' + suffix, local_context(channels, r))
    setattr(block, 'global_att' + suffix, global_context(channels, r))


def mscam_weight(F, s, local_att, global_att):
    """M(s) = sigmoid(L(s) + g(s)), the global term broadcast over H x W."""
    return F.sigmoid(F.broadcast_add(local_att(s), global_att(s)))


class MSCAM(HybridBlock):
    """Multi-scale channel attention on one feature map (eq. 3).

    ``X' = X * M(X)`` with ``M(X) = sigmoid(L(X) + g(X))``.

    Parameters
    ----------
    channels : int
        Channels C of the input.
    r : int, default 4
        Channel reduction ratio; the branches' inner width is ``C // r``.
    """

    def __init__(self, channels, r=4, **kwargs):
        super(MSCAM, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)

    def weight(self, x):
        """The attention weights M(x) alone (NDArray or Symbol)."""
        F = _namespace(x)
        return mscam_weight(F, x, self.local_att, self.global_att)

    def hybrid_forward(self, F, x):
        return x * mscam_weight(F, x, self.local_att, self.global_att)


def _namespace(x):
    import mxnet as mx
    return mx.sym if isinstance(x, mx.sym.Symbol) else mx.nd
