"""CIFAR ResNeXt-29 (32x4d) with AFI blocks, and the plain baseline (gluoncv's
``cifar_resnext29_32x4d`` layout: 3x3 stem of 64, three stages of three bottlenecks
with 3x3 widths 128/256/512 in 32 groups and outputs 256/512/1024)."""
from .afi_common import register_settings
from .afi_resnet import AFIBottleneck, AFIResNet
from .registry import CIFAR_PREPROCESS

_MADE = register_settings(
    {None: 'cifar_resnext29_32x4d', 'A': 'cifar_afi_resnext29_32x4d',
     'B': 'cifar_afi_resnext29_32x4d_b'}, 'cifar_afi_resnext', AFIResNet,
    dict(block=AFIBottleneck, layers=[3, 3, 3], channels=[64, 256, 512, 1024], cifar=True,
         stage_kwargs=[dict(width=w, groups=32) for w in (128, 256, 512)]),
    'CIFAR ResNeXt-29 (32x4d), %s. Accepts classes=.', CIFAR_PREPROCESS)
globals().update(_MADE)
__all__ = list(_MADE)
