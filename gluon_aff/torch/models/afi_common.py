"""What the twin's AFI networks share (``gluon_aff.model_zoo.afi_common``'s twin): the
settings, the stage that passes features on, the head.

Every AFI building block is called ``block(x, earlier) -> (out, feature)``: ``earlier`` is
the list of features the earlier blocks of the stage contributed, ``feature`` the block's
own (None: nothing). Setting A (r = 4) halves the first convolution of blocks 2..n and
concatenates the AFI output; setting B (r = 16) keeps the widths and concatenates a full
width AFI output (see the MXNet module for the whole description).
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ...core.afi_layout import AFI_SETTINGS, afi_widths  # noqa: F401 (the families import them here)
from ..base import ZooNet, checkpoint_stages
from ..layers import BatchNorm2d

__all__ = ['AFI_SETTINGS', 'afi_widths', 'AFIStage', 'AFIClassifier', 'contribution',
           'group_concat', 'conv_bn', 'conv_bn_relu']


def contribution(h: torch.Tensor, feature_width: Optional[int], width: int, stride: int = 1):
    """The first ``feature_width`` channels of ``h``, average-pooled by ``stride`` (MXNet's
    'full' pooling convention: ceil mode) when the block's stride comes after it."""
    if stride > 1:
        h = F.avg_pool2d(h, stride, stride, ceil_mode=True)
    if feature_width is not None and feature_width != width:
        h = h[:, :feature_width]
    return h


def group_concat(h: torch.Tensor, fused: torch.Tensor, groups: int):
    """``[h, fused]`` along channels; with ``groups`` groups, group g of the result holds
    group g of ``h`` followed by group g of ``fused``."""
    if groups == 1:
        return torch.cat([h, fused], 1)
    return torch.stack([h.unflatten(1, [groups, -1]), fused.unflatten(1, [groups, -1])],
                       2).flatten(1, 3)


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
        features: List[torch.Tensor] = []
        for block in self:
            x, feature = block(x, features)
            if feature is not None:
                features.append(feature)
        return x


class AFIClassifier(ZooNet):
    """``stem`` (its last layer a max-pool where ``stem_pooled``), ``stages`` (an AFIStage
    each), optional ``last`` (a final 1x1), ``output``."""
    classifier_name = 'output'
    head_modules = ('last', 'output')
    stem_pooled = False

    def forward_stem(self, x):
        for layer in list(self.stem)[:len(self.stem) - (1 if self.stem_pooled else 0)]:
            x = layer(x)
        return x

    def pool_stem(self, m):
        return self.stem[len(self.stem) - 1](m) if self.stem_pooled else m

    def stem_layer(self):
        return self.stem[len(self.stem) - (2 if self.stem_pooled else 1)]

    def stage_layers(self):
        return list(self.stages)

    def forward_features(self, x):
        x = self.stem(x)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_stages(list(self.stages), x, flatten=False)
        return self.stages(x)

    def head_map(self, x):
        if self.last is not None:
            x = self.last(x)
        return x

    def classify(self, x):
        return self.output(x)
