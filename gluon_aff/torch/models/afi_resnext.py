"""CIFAR ResNeXt-29 (32x4d) with AFI blocks and the plain baseline in PyTorch
(``gluon_aff.model_zoo.afi_resnext``'s twin): 3x3 stem of 64, three stages of three
bottlenecks with 3x3 widths 128/256/512 in 32 groups, outputs 256/512/1024."""
from ...core.preprocessing import CIFAR_PREPROCESS
from ..registry import build_model, register_model
from .afi_resnet import AFIBottleneck, AFIResNet

__all__ = []


def _cifar_afi_resnext(name, setting, pretrained, kwargs):
    args = dict(block=AFIBottleneck, layers=[3, 3, 3], channels=[64, 256, 512, 1024],
                cifar=True, setting=setting,
                stage_kwargs=[dict(width=w, groups=32) for w in (128, 256, 512)])
    return build_model(name, AFIResNet, args, pretrained, kwargs)


@register_model('cifar_afi_resnext', 'add', CIFAR_PREPROCESS)
def cifar_resnext29_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-29 (32x4d), plain (the baseline)."""
    return _cifar_afi_resnext('cifar_resnext29_32x4d', None, pretrained, kwargs)


@register_model('cifar_afi_resnext', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnext29_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-29 (32x4d), AFI setting A (r=4)."""
    return _cifar_afi_resnext('cifar_afi_resnext29_32x4d', 'A', pretrained, kwargs)


@register_model('cifar_afi_resnext', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnext29_32x4d_b(pretrained=False, **kwargs):
    """CIFAR ResNeXt-29 (32x4d), AFI setting B (r=16)."""
    return _cifar_afi_resnext('cifar_afi_resnext29_32x4d_b', 'B', pretrained, kwargs)
