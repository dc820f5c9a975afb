"""Two-input fusion blocks of the residual hosts: addition, AFF and iAFF.

Call convention, in the paper's terms (Table 1): ``fuse(y, x)`` where ``y`` is
the block's body output (the learned residual, the larger receptive field) and
``x`` the shortcut. The original code, and so the released weights, give the
weight ``M`` to the body output ``y``; the paper's eq. 4 writes the same with
X and Y the other way round.

Each attentional block also has an inference form (``inference_form = True``,
set by ``gluon_aff.deploy.optimize``): the same blend written as
``X + (Y - X) * W``, which needs fewer full-resolution element-wise operations.
It equals the training form up to float rounding.
"""
from mxnet.gluon import nn
from mxnet.ndarray import NDArray
from mxnet.gluon.block import HybridBlock

from ..core.fusion_arguments import channel_pair, check_dims
from .mscam import MXNET_NORM, add_mscam_branches, make_norm, mscam_weight
from .registry import register_fusion

__all__ = ['Add', 'AFF', 'IAFF', 'resize_like']

_CONV = {1: nn.Conv1D, 2: nn.Conv2D, 3: nn.Conv3D}
RESIZE = (None, 'nearest', 'bilinear')


def resize_like(F, m, ref, mode, dims=2):
    """``m`` resized to ``ref``'s spatial size: ``'nearest'`` takes source index
    ``floor(i * in / out)`` along each axis (PyTorch's ``mode='nearest'``), ``'bilinear'``
    is ``contrib.BilinearResize2D`` without aligned corners (PyTorch's default); in a
    hybridized graph the sizes are read from the maps (``shape_array``)."""
    if isinstance(m, NDArray) and m.shape[2:] == ref.shape[2:]:
        return m
    if mode == 'bilinear':
        return F.contrib.BilinearResize2D(m, like=ref, mode='like', align_corners=False)
    m_shape, ref_shape = F.shape_array(m), F.shape_array(ref)
    for axis in range(2, 2 + dims):
        size_in = F.slice_axis(m_shape, axis=0, begin=axis, end=axis + 1).astype('float32')
        size_out = F.slice_axis(ref_shape, axis=0, begin=axis, end=axis + 1).astype('float32')
        index = F.floor(F.broadcast_mul(F.contrib.arange_like(ref, axis=axis),
                                        size_in / size_out))
        m = F.take(m, index, axis=axis)
    return m


class _Inputs(HybridBlock):
    """The two maps of a fusion, where they need it: each projected (1x1 convolution +
    norm) from its channels to ``channels`` (``x_proj`` the first map's, ``residual_proj``
    the second's: the twin's keys)."""

    def __init__(self, channels, in_pair, dims, norm_layer, **kwargs):
        super(_Inputs, self).__init__(**kwargs)
        norm = make_norm(norm_layer, dims)
        self.projected = tuple(c != channels for c in in_pair)
        with self.name_scope():
            for name, c in zip(('x_proj', 'residual_proj'), in_pair):
                if c != channels:
                    proj = nn.HybridSequential(prefix=name + '_')
                    with proj.name_scope():
                        proj.add(_CONV[dims](channels, 1, use_bias=False, in_channels=c))
                        proj.add(norm(channels))
                    setattr(self, name, proj)

    def hybrid_forward(self, F, y, x):
        if self.projected[0]:
            y = self.x_proj(y)
        if self.projected[1]:
            x = self.residual_proj(x)
        return y, x


class _Fusion(HybridBlock):
    """What AFF and iAFF take besides their attention (the twin's arguments): two maps
    ``fuse(y, x)`` or one list ``fuse([y, x])``, projected (``in_channels``) and the
    second resized to the first's size (``resize``) where they need it."""

    def _init_inputs(self, channels, in_channels, resize, dims, norm_layer):
        check_dims(dims)
        if resize not in RESIZE or (resize == 'bilinear' and dims != 2):
            raise ValueError('resize=%r: give %s, or None to refuse maps of different sizes '
                             '(bilinear: dims=2 only)' % (resize, "'nearest', 'bilinear'"))
        pair = channel_pair(in_channels, channels)
        self.channels, self.dims, self.resize, self.in_pair = channels, dims, resize, pair
        self.inputs = (_Inputs(channels, pair, dims, norm_layer, prefix='inputs_')
                       if pair != (channels, channels) else None)

    def __call__(self, y, x=None):
        if isinstance(y, (list, tuple)):
            if len(y) != 2 or x is not None:
                raise ValueError('fuse([y, x]) takes a list of exactly two maps')
            y, x = y
        elif x is None:
            raise ValueError('give two maps: fuse(y, x) or fuse([y, x])')
        if isinstance(y, NDArray):
            self._check(y, x)
        return super(_Fusion, self).__call__(y, x)

    def _pair(self, F, y, x):
        if self.inputs is not None:
            y, x = self.inputs(y, x)
        if self.resize is not None:
            x = resize_like(F, x, y, self.resize, self.dims)
        return y, x

    def _check(self, y, x):
        name = type(self).__name__
        for label, m, want in (('y', y, self.in_pair[0]), ('x', x, self.in_pair[1])):
            if m.ndim != self.dims + 2:
                raise ValueError('%s(dims=%d) takes maps of rank %d; %s has shape %s'
                                 % (name, self.dims, self.dims + 2, label, m.shape))
            if m.shape[1] != want:
                raise ValueError('%s: %s has %d channels, the block was built for %d; give '
                                 'in_channels=(%d, %d) to project each map to channels=%d'
                                 % (name, label, m.shape[1], want, y.shape[1], x.shape[1],
                                    self.channels))
        if self.resize is None and y.shape[2:] != x.shape[2:]:
            raise ValueError("%s: y is %s and x %s: give resize='nearest' (or 'bilinear') "
                             "to resize x to y's size" % (name, y.shape[2:], x.shape[2:]))


@register_fusion('add', aliases=('DirectAdd',))
class Add(HybridBlock):
    """Plain addition ``Z = Y + X``; no parameters (the ResNet baseline)."""

    def __init__(self, channels=None, r=None, **kwargs):
        super(Add, self).__init__(**kwargs)

    def hybrid_forward(self, F, y, x):
        return y + x


@register_fusion('aff', aliases=('ASKCFuse',))
class AFF(_Fusion):
    """Attentional feature fusion (section 4.2) as released.

    ``W = M(Y + X)``, ``Z = 2 * (Y * W + X * (1 - W))``

    The factor 2 is the original implementation's and the released weights
    were trained with it, so it is kept (it makes AFF equal to addition when
    ``W = 0.5``).

    Parameters
    ----------
    channels : int
        Channels C of both inputs.
    r : int, default 4
        Channel reduction ratio of the MS-CAM branches (4 in the CIFAR
        pre-activation blocks, 16 in bottleneck and ResNeXt blocks).
    in_channels, resize, dims, norm_layer
        The twin's (``gluon_aff.torch.AFF``): ``in_channels`` None, an int or a pair
        (``y``'s, ``x``'s channels; a map of other channels is projected, 1x1 convolution
        + norm); ``resize`` ``'nearest'`` (default), ``'bilinear'`` or None (maps of
        different sizes refused); ``dims`` 1, 2 or 3; ``norm_layer(channels)`` or None.
        ``fuse([y, x])`` equals ``fuse(y, x)``.
    """

    def __init__(self, channels, r=4, in_channels=None, resize='nearest', dims=2,
                 norm_layer=MXNET_NORM, **kwargs):
        super(AFF, self).__init__(**kwargs)
        with self.name_scope():
            self._init_inputs(channels, in_channels, resize, dims, norm_layer)
            add_mscam_branches(self, channels, r, dims=dims, norm_layer=norm_layer)

    inference_form = False

    def hybrid_forward(self, F, y, x):
        y, x = self._pair(F, y, x)
        w = mscam_weight(F, y + x, self.local_att, self.global_att)
        if self.inference_form:
            return 2 * (x + (y - x) * w)
        return 2 * y * w + 2 * x * (1 - w)


@register_fusion('iaff', aliases=('ResGlobLocaforGlobLocaCha',))
class IAFF(_Fusion):
    """Iterative attentional feature fusion (section 4.3).

    ``W1 = M1(Y + X)``, ``I = Y * W1 + X * (1 - W1)``,
    ``W2 = M2(I)``, ``Z = Y * W2 + X * (1 - W2)``

    ``M1`` uses ``local_att``/``global_att``, ``M2`` uses
    ``local_att2``/``global_att2`` (the MXNet original and its released
    weights; the PyTorch port in that repository wrongly reuses
    ``global_att``). No factor 2 here. Arguments as ``AFF``'s.
    """

    def __init__(self, channels, r=4, in_channels=None, resize='nearest', dims=2,
                 norm_layer=MXNET_NORM, **kwargs):
        super(IAFF, self).__init__(**kwargs)
        with self.name_scope():
            self._init_inputs(channels, in_channels, resize, dims, norm_layer)
            add_mscam_branches(self, channels, r, dims=dims, norm_layer=norm_layer)
            add_mscam_branches(self, channels, r, suffix='2', dims=dims, norm_layer=norm_layer)

    inference_form = False

    def hybrid_forward(self, F, y, x):
        y, x = self._pair(F, y, x)
        w1 = mscam_weight(F, y + x, self.local_att, self.global_att)
        if self.inference_form:
            d = y - x
            w2 = mscam_weight(F, x + d * w1, self.local_att2, self.global_att2)
            return x + d * w2
        initial = y * w1 + x * (1 - w1)
        w2 = mscam_weight(F, initial, self.local_att2, self.global_att2)
        return y * w2 + x * (1 - w2)
