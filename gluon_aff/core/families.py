"""The zoo's families, framework-free: for each, the arguments a user may give, how a
name's declared arguments and the user's become the network class's, the preprocessing
its weights were trained with, the original's initialiser, and its smallest configuration.

A family is implemented twice, once per framework (``gluon_aff/model_zoo/FAMILY.py`` for
MXNet, ``gluon_aff/torch/models/FAMILY.py`` for PyTorch); both build their class from
``Family.class_arguments``, so the two cannot take different arguments.
"""
import dataclasses
from typing import Callable, Dict, Tuple

from .preprocessing import CIFAR_PREPROCESS, IMAGENET_PREPROCESS, SEGMENTATION_PREPROCESS

__all__ = ['Family', 'FAMILIES', 'RESNET_LAYERS', 'RESNEXT_LAYERS', 'get_family']

# The original uses [3, 4, 36, 3] for 152 (the usual one is [3, 8, 36, 3]).
RESNET_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 4, 36, 3]}
RESNEXT_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}


@dataclasses.dataclass(frozen=True)
class Family:
    """One family of the zoo.

    ``arguments``: what a user may pass besides ``classes`` (both frameworks take the same);
    ``resolve(args)``: the class's keyword arguments from the declared ones updated with
    the user's; ``init``: the original script's initialiser ('xavier' for train_cifar.py,
    'msra' for train_imagenet.py and the segmentation script); ``smallest``: arguments of
    its smallest network (one block per stage where the family has blocks), for tests and
    quick checks; ``reduction``: how many input pixels one pixel of the last stage's map
    spans (the total stride) at the declared arguments; ``first_conv(class_arguments)``:
    the key path of the convolution that takes the image (timm's ``first_conv``);
    ``classifier_key``: the key path of the layer giving the logits (timm's ``classifier``);
    ``task``: 'classification' (logits per image: the names timm's registry holds) or
    'segmentation' (logits per pixel)."""
    name: str
    preprocessing: Dict
    arguments: Tuple[str, ...]
    resolve: Callable
    init: str
    smallest: Dict
    description: str
    reduction: int
    first_conv: Callable
    classifier_key: str
    task: str = 'classification'

    def class_arguments(self, declared, user):
        args = dict(declared)
        args.update(user)
        args.setdefault('classes', self.preprocessing['classes'])
        return self.resolve(**args)


def _imagenet_resnet(fusion, layers, start_layer=3, **rest):
    return dict(fusion=fusion, start_layer=start_layer, layers=list(layers), **rest)


def _imagenet_resnext(fusion, layers, start_layer=3, cardinality=32, bottleneck_width=4,
                      **rest):
    return dict(fusion=fusion, start_layer=start_layer, layers=list(layers),
                cardinality=cardinality, bottleneck_width=bottleneck_width, **rest)


def _cifar_widths(channel_times):
    return [c * channel_times for c in (16, 16, 32, 64)]


def _cifar_resnet(fusion, blocks, channel_times=4, layers=None, start_layer=1, **rest):
    return dict(fusion=fusion, start_layer=start_layer, layers=list(layers or [blocks] * 3),
                channels=_cifar_widths(channel_times), **rest)


def _cifar_resnext(fusion, blocks, channel_times=4, layers=None, start_layer=1,
                   cardinality=32, bottleneck_width=4, **rest):
    return dict(fusion=fusion, start_layer=start_layer, layers=list(layers or [blocks] * 3),
                channels=16 * channel_times, cardinality=cardinality,
                bottleneck_width=bottleneck_width, **rest)


def _fpn_resnet(fusion, blocks, channel_times=1, **rest):
    return dict(fusion=fusion, blocks=blocks, channel_times=channel_times, **rest)


def _cifar_afi_resnet(setting, blocks, layers=None, **rest):
    return dict(block='basic', layers=list(layers or [blocks] * 3), channels=[16, 16, 32, 64],
                setting=setting, cifar=True, **rest)


def _imagenet_afi_resnet(setting, layers, **rest):
    return dict(block='bottleneck', layers=list(layers), channels=[64, 256, 512, 1024, 2048],
                setting=setting, cifar=False, **rest)


def _cifar_afi_resnext(setting, **rest):
    return dict(block='bottleneck', layers=[3, 3, 3], channels=[64, 256, 512, 1024],
                setting=setting, cifar=True,
                stage_kwargs=[dict(width=w, groups=32) for w in (128, 256, 512)], **rest)


def _setting_only(setting, **rest):
    return dict(setting=setting, **rest)


def _stem_conv(path, deep_path, deep_by_default=False):
    """``first_conv`` of a family whose stem is one convolution at ``path``, or a deep stem
    (three convolutions) whose first is at ``deep_path``."""
    return lambda args: deep_path if args.get('deep_stem', deep_by_default) else path


def _fixed(path):
    return lambda args: path


_FAMILIES = [
    Family('imagenet_resnet', IMAGENET_PREPROCESS,
           ('fusion', 'start_layer', 'layers', 'deep_stem', 'stem_width', 'avg_down',
            'last_gamma', 'dilated', 'final_drop', 'use_global_stats', 'r'),
           _imagenet_resnet, 'msra', dict(layers=[1, 1, 1, 1], stem_width=8),
           'ImageNet ResNet-D hosts (deep stem, average-pool shortcuts), a fusion block in '
           'every bottleneck of stages start_layer..4',
           32, _stem_conv('conv1', 'conv1.0', deep_by_default=True), 'fc'),
    Family('imagenet_resnext', IMAGENET_PREPROCESS,
           ('fusion', 'start_layer', 'layers', 'cardinality', 'bottleneck_width', 'last_gamma',
            'use_se', 'deep_stem', 'avg_down', 'stem_width', 'r'),
           _imagenet_resnext, 'msra', dict(layers=[1, 1, 1, 1], stem_width=16),
           'ImageNet ResNeXt hosts, a fusion block in every block of stages start_layer..4',
           32, _fixed('features.0'), 'output'),
    Family('cifar_resnet', CIFAR_PREPROCESS,
           ('fusion', 'start_layer', 'blocks', 'layers', 'channel_times', 'deep_stem', 'r',
            'drop_rate'),
           _cifar_resnet, 'xavier', dict(blocks=1, channel_times=1),
           'CIFAR pre-activation ResNets (depth 6 * blocks + 2)',
           4, _stem_conv('features.1', 'features.1.0'), 'output'),
    Family('cifar_resnext', CIFAR_PREPROCESS,
           ('fusion', 'start_layer', 'blocks', 'layers', 'channel_times', 'cardinality',
            'bottleneck_width', 'deep_stem', 'last_gamma', 'r', 'drop_rate'),
           _cifar_resnext, 'xavier', dict(blocks=1, channel_times=1),
           'CIFAR ResNeXts (depth 9 * blocks + 2)',
           4, _stem_conv('features.0', 'features.0.0'), 'output'),
    Family('cifar_inception', CIFAR_PREPROCESS,
           ('fusion', 'start_layer', 'blocks', 'layers', 'channel_times', 'deep_stem', 'r',
            'drop_rate'),
           _cifar_resnet, 'xavier', dict(blocks=1, channel_times=1),
           "the AFF paper's same-layer scenario: Inception blocks whose 3x3 and dilated 3x3 "
           'branches are fused',
           4, _stem_conv('features.1', 'features.1.0'), 'output'),
    Family('fpn_resnet', SEGMENTATION_PREPROCESS,
           ('fusion', 'blocks', 'channel_times', 'r'),
           _fpn_resnet, 'msra', dict(blocks=1),
           "the AFF paper's long-skip scenario: a CIFAR ResNet with an FPN whose top-down "
           'merges are fused, for segmentation',
           4, _fixed('stem.1'), 'head.2', 'segmentation'),
    Family('cifar_afi_resnet', CIFAR_PREPROCESS, ('setting', 'blocks', 'layers'),
           _cifar_afi_resnet, 'xavier', dict(blocks=1),
           'AFINets: CIFAR ResNet v1 with AFI blocks, and the plain baselines',
           4, _fixed('stem.0'), 'output'),
    Family('imagenet_afi_resnet', IMAGENET_PREPROCESS, ('setting', 'layers'),
           _imagenet_afi_resnet, 'msra', dict(layers=[1, 2, 1, 1]),
           'AFINets: ImageNet ResNet v1 with AFI bottlenecks',
           32, _fixed('stem.0'), 'output'),
    Family('cifar_afi_resnext', CIFAR_PREPROCESS, ('setting',),
           _cifar_afi_resnext, 'xavier', {},
           'AFINets: CIFAR ResNeXt-29 (32x4d) with AFI blocks, and the plain baseline',
           4, _fixed('stem.0'), 'output'),
    Family('cifar_afi_mobilenet', CIFAR_PREPROCESS, ('setting', 'config'),
           _setting_only, 'xavier', {},
           'AFINets: CIFAR MobileNetV2 with AFI blocks, and the plain baseline',
           8, _fixed('stem.0'), 'output'),
    Family('cifar_afi_shufflenet', CIFAR_PREPROCESS, ('setting', 'net_size'),
           _setting_only, 'xavier', {},
           'AFINets: CIFAR ShuffleNetV2 with AFI units, and the plain baseline',
           8, _fixed('stem.0'), 'output'),
]
FAMILIES = {f.name: f for f in _FAMILIES}


def get_family(name):
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError('unknown family %r; the families are %s'
                         % (name, ', '.join(sorted(FAMILIES)))) from None
