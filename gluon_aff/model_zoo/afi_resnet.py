"""AFI-ResNets (AFINets paper, Fig. 3b, Table 3) and their plain baselines.

CIFAR: ResNet-(6N+2) v1 with 16/32/64 channels, basic blocks, a 3x3 stem and
post-addition ReLU (gluoncv's ``cifar_resnet*_v1`` layout, which has the paper's
baseline counts). ImageNet: ResNet-50/152 v1 with bottleneck blocks (stride on the
3x3 convolution). The AFI settings are described in ``afi_common``.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .afi_common import (AFIClassifier, AFIStage, afi_widths, contribution,
                         conv_bn, group_concat)
from .registry import register_family
from ..nn.afi import AFI

__all__ = ['AFIBasicBlock', 'AFIBottleneck', 'AFIResNet', 'build_afi_resnet']


class _AFIBlock(HybridBlock):
    """Common part: first conv (+BN+ReLU) -> [concat AFI(earlier)] -> body -> + shortcut."""

    def _first(self, F, x, features):
        h = F.relu(self.bn1(self.conv1(x)))
        feature = contribution(F, h, self.feature_width, self.width, self.later_stride)
        if self.afi is not None:
            h = group_concat(F, h, self.afi(*features), self.groups)
        return h, feature

    groups = 1
    later_stride = 1    # a stride applied after the first convolution

    def _init_first(self, width, feature_width, afi_r, in_channels, first_kernel, stride):
        self.width, self.feature_width = width, feature_width
        pad = first_kernel // 2
        self.conv1 = nn.Conv2D(width, first_kernel, stride, pad, use_bias=False,
                               in_channels=in_channels)
        self.bn1 = nn.BatchNorm(in_channels=width)
        self.afi = AFI(feature_width, afi_r) if afi_r else None
        return width + (feature_width if afi_r else 0)


class AFIBasicBlock(_AFIBlock):
    """Basic block: 3x3 conv -> BN -> ReLU [-> concat AFI] -> 3x3 conv -> BN, + shortcut, ReLU."""

    def __init__(self, channels, in_channels, stride, index, setting, **kwargs):
        super(AFIBasicBlock, self).__init__(**kwargs)
        width, feature_width, afi_r = afi_widths(channels, index, setting)
        with self.name_scope():
            mid = self._init_first(width, feature_width, afi_r, in_channels, 3, stride)
            self.conv2 = nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=mid)
            self.bn2 = nn.BatchNorm(in_channels=channels)
            self.downsample = (conv_bn(channels, 1, stride, in_channels)
                               if stride != 1 or in_channels != channels else None)

    def hybrid_forward(self, F, x, *features):
        h, feature = self._first(F, x, features)
        out = self.bn2(self.conv2(h))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut), feature


class AFIBottleneck(_AFIBlock):
    """Bottleneck: 1x1 -> BN -> ReLU [-> concat AFI] -> 3x3 (stride, groups) -> BN -> ReLU
    -> 1x1 -> BN, + shortcut, ReLU.

    ``width`` is the plain block's 3x3 width (default channels / 4) and ``groups`` its
    cardinality (ResNeXt). In setting B the widened 3x3 keeps its groups and output,
    each group seeing its slice of the first convolution followed by the same slice
    of the AFI output (``group_concat``).
    """

    def __init__(self, channels, in_channels, stride, index, setting, width=None, groups=1,
                 **kwargs):
        super(AFIBottleneck, self).__init__(**kwargs)
        planes = width or channels // 4
        first, feature_width, afi_r = afi_widths(planes, index, setting)
        with self.name_scope():
            self.groups, self.later_stride = groups, stride
            mid = self._init_first(first, feature_width, afi_r, in_channels, 1, 1)
            self.conv2 = nn.Conv2D(planes, 3, stride, 1, groups=groups, use_bias=False,
                                   in_channels=mid)
            self.bn2 = nn.BatchNorm(in_channels=planes)
            self.conv3 = nn.Conv2D(channels, 1, use_bias=False, in_channels=planes)
            self.bn3 = nn.BatchNorm(in_channels=channels)
            self.downsample = (conv_bn(channels, 1, stride, in_channels)
                               if stride != 1 or in_channels != channels else None)

    def hybrid_forward(self, F, x, *features):
        h, feature = self._first(F, x, features)
        out = F.relu(self.bn2(self.conv2(h)))
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut), feature


class AFIResNet(AFIClassifier):
    """ResNet v1 with AFI blocks (or plain, ``setting=None``).

    Parameters
    ----------
    block : AFIBasicBlock or AFIBottleneck
    layers : list of int
        Blocks per stage.
    channels : list of int
        Stem width, then each stage's output channels.
    setting : 'A', 'B' or None
        AFI setting (see ``afi_common``); None builds the plain baseline.
    cifar : bool
        3x3 stride-1 stem (CIFAR) instead of 7x7 stride-2 + max-pool (ImageNet).
    classes : int
    stage_kwargs : list of dict, optional
        Extra block arguments per stage (ResNeXt: width, groups).
    """
    def __init__(self, block, layers, channels, setting=None, cifar=True, classes=100,
                 stage_kwargs=None, out_stages=None, **kwargs):
        super(AFIResNet, self).__init__(out_stages=out_stages, **kwargs)
        self.setting = setting
        self.total_stride = (1 if cifar else 4) * 2 ** (len(layers) - 1)
        self.stem_pooled = not cifar
        with self.name_scope():
            self.stem = nn.HybridSequential(prefix='')
            if cifar:
                self.stem.add(nn.Conv2D(channels[0], 3, 1, 1, use_bias=False, in_channels=3))
            else:
                self.stem.add(nn.Conv2D(channels[0], 7, 2, 3, use_bias=False, in_channels=3))
            self.stem.add(nn.BatchNorm(in_channels=channels[0]), nn.Activation('relu'))
            if not cifar:
                self.stem.add(nn.MaxPool2D(3, 2, 1))
            self.stages = nn.HybridSequential(prefix='')
            in_channels = channels[0]
            for i, (n, out) in enumerate(zip(layers, channels[1:])):
                stage = AFIStage(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    for j in range(n):
                        stride = 2 if j == 0 and i > 0 else 1
                        stage.add(block(out, in_channels, stride, j, setting,
                                        **(stage_kwargs[i] if stage_kwargs else {})))
                        in_channels = out
                self.stages.add(stage)
            self.pool = nn.GlobalAvgPool2D()
            self.output = nn.Dense(classes, in_units=in_channels)
        self.feature_channels = tuple(channels[1:])


_BLOCKS = {'basic': AFIBasicBlock, 'bottleneck': AFIBottleneck}


def build_afi_resnet(block, **args):
    """``AFIResNet`` with its block named: 'basic' or 'bottleneck'."""
    return AFIResNet(block=_BLOCKS[block], **args)


register_family('cifar_afi_resnet', build_afi_resnet, AFIResNet)
register_family('imagenet_afi_resnet', build_afi_resnet, AFIResNet)
