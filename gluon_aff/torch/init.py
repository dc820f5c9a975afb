"""The original training scripts' initialisation, for networks trained from scratch.

PyTorch initialises a convolution uniformly in +-1/sqrt(fan_in); the original trained the
CIFAR networks from ``mx.init.Xavier()`` and the ImageNet and segmentation networks from
``mx.init.MSRAPrelu()``. With BatchNorm after every convolution the weights' scale sets the
effective learning rate, so the recipes' learning rates assume these. For a weight of shape
(out, in / groups, k...), ``fan_in = in / groups * prod(k)``, ``fan_out = out * prod(k)``,
``n = (fan_in + fan_out) / 2``:

- ``'xavier'``: uniform in +-sqrt(3 / n) (MXNet's Xavier: uniform, 'avg', magnitude 3);
- ``'msra'``: normal with std sqrt(2 / (1 + 0.25^2) / n) (MXNet's MSRAPrelu: 'avg', slope 0.25).

Biases start at 0. BatchNorms keep what their constructor set (gamma 1, or 0 where the
network zero-initialises a block's last gamma).
"""
import math

import torch
from torch import nn

__all__ = ['init_like_original']

# Which scheme each family uses is declared with the family (gluon_aff.core.families: the
# original's train_cifar.py used Xavier, train_imagenet.py and the segmentation script
# MSRAPrelu); ModelInfo.init gives it.


def init_like_original(net, scheme):
    """Initialise every convolution and linear layer of ``net`` with ``scheme``
    ('xavier' or 'msra') and zero their biases; returns ``net``."""
    if scheme not in ('xavier', 'msra'):
        raise ValueError("init scheme must be 'xavier' or 'msra', got %r" % (scheme,))
    with torch.no_grad():
        for m in net.modules():
            if not isinstance(m, (nn.Conv2d, nn.Linear)):
                continue
            w = m.weight
            receptive = math.prod(w.shape[2:]) if w.dim() > 2 else 1
            n = (w.shape[1] * receptive + w.shape[0] * receptive) / 2.0
            if scheme == 'xavier':
                bound = math.sqrt(3.0 / n)
                w.uniform_(-bound, bound)
            else:
                w.normal_(0.0, math.sqrt(2.0 / (1 + 0.25 ** 2) / n))
            if m.bias is not None:
                m.bias.zero_()
    return net
