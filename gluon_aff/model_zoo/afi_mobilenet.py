"""CIFAR MobileNetV2 with AFI blocks (AFINets paper, Fig. 3a), and the plain baseline.

The baseline is the common CIFAR adaptation the paper took from a public PyTorch
collection: 3x3 stride-1 stem of 32, the seven (expansion, out, n, stride) rows of
MobileNetV2 with the second row's stride set to 1, ReLU (not ReLU6), a 1x1 conv to
1280, global average pooling and a linear classifier; stride-1 blocks add a shortcut
(a 1x1 conv + BN where the widths differ).

AFI reading (the paper gives counts, not the layout): a "stage" is one row of the
table (its blocks share the output shape); blocks 2..n of a row are AFI blocks whose
first convolution is the 1x1 expansion (width P). The row's first block expands a
narrower input (6 x its input width, not 6 x the row's), so it contributes no
feature; AFI block i fuses the expansion outputs of blocks 2..i, its own included
(block 2 thus gets its own map back). The AFI output goes with the expansion into
the depthwise 3x3, which keeps its P outputs: in setting A the expansion makes P/2
and the AFI the other P/2; in setting B the depthwise 3x3 takes 2P inputs, output
channel c reading expansion channel c and AFI channel c. The scorer uses r = 16 in
both settings: with it the counts are the paper's (2.25M, 2.84M at 100 classes);
with r = 4 setting A would have 2.53M, more than the 2.41M baseline.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .afi_common import AFIClassifier, AFIStage, afi_widths, conv_bn_relu, group_concat
from .registry import register_family
from ..nn.afi import AFI

__all__ = ['AFIInvertedResidual', 'AFIMobileNetV2', 'MOBILENETV2_CIFAR_CONFIG']

# (expansion, out_channels, blocks, stride) with the CIFAR stride change in row 2
MOBILENETV2_CIFAR_CONFIG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class AFIInvertedResidual(HybridBlock):
    """1x1 expand -> BN -> ReLU [-> concat AFI] -> 3x3 depthwise (stride) -> BN -> ReLU ->
    1x1 project -> BN, + shortcut when stride is 1."""

    def __init__(self, in_channels, out_channels, expansion, stride, index, setting, **kwargs):
        super(AFIInvertedResidual, self).__init__(**kwargs)
        planes = expansion * in_channels
        self.width, self.feature_width, afi_r = afi_widths(planes, index, setting, r=16)
        self.stride, self.planes = stride, planes
        mid = self.width + (self.feature_width if afi_r else 0)
        with self.name_scope():
            self.conv1 = nn.Conv2D(self.width, 1, use_bias=False, in_channels=in_channels)
            self.bn1 = nn.BatchNorm(in_channels=self.width)
            self.afi = AFI(self.feature_width, afi_r) if afi_r else None
            self.conv2 = nn.Conv2D(planes, 3, stride, 1, groups=planes, use_bias=False,
                                   in_channels=mid)
            self.bn2 = nn.BatchNorm(in_channels=planes)
            self.conv3 = nn.Conv2D(out_channels, 1, use_bias=False, in_channels=planes)
            self.bn3 = nn.BatchNorm(in_channels=out_channels)
            self.shortcut = None
            if stride == 1 and in_channels != out_channels:
                self.shortcut = nn.HybridSequential(prefix='')
                self.shortcut.add(nn.Conv2D(out_channels, 1, use_bias=False,
                                            in_channels=in_channels),
                                  nn.BatchNorm(in_channels=out_channels))

    def hybrid_forward(self, F, x, *features):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.afi is None:
            return self._rest(F, x, h), None        # a row's first block contributes none
        fused = self.afi(*(features + (h,)))
        # interleaved: expansion channel c next to AFI channel c (setting B: one depthwise
        # group each; setting A: the order is immaterial to the depthwise 3x3)
        return self._rest(F, x, group_concat(F, h, fused, self.width)), h

    def _rest(self, F, x, h):
        out = F.relu(self.bn2(self.conv2(h)))
        out = self.bn3(self.conv3(out))
        if self.stride == 1:
            out = out + (self.shortcut(x) if self.shortcut is not None else x)
        return out


class AFIMobileNetV2(AFIClassifier):
    """CIFAR MobileNetV2, plain (``setting=None``) or with AFI blocks ('A' or 'B')."""

    def __init__(self, setting=None, classes=100, config=None, out_stages=None, **kwargs):
        super(AFIMobileNetV2, self).__init__(out_stages=out_stages, **kwargs)
        config = config or MOBILENETV2_CIFAR_CONFIG
        self.setting = setting
        self.total_stride = 8
        with self.name_scope():
            self.stem = conv_bn_relu(32, 3, 3)
            self.stages = nn.HybridSequential(prefix='')
            in_channels = 32
            for i, (expansion, out, n, stride) in enumerate(config):
                stage = AFIStage(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    for j in range(n):
                        stage.add(AFIInvertedResidual(in_channels, out, expansion,
                                                      stride if j == 0 else 1, j, setting))
                        in_channels = out
                self.stages.add(stage)
            self.last = conv_bn_relu(1280, 1, in_channels)
            self.pool = nn.GlobalAvgPool2D()
            self.output = nn.Dense(classes, in_units=1280)
        self.feature_channels = tuple(c[1] for c in config)


register_family('cifar_afi_mobilenet', AFIMobileNetV2)
