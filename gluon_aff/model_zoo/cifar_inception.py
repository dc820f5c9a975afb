"""AFF-Inception for CIFAR ("Inception-ResNet-20-b", the AFF paper's same-layer scenario).

The CIFAR pre-activation host of ``cifar_resnet`` with an Inception block in place of
the basic block: after BN-ReLU, a 3x3 branch (X) and a 5x5-receptive-field branch (Y, a
3x3 convolution with dilation 2) see the same input; the chosen fusion joins them
(``concat`` is the Inception baseline: a 1x1 convolution over the concatenation), then
BN-ReLU-1x1 and the shortcut is added, as in Inception-ResNet. b blocks per stage,
widths 16/32/64 times channel_times (4 by default, like the released CIFAR networks).
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion
from .base import make_norm
from .cifar_resnet import CIFARAFFResNet
from .registry import register_family

__all__ = ['InceptionPreActBlock']


class InceptionPreActBlock(HybridBlock):
    """``out = conv1x1(ReLU(BN(fuse(Y=conv3x3_d2(h), X=conv3x3(h))))) + shortcut(x)``,
    ``h = ReLU(BN(x))``; the shortcut is the identity or AvgPool + 1x1 conv."""

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4,
                 norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(InceptionPreActBlock, self).__init__(**kwargs)
        with self.name_scope():
            self.pre = nn.HybridSequential(prefix='pre_')
            self.pre.add(make_norm(norm_layer, norm_kwargs, in_channels), nn.Activation('relu'))
            self.branch3 = nn.Conv2D(channels, 3, stride, 1, use_bias=False,
                                     in_channels=in_channels)
            self.branch5 = nn.Conv2D(channels, 3, stride, 2, dilation=2, use_bias=False,
                                     in_channels=in_channels)
            self.attention = create_fusion(fusion, channels, r)
            self.post = nn.HybridSequential(prefix='post_')
            self.post.add(make_norm(norm_layer, norm_kwargs, channels), nn.Activation('relu'),
                          nn.Conv2D(channels, 1, use_bias=False, in_channels=channels))
            self.downsample = None
            if channels != in_channels or stride != 1:
                self.downsample = nn.HybridSequential(prefix='down_')
                self.downsample.add(nn.AvgPool2D(pool_size=stride, strides=stride,
                                                 ceil_mode=True, count_include_pad=False),
                                    nn.Conv2D(channels, 1, use_bias=False,
                                              in_channels=in_channels))

    def hybrid_forward(self, F, x):
        h = self.pre(x)
        fused = self.attention(self.branch5(h), self.branch3(h))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.post(fused) + shortcut


def _cifar_inception(**args):
    return CIFARAFFResNet(block=InceptionPreActBlock, **args)


register_family('cifar_inception', _cifar_inception, CIFARAFFResNet)
