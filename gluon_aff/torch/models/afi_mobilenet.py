"""CIFAR MobileNetV2 with AFI blocks and the plain baseline in PyTorch
(``gluon_aff.model_zoo.afi_mobilenet``'s twin, whose docstring gives the reading of the
paper: a stage is one row of the table, the AFI blocks fuse the 1x1 expansions, the
scorer uses r = 16 in both settings)."""
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..fusion import AFI
from ..layers import BatchNorm2d, DropPath, drop_path_rates
from ..registry import register_family
from .afi_common import AFIClassifier, AFIStage, afi_widths, conv_bn, conv_bn_relu, group_concat

__all__ = ['AFIInvertedResidual', 'AFIMobileNetV2', 'MOBILENETV2_CIFAR_CONFIG']

# (expansion, out_channels, blocks, stride) with the CIFAR stride change in row 2
MOBILENETV2_CIFAR_CONFIG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class AFIInvertedResidual(nn.Module):
    """1x1 expand -> BN -> ReLU [-> with AFI] -> 3x3 depthwise (stride) -> BN -> ReLU ->
    1x1 project -> BN, + shortcut when the stride is 1 (stochastic depth drops the rest)."""

    def __init__(self, in_channels, out_channels, expansion, stride, index, setting,
                 drop_path=0.0):
        super().__init__()
        planes = expansion * in_channels
        self.width, self.feature_width, afi_r = afi_widths(planes, index, setting, r=16)
        self.stride = stride
        mid = self.width + (self.feature_width if afi_r else 0)
        self.conv1 = nn.Conv2d(in_channels, self.width, 1, bias=False)
        self.bn1 = BatchNorm2d(self.width)
        self.afi = AFI(self.feature_width, afi_r) if afi_r else None
        self.conv2 = nn.Conv2d(mid, planes, 3, stride, 1, groups=planes, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = BatchNorm2d(out_channels)
        self.shortcut = (conv_bn(in_channels, out_channels, 1, 1)
                         if stride == 1 and in_channels != out_channels else None)
        self.drop_path = DropPath(drop_path) if drop_path and stride == 1 else None

    def forward(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        h = self.bn1(self.conv1(x)).relu()
        if self.afi is None:
            return self._rest(x, h), None           # a row's first block contributes none
        fused = self.afi(features + [h])
        # expansion channel c next to AFI channel c (one depthwise group each in setting B)
        return self._rest(x, group_concat(h, fused, self.width)), h

    def _rest(self, x, h):
        out = self.bn3(self.conv3(self.bn2(self.conv2(h)).relu()))
        if self.stride == 1:
            if self.drop_path is not None:
                out = self.drop_path(out)
            out = out + (self.shortcut(x) if self.shortcut is not None else x)
        return out


class AFIMobileNetV2(AFIClassifier):
    """CIFAR MobileNetV2, plain (``setting=None``) or with AFI blocks ('A' or 'B'); timm's
    ``drop_rate``, ``drop_path_rate`` (on the blocks with an identity shortcut) and
    ``global_pool``."""

    def __init__(self, setting=None, classes=100, config=None, drop_rate=0.0,
                 drop_path_rate=0.0, global_pool='avg'):
        super().__init__()
        config = config or MOBILENETV2_CIFAR_CONFIG
        self.setting = setting
        self.stem = conv_bn_relu(3, 32, 3)
        self.stages = nn.Sequential()
        in_channels = 32
        rates = iter(drop_path_rates(sum(c[2] for c in config), drop_path_rate))
        for expansion, out, n, stride in config:
            blocks = []
            for j in range(n):
                blocks.append(AFIInvertedResidual(in_channels, out, expansion,
                                                  stride if j == 0 else 1, j, setting,
                                                  next(rates)))
                in_channels = out
            self.stages.append(AFIStage(*blocks))
        self.last = conv_bn_relu(in_channels, 1280, 1)
        self.feature_channels = tuple(c[1] for c in config)
        self.set_feature_info(32, 1, [c[3] for c in config])
        self.init_head(1280, classes, drop_rate, global_pool)


register_family('cifar_afi_mobilenet', AFIMobileNetV2)
