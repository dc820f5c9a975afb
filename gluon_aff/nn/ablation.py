"""The fusion variants of the AFF paper's ablations (Tables 1, 3, 4 and appendix Table 6).

All take ``fuse(y, x)`` like the faithful blocks: ``x`` is X (the shortcut of a ResNet
block, the 3x3 branch of an Inception module, the lateral map of an FPN merge) and ``y``
is Y (the body output, the 5x5 branch, the upsampled coarser map). ``M`` is MS-CAM's
weight ``sigmoid(L(.) + g(.))`` and ``G`` its global branch alone, ``sigmoid(g(.))``.
The soft-selection variants keep the faithful AFF's form ``2 (Y W + X (1 - W))`` so that
they differ from ``aff`` only in what the table studies. With Table 4's budget rule
(r = 2 for ms_gau/ms_se/ms_sa/aff, r = 4 for iaff) the attentional variants have equal
parameter counts.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .channels import concat_channels
from .mscam import add_mscam_branches, global_context, local_context, mscam_weight
from .registry import register_fusion

__all__ = ['Concat', 'GlobalGlobal', 'LocalLocal', 'MSGAU', 'MSSE', 'MSSA', 'HalfAFF',
           'ConcatAFF', 'RecursiveAFF', 'SE', 'SK', 'GAU']


def _global_weight(F, s, global_att):
    return F.sigmoid(global_att(s))


def _select(F, y, x, w):
    """AFF's soft selection ``2 (Y W + X (1 - W))``; ``W`` may be C x 1 x 1."""
    return 2 * F.broadcast_mul(y, w) + 2 * F.broadcast_mul(x, 1 - w)


@register_fusion('concat')
class Concat(HybridBlock):
    """``Z = W_A X + W_B Y``: one 1x1 convolution (no bias) over the concatenation
    (Table 1's linear, context-unaware integration; 2 C^2 parameters)."""

    def __init__(self, channels, r=None, **kwargs):
        super(Concat, self).__init__(**kwargs)
        with self.name_scope():
            self.proj = nn.Conv2D(channels, 1, use_bias=False, in_channels=2 * channels)

    def hybrid_forward(self, F, y, x):
        return self.proj(concat_channels(F, x, y))


class _TwoBranchSelection(HybridBlock):
    """Soft selection ``Z = 2 (Y W + X (1 - W))`` with ``W = sigmoid(a(X+Y) + b(X+Y))``."""

    def hybrid_forward(self, F, y, x):
        s = y + x
        return _select(F, y, x, F.sigmoid(F.broadcast_add(self.branch_a(s), self.branch_b(s))))


@register_fusion('global_global')
class GlobalGlobal(_TwoBranchSelection):
    """AFF with two global context branches (Table 3, "Global + Global"): same parameter
    count as AFF, single (global) context scale."""

    def __init__(self, channels, r=4, **kwargs):
        super(GlobalGlobal, self).__init__(**kwargs)
        with self.name_scope():
            self.branch_a = global_context(channels, r)
            self.branch_b = global_context(channels, r)


@register_fusion('local_local')
class LocalLocal(_TwoBranchSelection):
    """AFF with two local (point-wise) context branches (Table 3, "Local + Local")."""

    def __init__(self, channels, r=4, **kwargs):
        super(LocalLocal, self).__init__(**kwargs)
        with self.name_scope():
            self.branch_a = local_context(channels, r)
            self.branch_b = local_context(channels, r)


class _OneMSCAM(HybridBlock):
    def __init__(self, channels, r=2, **kwargs):
        super(_OneMSCAM, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)

    def _m(self, F, s):
        return mscam_weight(F, s, self.local_att, self.global_att)


@register_fusion('ms_gau')
class MSGAU(_OneMSCAM):
    """Modulation with MS-CAM (Table 4, MS-GAU): ``Z = M(Y) X + Y``."""

    def hybrid_forward(self, F, y, x):
        return self._m(F, y) * x + y


@register_fusion('ms_se')
class MSSE(_OneMSCAM):
    """Refinement with MS-CAM (Table 4, MS-SENet): ``Z = X + M(Y) Y``."""

    def hybrid_forward(self, F, y, x):
        return x + self._m(F, y) * y


@register_fusion('ms_sa')
class MSSA(_OneMSCAM):
    """Fully context-aware modulation (Table 4, MS-SA): ``Z = M(X + Y) X + Y``."""

    def hybrid_forward(self, F, y, x):
        return self._m(F, x + y) * x + y


@register_fusion('half_aff')
class HalfAFF(_OneMSCAM):
    """Half of AFF's soft selection (appendix Table 6, Half-AFF), read as: only Y is
    weighted, X passes whole: ``Z = X + M(X + Y) Y`` (the appendix's figure is not in
    its text; this is the simplest reading with AFF's context fusion)."""

    def __init__(self, channels, r=4, **kwargs):
        super(HalfAFF, self).__init__(channels, r, **kwargs)

    def hybrid_forward(self, F, y, x):
        return x + self._m(F, x + y) * y


@register_fusion('concat_aff')
class ConcatAFF(HybridBlock):
    """AFF whose local and global contexts are fused by a learned 1x1 convolution over
    their concatenation instead of addition (appendix Table 6, Concat-AFF):
    ``W = sigmoid(Conv1x1([L(S), g(S)]))``, ``S = X + Y``, ``Z = 2 (Y W + X (1 - W))``."""

    def __init__(self, channels, r=4, **kwargs):
        super(ConcatAFF, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)
            self.mix = nn.Conv2D(channels, 1, use_bias=False, in_channels=2 * channels)

    def hybrid_forward(self, F, y, x):
        s = y + x
        local = self.local_att(s)
        glob = F.broadcast_like(self.global_att(s), local)
        return _select(F, y, x, F.sigmoid(self.mix(concat_channels(F, local, glob))))


@register_fusion('recursive_aff')
class RecursiveAFF(HybridBlock):
    """AFF whose local and global contexts are themselves soft-selected by an inner
    MS-CAM (appendix Table 6, Recursive AFF; two nested sigmoids):
    ``S = X + Y``, ``V = M'(S)``, ``W = sigmoid(L(S) V + g(S) (1 - V))``,
    ``Z = 2 (Y W + X (1 - W))``; ``M'`` uses ``local_att2``/``global_att2``."""

    def __init__(self, channels, r=4, **kwargs):
        super(RecursiveAFF, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)
            add_mscam_branches(self, channels, r, suffix='2')

    def hybrid_forward(self, F, y, x):
        s = y + x
        v = mscam_weight(F, s, self.local_att2, self.global_att2)
        local = self.local_att(s)
        glob = F.broadcast_like(self.global_att(s), local)
        return _select(F, y, x, F.sigmoid(local * v + glob * (1 - v)))


class _OneGlobal(HybridBlock):
    def __init__(self, channels, r=4, **kwargs):
        super(_OneGlobal, self).__init__(**kwargs)
        with self.name_scope():
            self.global_att = global_context(channels, r)


@register_fusion('se')
class SE(_OneGlobal):
    """SENet refinement with the global branch only: ``Z = X + G(Y) Y``."""

    def hybrid_forward(self, F, y, x):
        return x + F.broadcast_mul(y, _global_weight(F, y, self.global_att))


@register_fusion('sk')
class SK(_OneGlobal):
    """SKNet soft selection with the global branch only: ``W = G(X + Y)``,
    ``Z = X W + Y (1 - W)`` (two branches: SKNet's softmax is this sigmoid)."""

    def hybrid_forward(self, F, y, x):
        w = _global_weight(F, x + y, self.global_att)
        return F.broadcast_mul(x, w) + F.broadcast_mul(y, 1 - w)


@register_fusion('gau')
class GAU(_OneGlobal):
    """Global attention upsample (modulation) with the global branch only:
    ``Z = G(Y) X + Y``."""

    def hybrid_forward(self, F, y, x):
        return F.broadcast_mul(x, _global_weight(F, y, self.global_att)) + y
