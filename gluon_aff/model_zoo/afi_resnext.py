"""CIFAR ResNeXt-29 (32x4d) with AFI blocks, and the plain baseline (gluoncv's
``cifar_resnext29_32x4d`` layout: 3x3 stem of 64, three stages of three bottlenecks
with 3x3 widths 128/256/512 in 32 groups and outputs 256/512/1024)."""
from .afi_resnet import AFIResNet, build_afi_resnet
from .registry import register_family

__all__ = []

register_family('cifar_afi_resnext', build_afi_resnet, AFIResNet)
