"""MS-CAM, AFF, iAFF and the ablation fusions as ``torch.nn.Module``s.

The same formulas as ``gluon_aff.nn`` (whose docstrings cite the papers' equations), the
same call convention ``fuse(y, x)`` (``y`` the body output / larger receptive field, ``x``
the shortcut) and the same attribute and ``Sequential`` index names, so that a state dict
has the MXNet checkpoint's keys (``local_att.0.weight`` ...; BatchNorm's ``gamma``/``beta``
become ``weight``/``bias``). Fusion names resolve through ``gluon_aff.nn.registry``'s rules:
case-insensitive, the original open-aff strings as aliases.
"""
from typing import List

import torch
from torch import nn

from ..core.fusion_table import FusionTable
from .layers import BatchNorm2d, GlobalAvgPool

__all__ = ['MSCAM', 'Add', 'AFF', 'IAFF', 'Concat', 'GlobalGlobal', 'LocalLocal', 'MSGAU',
           'MSSE', 'MSSA', 'HalfAFF', 'ConcatAFF', 'RecursiveAFF', 'SE', 'SK', 'GAU',
           'MultiAFF', 'AFI', 'create_fusion', 'resolve_fusion', 'list_fusions',
           'local_context', 'global_context']

_TABLE = FusionTable()
_register = _TABLE.register
list_fusions = _TABLE.names
resolve_fusion = _TABLE.resolve


def create_fusion(name, channels, r):
    return _TABLE.get(name)(channels, r=r)


def _inter(channels, r):
    if channels // r < 1:
        raise ValueError('reduction ratio r=%d is larger than the channel count %d; use r <= %d'
                         % (r, channels, channels))
    return channels // r


def local_context(channels, r):
    """``L(X) = BN(PWConv2(ReLU(BN(PWConv1(X)))))`` (AFF paper eq. 2)."""
    inter = _inter(channels, r)
    return nn.Sequential(nn.Conv2d(channels, inter, 1), BatchNorm2d(inter), nn.ReLU(),
                         nn.Conv2d(inter, channels, 1), BatchNorm2d(channels))


def global_context(channels, r):
    """``g(X) = BN(PWConv2(ReLU(BN(PWConv1(GAP(X))))))``, C x 1 x 1 (eq. 1)."""
    return nn.Sequential(GlobalAvgPool(), *local_context(channels, r))


def blend(y, x, w):
    """``Y * W + X * (1 - W)``, computed as ``lerp(X, Y, W) = X + W (Y - X)``: one pass
    instead of four, equal to rounding, in training (the same gradients) as in inference.
    The one form of AFF's and iAFF's soft selection (and of the ablations')."""
    return torch.lerp(x, y, w)


class _Attention(nn.Module):
    """Holds MS-CAM's branches (``local_att``/``global_att``)."""

    def __init__(self, channels, r):
        super().__init__()
        self.local_att = local_context(channels, r)
        self.global_att = global_context(channels, r)

    def weight(self, s):
        """``M(s) = sigmoid(L(s) + g(s))``."""
        return torch.sigmoid(self.local_att(s) + self.global_att(s))


class _TwoAttentions(_Attention):
    """MS-CAM's branches twice: ``local_att2``/``global_att2`` for a second weight."""

    def __init__(self, channels, r):
        super().__init__(channels, r)
        self.local_att2 = local_context(channels, r)
        self.global_att2 = global_context(channels, r)

    def weight2(self, s):
        """``M2(s) = sigmoid(L2(s) + g2(s))``."""
        return torch.sigmoid(self.local_att2(s) + self.global_att2(s))


class MSCAM(_Attention):
    """Multi-scale channel attention: ``X' = X * M(X)``, ``M(X) = sigmoid(L(X) + g(X))``
    (eq. 3)."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)

    def forward(self, x):
        return x * self.weight(x)


@_register('add', aliases=('DirectAdd',))
class Add(nn.Module):
    """``Z = Y + X`` (the ResNet baseline); no parameters."""

    def __init__(self, channels=None, r=None):
        super().__init__()

    def forward(self, y, x):
        return y + x


@_register('aff', aliases=('ASKCFuse',))
class AFF(_Attention):
    """Attentional feature fusion as released: ``W = M(Y + X)``,
    ``Z = 2 * (Y * W + X * (1 - W))``. The factor 2 is the original code's, and its
    weights were trained with it."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)

    def forward(self, y, x):
        # the factor 2 is the original's (its weights were trained with it): kept on purpose
        return 2 * blend(y, x, self.weight(y + x))


@_register('iaff', aliases=('ResGlobLocaforGlobLocaCha',))
class IAFF(_TwoAttentions):
    """Iterative AFF: ``W1 = M1(Y + X)``, ``I = Y * W1 + X * (1 - W1)``, ``W2 = M2(I)``,
    ``Z = Y * W2 + X * (1 - W2)``; ``M2`` has its own branches (``local_att2``,
    ``global_att2``), as in the released weights."""

    def __init__(self, channels, r=4):
        super().__init__(channels, r)

    def forward(self, y, x):
        return blend(y, x, self.weight2(blend(y, x, self.weight(y + x))))


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
    (``gluon_aff.nn.MultiAFF``)."""

    def __init__(self, channels, n, r=4):
        super().__init__()
        if n < 2:
            raise ValueError('MultiAFF fuses n >= 2 maps, got n=%d' % n)
        inter = _inter(channels, r)
        self.n = n
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
        s = xs[0]
        for i in range(1, len(xs)):
            s = s + xs[i]
        local, glob = self.local_trunk(s), self.global_trunk(s)
        scores: List[torch.Tensor] = []
        for local_head, global_head in zip(self.local_heads, self.global_heads):
            scores.append(local_head(local) + global_head(glob))
        return softmax_blend(scores, xs)


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
            scores.append(self.fc2(torch.relu(self.fc1(x.mean([2, 3]))))[:, :, None, None])
        return softmax_blend(scores, features)
