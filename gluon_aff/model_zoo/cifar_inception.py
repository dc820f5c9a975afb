"""AFF-Inception for CIFAR ("Inception-ResNet-20-b", the AFF paper's same-layer scenario).

The CIFAR pre-activation host of ``cifar_resnet`` with an Inception block in place of
the basic block: after BN-ReLU, a 3x3 branch (X) and a 5x5-receptive-field branch (Y, a
3x3 convolution with dilation 2) see the same input; the chosen fusion joins them
(``concat`` is the Inception baseline: a 1x1 convolution over the concatenation), then
BN-ReLU-1x1 and the shortcut is added, as in Inception-ResNet. b blocks per stage,
widths 16/32/64 times channel_times (4 by default, like the released CIFAR networks).
"""
from mxnet import cpu
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion
from .base import make_norm
from .cifar_resnet import CIFARAFFResNet
from .registry import CIFAR_PREPROCESS, build_model, register_model

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


# -- zoo entries: cifar_inception_{aff,iaff,sk,add,concat}_b{1,2,3,4} -------------------------
def _cifar_inception(name, fusion, blocks, pretrained, ctx, root, kwargs):
    channel_times = kwargs.pop('channel_times', 4)
    args = dict(fusion=fusion, start_layer=1, layers=[kwargs.pop('blocks', blocks)] * 3,
                block=InceptionPreActBlock,
                channels=[c * channel_times for c in (16, 16, 32, 64)])
    return build_model(name, CIFARAFFResNet, args, pretrained, ctx, root, **kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b1(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-1 (1 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by AFF. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_aff_b1', 'aff', 1, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b2(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-2 (2 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by AFF. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_aff_b2', 'aff', 2, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-3 (3 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by AFF. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_aff_b3', 'aff', 3, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b4(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-4 (4 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by AFF. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_aff_b4', 'aff', 4, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b1(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-1 (1 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by iAFF. Accepts blocks=, channel_times=, fusion=,
    r=, classes=."""
    return _cifar_inception('cifar_inception_iaff_b1', 'iaff', 1, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b2(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-2 (2 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by iAFF. Accepts blocks=, channel_times=, fusion=,
    r=, classes=."""
    return _cifar_inception('cifar_inception_iaff_b2', 'iaff', 2, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-3 (3 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by iAFF. Accepts blocks=, channel_times=, fusion=,
    r=, classes=."""
    return _cifar_inception('cifar_inception_iaff_b3', 'iaff', 3, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b4(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-4 (4 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by iAFF. Accepts blocks=, channel_times=, fusion=,
    r=, classes=."""
    return _cifar_inception('cifar_inception_iaff_b4', 'iaff', 4, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b1(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-1 (1 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by SK. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_sk_b1', 'sk', 1, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b2(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-2 (2 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by SK. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_sk_b2', 'sk', 2, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-3 (3 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by SK. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_sk_b3', 'sk', 3, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b4(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-4 (4 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by SK. Accepts blocks=, channel_times=, fusion=, r=,
    classes=."""
    return _cifar_inception('cifar_inception_sk_b4', 'sk', 4, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b1(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-1 (1 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by addition. Accepts blocks=, channel_times=,
    fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_add_b1', 'add', 1, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b2(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-2 (2 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by addition. Accepts blocks=, channel_times=,
    fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_add_b2', 'add', 2, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-3 (3 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by addition. Accepts blocks=, channel_times=,
    fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_add_b3', 'add', 3, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b4(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-4 (4 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by addition. Accepts blocks=, channel_times=,
    fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_add_b4', 'add', 4, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b1(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-1 (1 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline).
    Accepts blocks=, channel_times=, fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_concat_b1', 'concat', 1, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b2(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-2 (2 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline).
    Accepts blocks=, channel_times=, fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_concat_b2', 'concat', 2, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-3 (3 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline).
    Accepts blocks=, channel_times=, fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_concat_b3', 'concat', 3, pretrained, ctx, root, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b4(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """CIFAR Inception-ResNet-20-4 (4 Inception blocks per stage, channel_times 4), 3x3
    and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline).
    Accepts blocks=, channel_times=, fusion=, r=, classes=."""
    return _cifar_inception('cifar_inception_concat_b4', 'concat', 4, pretrained, ctx, root, kwargs)
