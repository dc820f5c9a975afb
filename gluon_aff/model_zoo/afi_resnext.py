"""CIFAR ResNeXt-29 (32x4d) with AFI blocks, and the plain baseline (gluoncv's
``cifar_resnext29_32x4d`` layout: 3x3 stem of 64, three stages of three bottlenecks
with 3x3 widths 128/256/512 in 32 groups and outputs 256/512/1024)."""
from .afi_resnet import AFIBottleneck, AFIResNet
from .registry import CIFAR_PREPROCESS, build_model, make_constructor, register_model

__all__ = []


def _cifar_afi_resnext29(name, pretrained, ctx, root, setting, **kwargs):
    args = dict(block=AFIBottleneck, layers=[3, 3, 3], channels=[64, 256, 512, 1024],
                setting=setting, cifar=True,
                stage_kwargs=[dict(width=w, groups=32) for w in (128, 256, 512)])
    return build_model(name, AFIResNet, args, pretrained, ctx, root, **kwargs)


for _name, _setting, _text in (('cifar_resnext29_32x4d', None, 'plain (the baseline)'),
                               ('cifar_afi_resnext29_32x4d', 'A', 'AFI setting A (r=4)'),
                               ('cifar_afi_resnext29_32x4d_b', 'B', 'AFI setting B (r=16)')):
    globals()[_name] = register_model('cifar_afi_resnext', 'afi' if _setting else 'add',
                                      CIFAR_PREPROCESS)(
        make_constructor(_name, _cifar_afi_resnext29,
                         'CIFAR ResNeXt-29 (32x4d), %s. Accepts classes=.' % _text,
                         setting=_setting))
    __all__.append(_name)
