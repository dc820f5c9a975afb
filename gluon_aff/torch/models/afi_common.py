"""What the twin's AFI networks share (``gluon_aff.model_zoo.afi_common``'s twin): the
settings, the stage that passes features on, the head.

Every AFI building block is called ``block(x, *earlier) -> (out, feature)``: ``earlier``
are the features the earlier blocks of the stage contributed, ``feature`` the block's own
(None: nothing). Setting A (r = 4) halves the first convolution of blocks 2..n and
concatenates the AFI output; setting B (r = 16) keeps the widths and concatenates a full
width AFI output (see the MXNet module for the whole description).
"""
import torch
import torch.nn.functional as F
from torch import nn

from ...core.afi_layout import AFI_SETTINGS, afi_widths  # noqa: F401 (the families import them here)
from ..base import ZooNet
from ..layers import BatchNorm2d

__all__ = ['AFI_SETTINGS', 'afi_widths', 'AFIStage', 'AFIClassifier', 'contribution',
           'group_concat', 'conv_bn', 'conv_bn_relu']


def contribution(h, feature_width, width, stride=1):
    """The first ``feature_width`` channels of ``h``, average-pooled by ``stride`` (MXNet's
    'full' pooling convention: ceil mode) when the block's stride comes after it."""
    if stride > 1:
        h = F.avg_pool2d(h, stride, stride, ceil_mode=True)
    if feature_width is not None and feature_width != width:
        h = h[:, :feature_width]
    return h


def group_concat(h, fused, groups):
    """``[h, fused]`` along channels; with ``groups`` groups, group g of the result holds
    group g of ``h`` followed by group g of ``fused``."""
    if groups == 1:
        return torch.cat([h, fused], 1)
    n, c, height, width = h.shape
    return torch.stack([h.reshape(n, groups, c // groups, height, width),
                        fused.reshape(n, groups, c // groups, height, width)], 2).reshape(
        n, 2 * c, height, width)


def conv_bn(in_channels, channels, kernel, stride, groups=1):
    return nn.Sequential(nn.Conv2d(in_channels, channels, kernel, stride, kernel // 2,
                                   groups=groups, bias=False), BatchNorm2d(channels))


def conv_bn_relu(in_channels, channels, kernel):
    """Conv (stride 1) -> BN -> ReLU: the CIFAR stems and the last 1x1 of MobileNetV2 and
    ShuffleNetV2."""
    return nn.Sequential(*conv_bn(in_channels, channels, kernel, 1), nn.ReLU())


class AFIStage(nn.Sequential):
    """Block i receives the features of blocks 1..i-1."""

    def forward(self, x):
        features = []
        for block in self:
            x, feature = block(x, *features)
            if feature is not None:
                features.append(feature)
        return x


class AFIClassifier(ZooNet):
    """``stem``, ``stages`` (AFIStage each), optional ``last`` (a final 1x1), ``output``."""
    classifier_name = 'output'

    def _stem(self, x):
        return self.stem(x)

    def _stages(self):
        return list(self.stages)

    def head_map(self, x):
        last = self._modules.get('last')     # (a class attribute would hide the module)
        return last(x) if last is not None else x

    def classify_map(self, m, pre_logits=False):
        x = m.mean((2, 3))
        return x if pre_logits else self.output(x)
