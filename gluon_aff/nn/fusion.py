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
from mxnet.gluon.block import HybridBlock

from .mscam import add_mscam_branches, mscam_weight
from .registry import register_fusion

__all__ = ['Add', 'AFF', 'IAFF']


@register_fusion('add', aliases=('DirectAdd',))
class Add(HybridBlock):
    """Plain addition ``Z = Y + X``; no parameters (the ResNet baseline)."""

    def __init__(self, channels=None, r=None, **kwargs):
        super(Add, self).__init__(**kwargs)

    def hybrid_forward(self, F, y, x):
        return y + x


@register_fusion('aff', aliases=('ASKCFuse',))
class AFF(HybridBlock):
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
    """

    def __init__(self, channels, r=4, **kwargs):
        super(AFF, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)

    inference_form = False

    def hybrid_forward(self, F, y, x):
        w = mscam_weight(F, y + x, self.local_att, self.global_att)
        if self.inference_form:
            return 2 * (x + (y - x) * w)
        return 2 * y * w + 2 * x * (1 - w)


@register_fusion('iaff', aliases=('ResGlobLocaforGlobLocaCha',))
class IAFF(HybridBlock):
    """Iterative attentional feature fusion (section 4.3).

    ``W1 = M1(Y + X)``, ``I = Y * W1 + X * (1 - W1)``,
    ``W2 = M2(I)``, ``Z = Y * W2 + X * (1 - W2)``

    ``M1`` uses ``local_att``/``global_att``, ``M2`` uses
    ``local_att2``/``global_att2`` (the MXNet original and its released
    weights; the PyTorch port in that repository wrongly reuses
    ``global_att``). No factor 2 here.
    """

    def __init__(self, channels, r=4, **kwargs):
        super(IAFF, self).__init__(**kwargs)
        with self.name_scope():
            add_mscam_branches(self, channels, r)
            add_mscam_branches(self, channels, r, suffix='2')

    inference_form = False

    def hybrid_forward(self, F, y, x):
        w1 = mscam_weight(F, y + x, self.local_att, self.global_att)
        if self.inference_form:
            d = y - x
            w2 = mscam_weight(F, x + d * w1, self.local_att2, self.global_att2)
            return x + d * w2
        initial = y * w1 + x * (1 - w1)
        w2 = mscam_weight(F, initial, self.local_att2, self.global_att2)
        return y * w2 + x * (1 - w2)
