"""CIFAR ShuffleNetV2 with AFI blocks, and the plain baseline.

The baseline is the common CIFAR adaptation (the public PyTorch collection the AFINets
paper used): 3x3 stride-1 stem of 24, three stages of one down-sampling unit followed
by (3, 7, 3) basic units, a 1x1 conv to 1024, global average pooling, a linear
classifier. ``net_size`` picks the stage widths of that collection (0.5: 48/96/192,
1: 116/232/464, 1.5: 176/352/704, 2: 224/488/976 with 2048 last).

AFI reading: the stage's down-sampling unit is its plain first block (it contributes
the output of its right branch's first 1x1 convolution); in every basic unit the
first convolution is the 1x1 on the processed half (c channels), and the AFI output
goes with it (channels interleaved) into the depthwise 3x3 (setting B: 2c channels
through the depthwise 3x3 and into the last 1x1).
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .afi_common import (AFIClassifier, AFIStage, afi_widths, contribution, conv_bn,
                         conv_bn_relu, group_concat)
from .registry import register_family
from ..nn.channels import channel_shuffle, concat_channels
from ..nn.afi import AFI

__all__ = ['AFIShuffleUnit', 'ShuffleDownUnit', 'AFIShuffleNetV2', 'SHUFFLENETV2_WIDTHS']

SHUFFLENETV2_WIDTHS = {0.5: (48, 96, 192, 1024), 1: (116, 232, 464, 1024),
                       1.5: (176, 352, 704, 1024), 2: (224, 488, 976, 2048)}


class ShuffleDownUnit(HybridBlock):
    """Stride-2 unit: [dw3x3 s2 -> 1x1] || [1x1 -> dw3x3 s2 -> 1x1], concat, shuffle."""

    def __init__(self, in_channels, out_channels, feature_width, **kwargs):
        super(ShuffleDownUnit, self).__init__(**kwargs)
        mid = out_channels // 2
        self.mid, self.feature_width = mid, feature_width
        with self.name_scope():
            self.left_dw = conv_bn(in_channels, 3, 2, in_channels, groups=in_channels)
            self.left_pw = conv_bn(mid, 1, 1, in_channels)
            self.right_pw1 = conv_bn(mid, 1, 1, in_channels)
            self.right_dw = conv_bn(mid, 3, 2, mid, groups=mid)
            self.right_pw2 = conv_bn(mid, 1, 1, mid)

    def hybrid_forward(self, F, x, *features):
        left = F.relu(self.left_pw(self.left_dw(x)))
        h = F.relu(self.right_pw1(x))
        feature = contribution(F, h, self.feature_width, self.mid, 2)
        right = F.relu(self.right_pw2(self.right_dw(h)))
        return channel_shuffle(F, concat_channels(F, left, right)), feature


class AFIShuffleUnit(HybridBlock):
    """Split in halves; second half: 1x1 -> BN -> ReLU [-> concat AFI] -> dw3x3 -> BN ->
    1x1 -> BN -> ReLU; concat with the first half; shuffle."""

    def __init__(self, channels, index, setting, **kwargs):
        super(AFIShuffleUnit, self).__init__(**kwargs)
        half = channels // 2
        self.half = half
        self.width, self.feature_width, afi_r = afi_widths(half, index, setting)
        mid = self.width + (self.feature_width if afi_r else 0)
        with self.name_scope():
            self.pw1 = conv_bn(self.width, 1, 1, half)
            self.afi = AFI(self.feature_width, afi_r) if afi_r else None
            self.dw = conv_bn(mid, 3, 1, mid, groups=mid)
            self.pw2 = conv_bn(half, 1, 1, mid)

    def hybrid_forward(self, F, x, *features):
        # two slices, not F.split: MXNet writes split as an ONNX Split that opset 19 rejects
        keep = F.slice_axis(x, axis=1, begin=0, end=self.half)
        work = F.slice_axis(x, axis=1, begin=self.half, end=None)
        h = F.relu(self.pw1(work))
        feature = contribution(F, h, self.feature_width, self.width)
        if self.afi is not None:
            # interleaved like AFI-MobileNetV2's (the order is immaterial to the
            # depthwise 3x3, which has one channel per group)
            h = group_concat(F, h, self.afi(*features), self.width)
        out = F.relu(self.pw2(self.dw(h)))
        return channel_shuffle(F, concat_channels(F, keep, out)), feature


class AFIShuffleNetV2(AFIClassifier):
    """CIFAR ShuffleNetV2, plain (``setting=None``) or with AFI units ('A' or 'B')."""

    def __init__(self, setting=None, net_size=1, classes=100, out_stages=None, **kwargs):
        super(AFIShuffleNetV2, self).__init__(out_stages=out_stages, **kwargs)
        if net_size not in SHUFFLENETV2_WIDTHS:
            raise ValueError('net_size must be one of %s, got %r'
                             % (sorted(SHUFFLENETV2_WIDTHS), net_size))
        widths = SHUFFLENETV2_WIDTHS[net_size]
        self.setting = setting
        self.total_stride = 8
        with self.name_scope():
            self.stem = conv_bn_relu(24, 3, 3)
            self.stages = nn.HybridSequential(prefix='')
            in_channels = 24
            for i, (out, n) in enumerate(zip(widths[:3], (3, 7, 3))):
                stage = AFIStage(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    _, feature_width, _ = afi_widths(out // 2, 0, setting)
                    stage.add(ShuffleDownUnit(in_channels, out, feature_width))
                    for j in range(n):
                        stage.add(AFIShuffleUnit(out, j + 1, setting))
                in_channels = out
                self.stages.add(stage)
            self.last = conv_bn_relu(widths[3], 1, in_channels)
            self.pool = nn.GlobalAvgPool2D()
            self.output = nn.Dense(classes, in_units=widths[3])
        self.feature_channels = tuple(widths[:3])


register_family('cifar_afi_shufflenet', AFIShuffleNetV2)
