"""CIFAR ShuffleNetV2 with AFI units and the plain baseline in PyTorch
(``gluon_aff.model_zoo.afi_shufflenet``'s twin, whose docstring gives the layout and the
reading of the paper)."""
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..fusion import AFI
from ..registry import register_family
from .afi_common import (AFIClassifier, AFIStage, afi_widths, contribution, conv_bn,
                         conv_bn_relu, group_concat)

__all__ = ['AFIShuffleUnit', 'ShuffleDownUnit', 'AFIShuffleNetV2', 'SHUFFLENETV2_WIDTHS']

SHUFFLENETV2_WIDTHS = {0.5: (48, 96, 192, 1024), 1: (116, 232, 464, 1024),
                       1.5: (176, 352, 704, 1024), 2: (224, 488, 976, 2048)}


def channel_shuffle(x: torch.Tensor, groups: int = 2):
    """Channel ``g * (C / groups) + j`` moves to ``j * groups + g``."""
    return x.unflatten(1, [groups, -1]).transpose(1, 2).flatten(1, 2)


class ShuffleDownUnit(nn.Module):
    """Stride-2 unit: [dw3x3 s2 -> 1x1] || [1x1 -> dw3x3 s2 -> 1x1], concat, shuffle."""

    def __init__(self, in_channels, out_channels, feature_width):
        super().__init__()
        mid = out_channels // 2
        self.mid, self.feature_width = mid, feature_width
        self.left_dw = conv_bn(in_channels, in_channels, 3, 2, groups=in_channels)
        self.left_pw = conv_bn(in_channels, mid, 1, 1)
        self.right_pw1 = conv_bn(in_channels, mid, 1, 1)
        self.right_dw = conv_bn(mid, mid, 3, 2, groups=mid)
        self.right_pw2 = conv_bn(mid, mid, 1, 1)

    def forward(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        left = self.left_pw(self.left_dw(x)).relu()
        h = self.right_pw1(x).relu()
        feature = contribution(h, self.feature_width, self.mid, 2)
        right = self.right_pw2(self.right_dw(h)).relu()
        return channel_shuffle(torch.cat([left, right], 1)), feature


class AFIShuffleUnit(nn.Module):
    """Split in halves; second half: 1x1 -> BN -> ReLU [-> with AFI] -> dw3x3 -> BN -> 1x1
    -> BN -> ReLU; concat with the first half; shuffle."""

    def __init__(self, channels, index, setting):
        super().__init__()
        half = channels // 2
        self.half = half
        self.width, self.feature_width, afi_r = afi_widths(half, index, setting)
        mid = self.width + (self.feature_width if afi_r else 0)
        self.pw1 = conv_bn(half, self.width, 1, 1)
        self.afi = AFI(self.feature_width, afi_r) if afi_r else None
        self.dw = conv_bn(mid, mid, 3, 1, groups=mid)
        self.pw2 = conv_bn(mid, half, 1, 1)

    def forward(self, x, features: List[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        keep, work = x[:, :self.half], x[:, self.half:]
        h = self.pw1(work).relu()
        feature = contribution(h, self.feature_width, self.width)
        if self.afi is not None:
            h = group_concat(h, self.afi(features), self.width)
        out = self.pw2(self.dw(h)).relu()
        return channel_shuffle(torch.cat([keep, out], 1)), feature


class AFIShuffleNetV2(AFIClassifier):
    """CIFAR ShuffleNetV2, plain (``setting=None``) or with AFI units ('A' or 'B'); timm's
    ``drop_rate`` and ``global_pool`` (its units have no residual branch for
    ``drop_path_rate``)."""

    def __init__(self, setting=None, net_size=1, classes=100, drop_rate=0.0,
                 global_pool='avg'):
        super().__init__()
        if net_size not in SHUFFLENETV2_WIDTHS:
            raise ValueError('net_size must be one of %s, got %r'
                             % (sorted(SHUFFLENETV2_WIDTHS), net_size))
        widths = SHUFFLENETV2_WIDTHS[net_size]
        self.setting = setting
        self.stem = conv_bn_relu(3, 24, 3)
        self.stages = nn.Sequential()
        in_channels = 24
        for out, n in zip(widths[:3], (3, 7, 3)):
            _, feature_width, _ = afi_widths(out // 2, 0, setting)
            self.stages.append(AFIStage(ShuffleDownUnit(in_channels, out, feature_width),
                                        *[AFIShuffleUnit(out, j + 1, setting) for j in range(n)]))
            in_channels = out
        self.last = conv_bn_relu(in_channels, widths[3], 1)
        self.feature_channels = tuple(widths[:3])
        self.set_feature_info(24, 1, (2, 2, 2))
        self.init_head(widths[3], classes, drop_rate, global_pool)


register_family('cifar_afi_shufflenet', AFIShuffleNetV2)
