"""Multi-scale channel attention (MS-CAM), Dai et al., WACV 2021, section 3."""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..core.fusion_arguments import check_dims, inner_channels
from .pooling import GlobalAvgPool

__all__ = ['MSCAM', 'local_context', 'global_context', 'mscam_weight', 'add_mscam_branches',
           'make_norm', 'MXNET_NORM']


_CONV = {1: nn.Conv1D, 2: nn.Conv2D, 3: nn.Conv3D}
_POOL = {1: nn.GlobalAvgPool1D, 3: nn.GlobalAvgPool3D}
MXNET_NORM = 'mxnet'        # norm_layer's default: MXNet's BatchNorm, as the released weights


class _Identity(HybridBlock):
    def hybrid_forward(self, F, x):
        return x


class _BatchNormOn4D(nn.BatchNorm):
    """MXNet's BatchNorm, given 1D and 3D maps as 4D ones, (N, C, 1, L*) (the same statistics
    per channel, the same parameters and parameter names).

    MXNet 1.9.1's oneDNN BatchNorm crashes the process (a segmentation fault in
    MKLDNNBatchNormForwardImpl) on an (N, C, 1) or (N, C, 1, 1, 1) input, MS-CAM's global
    branch at dims 1 and 3, once the process has run a 4D BatchNorm on an (N, C, 1, 1)
    convolution output with the same N and C (seen with C 16 and 32, not 4); a 4D input
    after it does not crash."""

    def _alias(self):
        return 'batchnorm'

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        out = super(_BatchNormOn4D, self).hybrid_forward(
            F, F.reshape(x, shape=(0, 0, 1, -1)), gamma, beta, running_mean, running_var)
        return F.reshape_like(out, x)


def make_norm(norm_layer, dims=2):
    """``norm_layer(channels)``: MXNet's BatchNorm by default (for maps of ``dims`` 1 or 3
    computed on a 4D view: see ``_BatchNormOn4D``); None: no norm (an identity keeps the
    layers' indices, and so the checkpoint keys)."""
    if norm_layer == MXNET_NORM:
        batch_norm = nn.BatchNorm if dims == 2 else _BatchNormOn4D
        return lambda channels: batch_norm(in_channels=channels)
    if norm_layer is None:
        return lambda channels: _Identity()
    if not callable(norm_layer):
        raise ValueError('norm_layer=%r: give a callable norm_layer(channels) (e.g. '
                         'lambda c: nn.InstanceNorm(in_channels=c)) or None' % (norm_layer,))
    return norm_layer


def local_context(channels, r, dims=2, norm_layer=MXNET_NORM):
    """L(X) = BN(PWConv2(ReLU(BN(PWConv1(X))))), shape C x H x W (eq. 2).

    Indices 0..4 are part of the checkpoint keys (``local_att.0.weight`` ...).
    The BatchNorms are plain ``BatchNorm()`` whatever the host's norm layer, as
    in the original code; ``dims``/``norm_layer`` as ``AFF``'s.
    """
    inter, conv, norm = inner_channels(channels, r), _CONV[dims], make_norm(norm_layer, dims)
    branch = nn.HybridSequential()
    with branch.name_scope():
        branch.add(conv(inter, 1, in_channels=channels))
        branch.add(norm(inter))
        branch.add(nn.Activation('relu'))
        branch.add(conv(channels, 1, in_channels=inter))
        branch.add(norm(channels))
    return branch


def global_context(channels, r, dims=2, norm_layer=MXNET_NORM):
    """g(X) = BN(PWConv2(ReLU(BN(PWConv1(GAP(X)))))), shape C x 1 x 1 (eq. 1)."""
    inter, conv, norm = inner_channels(channels, r), _CONV[dims], make_norm(norm_layer, dims)
    branch = nn.HybridSequential()
    with branch.name_scope():
        branch.add(GlobalAvgPool(channels) if dims == 2 else _POOL[dims]())
        branch.add(conv(inter, 1, in_channels=channels))
        branch.add(norm(inter))
        branch.add(nn.Activation('relu'))
        branch.add(conv(channels, 1, in_channels=inter))
        branch.add(norm(channels))
    return branch


def add_mscam_branches(block, channels, r, suffix='', dims=2, norm_layer=MXNET_NORM):
    """Give ``block`` MS-CAM's two branches as ``local_att<suffix>``/``global_att<suffix>``
    (call it inside the block's name_scope; the names are checkpoint keys)."""
    setattr(block, 'local_att' + suffix, local_context(channels, r, dims, norm_layer))
    setattr(block, 'global_att' + suffix, global_context(channels, r, dims, norm_layer))


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
    dims, norm_layer
        As ``AFF``'s: maps of 1, 2 or 3 spatial axes; ``norm_layer(channels)`` or None.
    """

    def __init__(self, channels, r=4, dims=2, norm_layer=MXNET_NORM, **kwargs):
        super(MSCAM, self).__init__(**kwargs)
        check_dims(dims)
        with self.name_scope():
            add_mscam_branches(self, channels, r, dims=dims, norm_layer=norm_layer)

    def weight(self, x):
        """The attention weights M(x) alone (NDArray or Symbol)."""
        F = _namespace(x)
        return mscam_weight(F, x, self.local_att, self.global_att)

    def hybrid_forward(self, F, x):
        return x * mscam_weight(F, x, self.local_att, self.global_att)


def _namespace(x):
    import mxnet as mx
    return mx.sym if isinstance(x, mx.sym.Symbol) else mx.nd
