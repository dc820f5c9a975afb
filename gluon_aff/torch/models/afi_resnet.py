"""AFI-ResNets and their plain baselines in PyTorch (``gluon_aff.model_zoo.afi_resnet``'s
twin): CIFAR ResNet-(6N+2) v1 with basic blocks, ImageNet ResNet-50/152 v1 with
bottlenecks."""
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..fusion import AFI
from ..layers import BatchNorm2d, DropPath, drop_path_rates
from ..registry import register_family
from .afi_common import AFIClassifier, AFIStage, afi_widths, contribution, conv_bn, group_concat

__all__ = ['AFIBasicBlock', 'AFIBottleneck', 'AFIResNet', 'build_afi_resnet']


class _AFIBlock(nn.Module):
    """First conv (+BN+ReLU) -> [concat AFI(earlier)] -> body -> + shortcut; stochastic
    depth drops the body."""

    def _init_first(self, width, feature_width, afi_r, in_channels, kernel, stride,
                    drop_path):
        self.width, self.feature_width = width, feature_width
        self.groups = 1
        self.later_stride = 1       # a stride applied after the first convolution
        self.conv1 = nn.Conv2d(in_channels, width, kernel, stride, kernel // 2, bias=False)
        self.bn1 = BatchNorm2d(width)
        self.afi = AFI(feature_width, afi_r) if afi_r else None
        self.drop_path = DropPath(drop_path) if drop_path else None
        return width + (feature_width if afi_r else 0)

    def _first(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.bn1(self.conv1(x)).relu()
        feature = contribution(h, self.feature_width, self.width, self.later_stride)
        if self.afi is not None:
            h = group_concat(h, self.afi(features), self.groups)
        return h, feature

    def _add(self, out, shortcut):
        if self.drop_path is not None:
            out = self.drop_path(out)
        return (out + shortcut).relu()


class AFIBasicBlock(_AFIBlock):
    """3x3 conv -> BN -> ReLU [-> concat AFI] -> 3x3 conv -> BN, + shortcut, ReLU."""

    def __init__(self, channels, in_channels, stride, index, setting, drop_path=0.0):
        super().__init__()
        width, feature_width, afi_r = afi_widths(channels, index, setting)
        mid = self._init_first(width, feature_width, afi_r, in_channels, 3, stride, drop_path)
        self.conv2 = nn.Conv2d(mid, channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(channels)
        self.downsample = (conv_bn(in_channels, channels, 1, stride)
                           if stride != 1 or in_channels != channels else None)

    def forward(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        h, feature = self._first(x, features)
        out = self.bn2(self.conv2(h))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self._add(out, shortcut), feature


class AFIBottleneck(_AFIBlock):
    """1x1 -> BN -> ReLU [-> concat AFI] -> 3x3 (stride, groups) -> BN -> ReLU -> 1x1 -> BN,
    + shortcut, ReLU; ``width``/``groups`` as ``gluon_aff.model_zoo.AFIBottleneck``."""

    def __init__(self, channels, in_channels, stride, index, setting, width=None, groups=1,
                 drop_path=0.0):
        super().__init__()
        planes = width or channels // 4
        first, feature_width, afi_r = afi_widths(planes, index, setting)
        mid = self._init_first(first, feature_width, afi_r, in_channels, 1, 1, drop_path)
        self.groups, self.later_stride = groups, stride
        self.conv2 = nn.Conv2d(mid, planes, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, channels, 1, bias=False)
        self.bn3 = BatchNorm2d(channels)
        self.downsample = (conv_bn(in_channels, channels, 1, stride)
                           if stride != 1 or in_channels != channels else None)

    def forward(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        h, feature = self._first(x, features)
        out = self.bn2(self.conv2(h)).relu()
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self._add(out, shortcut), feature


class AFIResNet(AFIClassifier):
    """ResNet v1 with AFI blocks (or plain, ``setting=None``); arguments as
    ``gluon_aff.model_zoo.AFIResNet``, and timm's ``drop_rate``, ``drop_path_rate`` and
    ``global_pool``."""

    def __init__(self, block, layers, channels, setting=None, cifar=True, classes=100,
                 stage_kwargs=None, drop_rate=0.0, drop_path_rate=0.0, global_pool='avg'):
        super().__init__()
        self.setting = setting
        self.stem_pooled = not cifar
        stem = [nn.Conv2d(3, channels[0], 3, 1, 1, bias=False) if cifar else
                nn.Conv2d(3, channels[0], 7, 2, 3, bias=False), BatchNorm2d(channels[0]),
                nn.ReLU()]
        self.stem = nn.Sequential(*stem, *([] if cifar else [nn.MaxPool2d(3, 2, 1)]))
        self.stages = nn.Sequential()
        in_channels = channels[0]
        rates = iter(drop_path_rates(sum(layers), drop_path_rate))
        for i, (n, out) in enumerate(zip(layers, channels[1:])):
            blocks = []
            for j in range(n):
                blocks.append(block(out, in_channels, 2 if j == 0 and i > 0 else 1, j, setting,
                                    drop_path=next(rates),
                                    **(stage_kwargs[i] if stage_kwargs else {})))
                in_channels = out
            self.stages.append(AFIStage(*blocks))
        self.last = None
        self.feature_channels = tuple(channels[1:])
        self.set_feature_info(channels[0], 1 if cifar else 2, [1] + [2] * (len(layers) - 1),
                              pool_stride=1 if cifar else 2)
        self.init_head(in_channels, classes, drop_rate, global_pool)


_BLOCKS = {'basic': AFIBasicBlock, 'bottleneck': AFIBottleneck}


def build_afi_resnet(block, **args):
    """``AFIResNet`` with its block named: 'basic' or 'bottleneck'."""
    return AFIResNet(block=_BLOCKS[block], **args)


register_family('cifar_afi_resnet', build_afi_resnet, AFIResNet)
register_family('imagenet_afi_resnet', build_afi_resnet, AFIResNet)
