"""CIFAR AFF-Inception in PyTorch (``gluon_aff.model_zoo.cifar_inception``'s twin): the
CIFAR pre-activation host with an Inception block, the AFF paper's same-layer scenario."""
from torch import nn

from ...core.preprocessing import CIFAR_PREPROCESS
from ..fusion import create_fusion
from ..layers import AvgPoolDown, BatchNorm2d
from ..registry import build_model, register_model
from .cifar_resnet import CIFARAFFResNet

__all__ = ['InceptionPreActBlock']


class InceptionPreActBlock(nn.Module):
    """``conv1x1(ReLU(BN(fuse(Y=conv3x3_d2(h), X=conv3x3(h))))) + shortcut(x)``,
    ``h = ReLU(BN(x))``; the shortcut is the identity or AvgPool + 1x1 conv."""

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4):
        super().__init__()
        self.pre = nn.Sequential(BatchNorm2d(in_channels), nn.ReLU())
        self.branch3 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.branch5 = nn.Conv2d(in_channels, channels, 3, stride, 2, dilation=2, bias=False)
        self.attention = create_fusion(fusion, channels, r)
        self.post = nn.Sequential(BatchNorm2d(channels), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1, bias=False))
        self.downsample = None
        if channels != in_channels or stride != 1:
            self.downsample = nn.Sequential(AvgPoolDown(stride),
                                            nn.Conv2d(in_channels, channels, 1, bias=False))

    def forward(self, x):
        h = self.pre(x)
        fused = self.attention(self.branch5(h), self.branch3(h))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.post(fused) + shortcut


# -- zoo entries: cifar_inception_{aff,iaff,sk,add,concat}_b{1,2,3,4} -------------------------
def _cifar_inception(name, fusion, blocks, pretrained, kwargs):
    times = kwargs.pop('channel_times', 4)
    args = dict(fusion=fusion, start_layer=1, layers=[kwargs.pop('blocks', blocks)] * 3,
                block=InceptionPreActBlock, channels=[c * times for c in (16, 16, 32, 64)])
    return build_model(name, CIFARAFFResNet, args, pretrained, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b1(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-1, 3x3 and dilated-3x3 branches fused by AFF."""
    return _cifar_inception('cifar_inception_aff_b1', 'aff', 1, pretrained, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b2(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-2, 3x3 and dilated-3x3 branches fused by AFF."""
    return _cifar_inception('cifar_inception_aff_b2', 'aff', 2, pretrained, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b3(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-3, 3x3 and dilated-3x3 branches fused by AFF."""
    return _cifar_inception('cifar_inception_aff_b3', 'aff', 3, pretrained, kwargs)


@register_model('cifar_inception', 'aff', CIFAR_PREPROCESS)
def cifar_inception_aff_b4(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-4, 3x3 and dilated-3x3 branches fused by AFF."""
    return _cifar_inception('cifar_inception_aff_b4', 'aff', 4, pretrained, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b1(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-1, 3x3 and dilated-3x3 branches fused by iAFF."""
    return _cifar_inception('cifar_inception_iaff_b1', 'iaff', 1, pretrained, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b2(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-2, 3x3 and dilated-3x3 branches fused by iAFF."""
    return _cifar_inception('cifar_inception_iaff_b2', 'iaff', 2, pretrained, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b3(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-3, 3x3 and dilated-3x3 branches fused by iAFF."""
    return _cifar_inception('cifar_inception_iaff_b3', 'iaff', 3, pretrained, kwargs)


@register_model('cifar_inception', 'iaff', CIFAR_PREPROCESS)
def cifar_inception_iaff_b4(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-4, 3x3 and dilated-3x3 branches fused by iAFF."""
    return _cifar_inception('cifar_inception_iaff_b4', 'iaff', 4, pretrained, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b1(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-1, 3x3 and dilated-3x3 branches fused by SK (global-only soft selection)."""
    return _cifar_inception('cifar_inception_sk_b1', 'sk', 1, pretrained, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b2(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-2, 3x3 and dilated-3x3 branches fused by SK (global-only soft selection)."""
    return _cifar_inception('cifar_inception_sk_b2', 'sk', 2, pretrained, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b3(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-3, 3x3 and dilated-3x3 branches fused by SK (global-only soft selection)."""
    return _cifar_inception('cifar_inception_sk_b3', 'sk', 3, pretrained, kwargs)


@register_model('cifar_inception', 'sk', CIFAR_PREPROCESS)
def cifar_inception_sk_b4(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-4, 3x3 and dilated-3x3 branches fused by SK (global-only soft selection)."""
    return _cifar_inception('cifar_inception_sk_b4', 'sk', 4, pretrained, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b1(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-1, 3x3 and dilated-3x3 branches fused by addition."""
    return _cifar_inception('cifar_inception_add_b1', 'add', 1, pretrained, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b2(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-2, 3x3 and dilated-3x3 branches fused by addition."""
    return _cifar_inception('cifar_inception_add_b2', 'add', 2, pretrained, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b3(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-3, 3x3 and dilated-3x3 branches fused by addition."""
    return _cifar_inception('cifar_inception_add_b3', 'add', 3, pretrained, kwargs)


@register_model('cifar_inception', 'add', CIFAR_PREPROCESS)
def cifar_inception_add_b4(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-4, 3x3 and dilated-3x3 branches fused by addition."""
    return _cifar_inception('cifar_inception_add_b4', 'add', 4, pretrained, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b1(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-1, 3x3 and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline)."""
    return _cifar_inception('cifar_inception_concat_b1', 'concat', 1, pretrained, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b2(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-2, 3x3 and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline)."""
    return _cifar_inception('cifar_inception_concat_b2', 'concat', 2, pretrained, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b3(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-3, 3x3 and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline)."""
    return _cifar_inception('cifar_inception_concat_b3', 'concat', 3, pretrained, kwargs)


@register_model('cifar_inception', 'concat', CIFAR_PREPROCESS)
def cifar_inception_concat_b4(pretrained=False, **kwargs):
    """CIFAR Inception-ResNet-20-4, 3x3 and dilated-3x3 branches fused by concatenation + 1x1 (the Inception baseline)."""
    return _cifar_inception('cifar_inception_concat_b4', 'concat', 4, pretrained, kwargs)
