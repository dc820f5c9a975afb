"""MS-CAM, AFF, iAFF and the ablation fusions as ``torch.nn.Module``s.

The same formulas as ``gluon_aff.nn`` (whose docstrings cite the papers' equations), the
same call convention ``fuse(y, x)`` (``y`` the body output / larger receptive field, ``x``
the shortcut) and the same attribute and ``Sequential`` index names, so that a state dict
has the MXNet checkpoint's keys (``local_att.0.weight`` ...; BatchNorm's ``gamma``/``beta``
become ``weight``/``bias``). Fusion names resolve through ``gluon_aff.nn.registry``'s rules:
case-insensitive, the original open-aff strings as aliases.
"""
import warnings
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..core.fusion_arguments import channel_pair, check_dims, inner_channels
from ..core.fusion_table import FusionTable
from .layers import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GlobalAvgPool, spatial_mean,
                     tracing_or_compiling)

__all__ = ['MSCAM', 'Add', 'AFF', 'IAFF', 'Concat', 'GlobalGlobal', 'LocalLocal', 'MSGAU',
           'MSSE', 'MSSA', 'HalfAFF', 'ConcatAFF', 'RecursiveAFF', 'SE', 'SK', 'GAU',
           'MultiAFF', 'AFI', 'create_fusion', 'resolve_fusion', 'list_fusions',
           'local_context', 'global_context', 'GlobalContext']

_TABLE = FusionTable()
_register = _TABLE.register
list_fusions = _TABLE.names
resolve_fusion = _TABLE.resolve


def create_fusion(name, channels, r):
    """The fusion ``name`` for the zoo's hosts: two maps of ``channels`` and one size
    (AFF and iAFF with ``resize=None``: no resize in their graphs)."""
    cls = _TABLE.get(name)
    return cls(channels, r=r, resize=None) if issubclass(cls, _Fusion) else cls(channels, r=r)


_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {1: BatchNorm1d, 2: BatchNorm2d, 3: BatchNorm3d}
_RESIZE = {'nearest': ('nearest',) * 3, 'nearest-exact': ('nearest-exact',) * 3,
           'area': ('area',) * 3, 'linear': ('linear', 'bilinear', 'trilinear'),
           'bilinear': ('linear', 'bilinear', 'trilinear'),
           'trilinear': ('linear', 'bilinear', 'trilinear'), 'bicubic': (None, 'bicubic', None)}
COMPAT = (None, 'open-aff-pytorch')
MXNET_NORM = 'mxnet'        # norm_layer's default: MXNet's BatchNorm, as the released weights


def _norm(norm_layer, dims):
    """``norm_layer(channels)``: MXNet's BatchNorm of ``dims`` by default, ``None``: no
    norm (an Identity keeps the layers' indices, and so the state-dict keys)."""
    if norm_layer == MXNET_NORM:
        return _NORM[dims]
    if norm_layer is None:
        return lambda channels: nn.Identity()
    if not callable(norm_layer):
        raise ValueError('norm_layer=%r: give a callable norm_layer(channels) (e.g. '
                         'torch.nn.BatchNorm2d, lambda c: nn.GroupNorm(8, c)) or None'
                         % (norm_layer,))
    return norm_layer


def local_context(channels, r, dims=2, norm_layer=MXNET_NORM):
    """``L(X) = BN(PWConv2(ReLU(BN(PWConv1(X)))))`` (AFF paper eq. 2)."""
    inter, conv, norm = inner_channels(channels, r), _CONV[dims], _norm(norm_layer, dims)
    return nn.Sequential(conv(channels, inter, 1), norm(inter), nn.ReLU(),
                         conv(inter, channels, 1), norm(channels))


class GlobalContext(nn.Sequential):
    """``g(X) = BN(PWConv2(ReLU(BN(PWConv1(GAP(X))))))``, C x 1 x 1 (eq. 1), computed on
    the pooled vector: ``v = mean(X)`` over the spatial axes, then the point-wise
    convolutions as matrix products with their own weights (``W1 v + b1``; the norms on
    N x C x 1 x 1), in training as in inference (the same values and gradients as convolving 1x1
    maps, which PyTorch's CPU path sends to a slower kernel). The layers and their
    state-dict keys are the ``Sequential`` (GlobalAvgPool, Conv, norm, ReLU, Conv, norm)
    of the released weights; with a ``norm_layer`` other than BatchNorm or None, the
    layers run one after the other on the maps. In training, a batch of one pooled vector
    is normalised with the running statistics (``gluon_aff.torch.layers.BatchNorm2d``),
    so batch size 1 trains."""

    def __init__(self, channels, r, dims=2, norm_layer=MXNET_NORM):
        super().__init__(GlobalAvgPool(dims), *local_context(channels, r, dims, norm_layer))
        self.dims = dims
        self.on_vector = all(isinstance(self[i], (BatchNorm2d, nn.Identity)) for i in (2, 5))

    def forward(self, x):
        if not self.on_vector:
            for layer in self:
                x = layer(x)
            return x
        first, second = self[1], self[4]
        v = self._as_map(F.linear(spatial_mean(x, self[0].axes), first.weight.flatten(1),
                                  first.bias))
        v = self[3](self[2](v))
        return self[5](self._as_map(F.linear(v.flatten(1), second.weight.flatten(1),
                                             second.bias)))

    def _as_map(self, v):
        """N x C -> N x C x 1 (x 1 ...): the norms keep their rank (and torch.fx, which
        traces them, sees no branch on it)."""
        for _ in range(self.dims):
            v = v.unsqueeze(-1)
        return v


def global_context(channels, r, dims=2, norm_layer=MXNET_NORM):
    """MS-CAM's global branch ``g`` (``GlobalContext``)."""
    return GlobalContext(channels, r, dims, norm_layer)


def blend(y, x, w):
    """``Y * W + X * (1 - W)``, computed as ``lerp(X, Y, W) = X + W (Y - X)``: one pass
    instead of four, equal to rounding, in training (the same gradients) as in inference.
    The one form of AFF's and iAFF's soft selection (and of the ablations')."""
    return torch.lerp(x, y, w)


def _resize_mode(resize, dims):
    """F.interpolate's mode for ``resize`` on maps of ``dims`` ('none': refuse)."""
    if resize is None:
        return 'none'
    if resize not in _RESIZE:
        raise ValueError('resize=%r: give one of %s, or None to refuse maps of different '
                         'sizes' % (resize, ', '.join("'%s'" % m for m in _RESIZE)))
    mode = _RESIZE[resize][dims - 1]
    if mode is None:
        raise ValueError("resize=%r does not apply to dims=%d; 'nearest' or 'linear' do"
                         % (resize, dims))
    return mode


def _projection(in_channels, channels, dims=2, norm_layer=MXNET_NORM):
    """A map of ``in_channels`` to ``channels``: 1x1 convolution (no bias) + norm."""
    return nn.Sequential(_CONV[dims](in_channels, channels, 1, bias=False),
                         _norm(norm_layer, dims)(channels))


class _Inputs(nn.Module):
    """The two maps of a fusion, where they need it: each projected (1x1 convolution +
    norm) from its own channels to ``channels`` (``x_proj``, ``residual_proj``), the second
    resized to the first's size (``resize``: an interpolation mode)."""

    def __init__(self, channels, in_pair, dims, norm_layer):
        super().__init__()
        cx, cr = in_pair
        self.x_proj = _projection(cx, channels, dims, norm_layer) if cx != channels else None
        self.residual_proj = (_projection(cr, channels, dims, norm_layer) if cr != channels
                              else None)

    def forward(self, x, residual) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.x_proj is not None:
            x = self.x_proj(x)
        if self.residual_proj is not None:
            residual = self.residual_proj(residual)
        return x, residual


def resize_like(m, ref, mode: str):
    """``m`` resized to ``ref``'s size where they differ (a leaf function for torch.fx).
    A traced graph (``torch.jit.trace``, the ONNX exporter's tracer) always resizes: its
    sizes at run time need not be those it was traced at (resizing to the same size is
    exact for every mode the blocks take)."""
    if not torch.jit.is_tracing() and m.shape[2:] == ref.shape[2:]:
        return m
    return F.interpolate(m, size=ref.shape[2:], mode=mode)


torch.fx.wrap('resize_like')


class _Attention(nn.Module):
    """Holds MS-CAM's branches (``local_att``/``global_att``)."""

    def __init__(self, channels, r, dims=2, norm_layer=MXNET_NORM):
        super().__init__()
        check_dims(dims)
        self.local_att = local_context(channels, r, dims, norm_layer)
        self.global_att = global_context(channels, r, dims, norm_layer)

    def weight(self, s):
        """``M(s) = sigmoid(L(s) + g(s))``."""
        return torch.sigmoid(self.local_att(s) + self.global_att(s))


class _TwoAttentions(_Attention):
    """MS-CAM's branches twice: ``local_att2``/``global_att2`` for a second weight."""

    def __init__(self, channels, r, dims=2, norm_layer=MXNET_NORM):
        super().__init__(channels, r, dims, norm_layer)
        self.local_att2 = local_context(channels, r, dims, norm_layer)
        self.global_att2 = global_context(channels, r, dims, norm_layer)

    def weight2(self, s):
        """``M2(s) = sigmoid(L2(s) + g2(s))``."""
        return torch.sigmoid(self.local_att2(s) + self.global_att2(s))


class MSCAM(_Attention):
    """Multi-scale channel attention: ``X' = X * M(X)``, ``M(X) = sigmoid(L(X) + g(X))``
    (eq. 3). ``MSCAM(channels, r=4, dims=2, norm_layer=...)``: as ``AFF``'s."""

    def __init__(self, channels, r=4, *, dims=2, norm_layer=MXNET_NORM):
        super().__init__(channels, r, dims, norm_layer)

    def forward(self, x):
        return x * self.weight(x)


@_register('add', aliases=('DirectAdd',))
class Add(nn.Module):
    """``Z = Y + X`` (the ResNet baseline); no parameters."""

    def __init__(self, channels=None, r=None):
        super().__init__()

    def forward(self, y, x):
        return y + x


class _Fusion(nn.Module):
    """What AFF and iAFF take besides their attention: two maps ``forward(x, residual)``
    or one list ``forward([x, residual])`` (as YOLO-style necks call modules), projected
    and resized where they need it (``inputs``: absent from a plain block, whose keys
    stay the ports' and the released files')."""

    def _init_inputs(self, channels, in_channels, resize, dims, norm_layer):
        mode = _resize_mode(resize, dims)
        self.channels, self.dims, self.resize, self.mode = channels, dims, resize, mode
        self.in_pair = channel_pair(in_channels, channels)
        self.inputs = (_Inputs(channels, self.in_pair, dims, norm_layer)
                       if self.in_pair != (channels, channels) else None)

    def _pair(self, x: Union[torch.Tensor, List[torch.Tensor]],
              residual: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        if not torch.jit.is_scripting() and isinstance(x, tuple):
            x = list(x)
        if isinstance(x, list):
            if len(x) != 2 or residual is not None:
                raise ValueError('forward([x, residual]) takes a list of exactly two maps')
            first, second = x[0], x[1]
        else:                       # a tensor (torch.fx: a proxy of one)
            if residual is None:
                raise ValueError('give two maps: forward(x, residual) or forward([x, residual])')
            first, second = x, residual
        if not torch.jit.is_scripting():
            self._check(first, second)
        if self.inputs is not None:
            first, second = self.inputs(first, second)
        if self.mode != 'none':
            second = resize_like(second, first, self.mode)
        return first, second

    @torch.jit.unused
    def _check(self, x, residual):
        """ValueError naming the argument for maps this block cannot fuse (eager only)."""
        if tracing_or_compiling() or not isinstance(x, torch.Tensor):
            return
        name = type(self).__name__
        for label, m, want in (('x', x, self.in_pair[0]),
                               ('residual', residual, self.in_pair[1])):
            if m.dim() != self.dims + 2:
                raise ValueError('%s(dims=%d) takes maps of rank %d (N, C%s); %s has shape %s'
                                 % (name, self.dims, self.dims + 2,
                                    ', L' if self.dims == 1 else ', H, W' if self.dims == 2
                                    else ', D, H, W', label, tuple(m.shape)))
        for label, m, want in (('x', x, self.in_pair[0]),
                               ('residual', residual, self.in_pair[1])):
            if m.shape[1] != want:
                raise ValueError('%s: %s has %d channels, the block was built for %d; give '
                                 'in_channels=(%d, %d) to project each map to channels=%d'
                                 % (name, label, m.shape[1], want, x.shape[1],
                                    residual.shape[1], self.channels))
        if x.shape[0] != residual.shape[0]:
            raise ValueError('%s: x and residual hold %d and %d samples'
                             % (name, x.shape[0], residual.shape[0]))
        if self.resize is None and x.shape[2:] != residual.shape[2:]:
            raise ValueError("%s: x is %s and residual %s: give resize='nearest' (or "
                             "'bilinear' ...) to resize residual to x's size"
                             % (name, tuple(x.shape[2:]), tuple(residual.shape[2:])))


@_register('aff', aliases=('ASKCFuse',))
class AFF(_Attention, _Fusion):
    """Attentional feature fusion: ``W = M(X + R)``, ``Z = 2 * (X * W + R * (1 - W))``
    for ``forward(x, residual)`` (X the body output or wider-receptive-field map, R the
    shortcut or low-level one). The factor 2 is the original code's, and its weights were
    trained with it.

    ``AFF(channels, r=4)`` as open-aff's PyTorch port (its state dicts load strictly and
    give its outputs), and keyword arguments:

    - ``in_channels``: None (both maps have ``channels``), an int, or a pair
      ``(x_channels, residual_channels)``; a map of other channels is projected (1x1
      convolution + norm) first, and the output has ``channels``;
    - ``resize``: the second map is resized to the first's size where they differ
      (``'nearest'``, as torchvision's FPN; ``'bilinear'``, ``'area'`` ...), ``None``
      refuses maps of different sizes;
    - ``dims``: 1 (N x C x L, as LAION-CLAP's ``type='1D'``), 2, or 3;
    - ``norm_layer``: a callable ``norm_layer(channels)``, or None (no norm); default
      MXNet's BatchNorm, as the released weights. In training, a batch of one pooled
      vector (batch size 1) is normalised with the running statistics, so batch size 1
      trains without duplicating the batch.

    ``forward([x, residual])`` equals ``forward(x, residual)``; three or more maps:
    ``MultiAFF``."""

    def __init__(self, channels, r=4, *, in_channels=None, resize='nearest', dims=2,
                 norm_layer=MXNET_NORM):
        super().__init__(channels, r, dims, norm_layer)
        self._init_inputs(channels, in_channels, resize, dims, norm_layer)

    def forward(self, x: Union[torch.Tensor, List[torch.Tensor]],
                residual: Optional[torch.Tensor] = None):
        x, residual = self._pair(x, residual)
        # the factor 2 is the original's (its weights were trained with it): kept on purpose
        return 2 * blend(x, residual, self.weight(x + residual))


@_register('iaff', aliases=('ResGlobLocaforGlobLocaCha',))
class IAFF(_TwoAttentions, _Fusion):
    """Iterative AFF: ``W1 = M1(X + R)``, ``I = X * W1 + R * (1 - W1)``, ``W2 = M2(I)``,
    ``Z = X * W2 + R * (1 - W2)``; ``M2`` has its own branches (``local_att2``,
    ``global_att2``), as in the released weights. Arguments as ``AFF``'s, and ``compat``:

    - None: the authors' iAFF (MXNet code, released weights);
    - ``'open-aff-pytorch'``: open-aff's PyTorch port and the code copied from it
      (LAION-CLAP ...), whose second weight takes its global term from ``global_att``
      instead of ``global_att2`` (open-aff issues #27, #31, #37): their state dicts then
      give their outputs. Loading such a state dict without it warns (the port never
      trains ``global_att2``: its BatchNorms have tracked no batch while the others have).
    """

    def __init__(self, channels, r=4, *, in_channels=None, resize='nearest', dims=2,
                 norm_layer=MXNET_NORM, compat=None):
        super().__init__(channels, r, dims, norm_layer)
        if compat not in COMPAT:
            raise ValueError('compat=%r: give None (the authors\' iAFF) or %s'
                             % (compat, ', '.join(repr(c) for c in COMPAT[1:])))
        self._init_inputs(channels, in_channels, resize, dims, norm_layer)
        self.compat = compat
        self.second_global_from_first = compat == 'open-aff-pytorch'

    def forward(self, x: Union[torch.Tensor, List[torch.Tensor]],
                residual: Optional[torch.Tensor] = None):
        x, residual = self._pair(x, residual)
        i = blend(x, residual, self.weight(x + residual))
        if self.second_global_from_first:
            w2 = torch.sigmoid(self.local_att2(i) + self.global_att(i))
        else:
            w2 = self.weight2(i)
        return blend(x, residual, w2)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if not self.second_global_from_first:
            tracked = [state_dict.get(prefix + '%s.%d.num_batches_tracked' % (branch, i))
                       for branch in ('global_att', 'global_att2') for i in (2, 5)]
            if all(t is not None for t in tracked) and int(tracked[0]) > 0 \
                    and int(tracked[2]) == int(tracked[3]) == 0:
                warnings.warn(
                    "%s: this state dict's global_att2 never ran (its BatchNorms tracked 0 "
                    "batches, global_att's %d): it looks like open-aff's PyTorch port (or "
                    "LAION-CLAP's copy), whose iAFF uses global_att twice. Build the block "
                    "with IAFF(..., compat='open-aff-pytorch') to give that port's outputs"
                    % (prefix.rstrip('.') or 'IAFF', int(tracked[0])), stacklevel=3)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


# -- the ablations (AFF paper Tables 1, 3, 4 and appendix Table 6) ------------------------
def _select(y, x, w):
    """AFF's soft selection ``2 (Y W + X (1 - W))``."""
    return 2 * blend(y, x, w)


@_register('concat')
class Concat(nn.Module):
    """``Z = W_A X + W_B Y``: a 1x1 convolution (no bias) over ``[X, Y]``."""

    def __init__(self, channels, r=None):
        super().__init__()
        self.proj = nn.Conv2d(2 * channels, channels, 1, bias=False)

    def forward(self, y, x):
        return self.proj(torch.cat([x, y], 1))


class _TwoBranches(nn.Module):
    """``Z = 2 (Y W + X (1 - W))``, ``W = sigmoid(a(X + Y) + b(X + Y))``."""

    def __init__(self, branch, channels, r):
        super().__init__()
        self.branch_a = branch(channels, r)
        self.branch_b = branch(channels, r)

    def forward(self, y, x):
        s = y + x
        return _select(y, x, torch.sigmoid(self.branch_a(s) + self.branch_b(s)))


@_register('global_global')
class GlobalGlobal(_TwoBranches):
    """AFF with two global branches (Table 3)."""

    def __init__(self, channels, r=4):
        super().__init__(global_context, channels, r)


@_register('local_local')
class LocalLocal(_TwoBranches):
    """AFF with two local branches (Table 3)."""

    def __init__(self, channels, r=4):
        super().__init__(local_context, channels, r)


@_register('ms_gau')
class MSGAU(_Attention):
    """``Z = M(Y) X + Y`` (Table 4, MS-GAU)."""

    def __init__(self, channels, r=2):
        super().__init__(channels, r)

    def forward(self, y, x):
        return self.weight(y) * x + y


@_register('ms_se')
class MSSE(_Attention):
    """``Z = X + M(Y) Y`` (Table 4, MS-SENet)."""

    def __init__(self, channels, r=2):
        super().__init__(channels, r)

    def forward(self, y, x):
        return x + self.weight(y) * y


@_register('ms_sa')
class MSSA(_Attention):
    """``Z = M(X + Y) X + Y`` (Table 4, MS-SA)."""

    def __init__(self, channels, r=2):
        super().__init__(channels, r)

    def forward(self, y, x):
        return self.weight(x + y) * x + y


@_register('half_aff')
class HalfAFF(_Attention):
    """``Z = X + M(X + Y) Y`` (appendix Table 6, Half-AFF; see ``gluon_aff.nn.HalfAFF``)."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)

    def forward(self, y, x):
        return x + self.weight(x + y) * y


@_register('concat_aff')
class ConcatAFF(_Attention):
    """``W = sigmoid(Conv1x1([L(S), g(S)]))``, ``S = X + Y``, ``Z = 2 (Y W + X (1 - W))``."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)
        self.mix = nn.Conv2d(2 * channels, channels, 1, bias=False)

    def forward(self, y, x):
        s = y + x
        local = self.local_att(s)
        glob = self.global_att(s).expand_as(local)
        return _select(y, x, torch.sigmoid(self.mix(torch.cat([local, glob], 1))))


@_register('recursive_aff')
class RecursiveAFF(_TwoAttentions):
    """``V = M'(S)``, ``W = sigmoid(L(S) V + g(S) (1 - V))``, ``Z = 2 (Y W + X (1 - W))``,
    ``S = X + Y``; ``M'`` uses ``local_att2``/``global_att2``."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)

    def forward(self, y, x):
        s = y + x
        v = self.weight2(s)
        return _select(y, x, torch.sigmoid(self.local_att(s) * v + self.global_att(s) * (1 - v)))


class _OneGlobal(nn.Module):
    def __init__(self, channels, r=4):
        super().__init__()
        self.global_att = global_context(channels, r)

    def g(self, s):
        return torch.sigmoid(self.global_att(s))


@_register('se')
class SE(_OneGlobal):
    """``Z = X + G(Y) Y``, ``G = sigmoid(g(.))``."""

    def forward(self, y, x):
        return x + y * self.g(y)


@_register('sk')
class SK(_OneGlobal):
    """``W = G(X + Y)``, ``Z = X W + Y (1 - W)``."""

    def forward(self, y, x):
        w = self.g(x + y)
        return x * w + y * (1 - w)


@_register('gau')
class GAU(_OneGlobal):
    """``Z = G(Y) X + Y``."""

    def forward(self, y, x):
        return x * self.g(y) + y


# -- N inputs -------------------------------------------------------------------------------
def softmax_blend(scores: List[torch.Tensor], features: List[torch.Tensor]):
    """``sum_i softmax_i(scores)_i * features_i``, the softmax across the N inputs."""
    weights = torch.softmax(torch.stack(scores, 1), 1)
    out = weights[:, 0] * features[0]
    for i in range(1, len(features)):
        out = out + weights[:, i] * features[i]
    return out


class MultiAFF(nn.Module):
    """Soft selection among N maps: ``S = sum X_i``, ``s_i = L_i(S) + g_i(S)`` (shared
    trunks, one head per input), ``Z = sum_i softmax_i(s)_i X_i``
    (``gluon_aff.nn.MultiAFF``). Three or more maps of other channels and sizes follow
    AFF's rules: ``in_channels`` (None, an int, or one per map) projects a map of other
    channels (1x1 convolution + BatchNorm) to ``channels``; ``resize`` resizes every map
    to the first's size where it differs (None refuses)."""

    def __init__(self, channels, n, r=4, *, in_channels=None, resize='nearest'):
        super().__init__()
        if n < 2:
            raise ValueError('MultiAFF fuses n >= 2 maps, got n=%d' % n)
        inter = inner_channels(channels, r)
        self.n = n
        widths = ([channels] * n if in_channels is None else
                  [in_channels] * n if isinstance(in_channels, int) else list(in_channels))
        if len(widths) != n:
            raise ValueError('in_channels=%r: give None, an int, or one entry per map (%d)'
                             % (in_channels, n))
        self.in_channels = widths
        self.projections = nn.ModuleList([
            _projection(c, channels) if c != channels else nn.Identity() for c in widths]) \
            if any(c != channels for c in widths) else None
        self.resize = resize
        self.mode = _resize_mode(resize, 2)
        self.local_trunk = nn.Sequential(nn.Conv2d(channels, inter, 1), BatchNorm2d(inter),
                                         nn.ReLU())
        self.global_trunk = nn.Sequential(GlobalAvgPool(), nn.Conv2d(channels, inter, 1),
                                          BatchNorm2d(inter), nn.ReLU())
        self.local_heads = nn.Sequential(*[nn.Sequential(
            nn.Conv2d(inter, channels, 1), BatchNorm2d(channels)) for _ in range(n)])
        self.global_heads = nn.Sequential(*[nn.Sequential(
            nn.Conv2d(inter, channels, 1), BatchNorm2d(channels)) for _ in range(n)])

    def forward(self, xs: List[torch.Tensor]):
        """``xs``: the list of N maps."""
        if len(xs) != self.n:
            raise ValueError('MultiAFF was built for %d inputs, got %d' % (self.n, len(xs)))
        if not torch.jit.is_scripting():
            self._check(xs)
        if self.projections is not None:
            projected: List[torch.Tensor] = []
            for i, projection in enumerate(self.projections):
                projected.append(projection(xs[i]))
            xs = projected
        if self.mode != 'none':
            resized: List[torch.Tensor] = [xs[0]]
            for i in range(1, len(xs)):
                resized.append(resize_like(xs[i], xs[0], self.mode))
            xs = resized
        s = xs[0]
        for i in range(1, len(xs)):
            s = s + xs[i]
        local, glob = self.local_trunk(s), self.global_trunk(s)
        scores: List[torch.Tensor] = []
        for local_head, global_head in zip(self.local_heads, self.global_heads):
            scores.append(local_head(local) + global_head(glob))
        return softmax_blend(scores, xs)

    @torch.jit.unused
    def _check(self, xs):
        if tracing_or_compiling():
            return
        got = [int(x.shape[1]) for x in xs]
        if got != self.in_channels:
            raise ValueError('MultiAFF: the maps have %s channels, it was built for %s; give '
                             'in_channels=%s' % (got, self.in_channels, got))
        if self.resize is None and len({tuple(x.shape[2:]) for x in xs}) > 1:
            raise ValueError("MultiAFF: the maps' sizes differ (%s): give resize='nearest' "
                             "(or 'bilinear' ...)" % [tuple(x.shape[2:]) for x in xs])


class AFI(nn.Module):
    """Attentive feature integration (AFINets eq. 1-2): ``z_i = GAP(X_i)``,
    ``s_i = W2 ReLU(W1 z_i)`` (one scorer, no biases), ``R = sum_i softmax_i(s)_i X_i``
    per channel."""

    def __init__(self, channels, r=4):
        super().__init__()
        inner = channels // r
        if inner < 1:
            raise ValueError('AFI: r=%d leaves no channel of %d; use r <= %d'
                             % (r, channels, channels))
        self.fc1 = nn.Linear(channels, inner, bias=False)
        self.fc2 = nn.Linear(inner, channels, bias=False)

    def forward(self, features: List[torch.Tensor]):
        """``features``: the list of maps to integrate."""
        if len(features) == 0:
            raise ValueError('AFI needs at least one feature map')
        scores: List[torch.Tensor] = []
        for x in features:
            scores.append(self.fc2(torch.relu(self.fc1(spatial_mean(x, [2, 3]))))[:, :, None, None])
        return softmax_blend(scores, features)
