"""ImageNet and CIFAR AFF-ResNeXt in PyTorch (``gluon_aff.model_zoo.resnext`` and
``cifar_resnext``'s twins), with the MXNet checkpoints' module names."""
import math

from torch import nn

from ...core.preprocessing import CIFAR_PREPROCESS, IMAGENET_PREPROCESS
from ..base import ZooNet, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d, GlobalAvgPool
from ..registry import build_model, register_model

__all__ = ['AFFResNeXtBlock', 'AFFResNeXt', 'CIFARAFFResNeXt']

RESNEXT_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}


class AFFResNeXtBlock(nn.Module):
    """``relu(fuse(body(x), shortcut(x)))``, body = 1x1 (G) - 3x3 grouped (G, stride) -
    1x1 (4 * channels), ``G = cardinality * floor(channels * bottleneck_width / 64)``.

    ``last_gamma`` is inverted as in the original (and the MXNet side): the last BN's gamma
    starts at zero when it is False, as the released ResNeXts were trained."""

    def __init__(self, channels, in_channels, cardinality, bottleneck_width, stride,
                 downsample=False, last_gamma=False, use_se=False, avg_down=False,
                 fusion='aff', r=16, norm=BatchNorm2d):
        super().__init__()
        group_width = cardinality * int(math.floor(channels * (bottleneck_width / 64)))
        out_channels = channels * 4
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, group_width, 1, bias=False), norm(group_width), nn.ReLU(),
            nn.Conv2d(group_width, group_width, 3, stride, 1, groups=cardinality, bias=False),
            norm(group_width), nn.ReLU(),
            nn.Conv2d(group_width, out_channels, 1, bias=False), norm(out_channels))
        if not last_gamma:      # inverted on purpose (see the docstring)
            nn.init.zeros_(self.body[7].weight)
        self.se = nn.Sequential(
            nn.Conv2d(out_channels, channels // 4, 1), nn.ReLU(),
            nn.Conv2d(channels // 4, out_channels, 1), nn.Sigmoid()) if use_se else None
        self.downsample = None
        if downsample:
            layers = ([AvgPoolDown(stride), nn.Conv2d(in_channels, out_channels, 1, bias=False)]
                      if avg_down else
                      [nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)])
            self.downsample = nn.Sequential(*layers, norm(out_channels))
        self.attention = create_fusion(fusion, out_channels, r)

    def forward(self, x):
        out = self.body(x)
        if self.se is not None:
            out = out * self.se(out.mean((2, 3), keepdim=True))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.attention(out, shortcut).relu()


class _ResNeXtBase(ZooNet):
    classifier_name = 'output'

    def _add_stages(self, layers, in_channels, width, first_stride, avg_down_first, fusion,
                    start_layer, cardinality, bottleneck_width, last_gamma, use_se, r, norm):
        for i, blocks in enumerate(layers):
            stage_fusion = fusion if i + 1 >= start_layer else 'add'
            stage = []
            for j in range(blocks):
                stage.append(AFFResNeXtBlock(
                    width, in_channels, cardinality, bottleneck_width,
                    (first_stride if i == 0 else 2) if j == 0 else 1, downsample=j == 0,
                    last_gamma=last_gamma, use_se=use_se,
                    avg_down=avg_down_first if i == 0 else self.avg_down, fusion=stage_fusion,
                    r=r, norm=norm))
                in_channels = width * 4
            self.features.append(nn.Sequential(*stage))
            width *= 2
        return in_channels

    def _stem(self, x):
        for i in range(self._num_stem):
            x = self.features[i](x)
        return x

    def _stages(self):
        return [self.features[self._num_stem + i] for i in range(len(self.feature_channels))]

    def classify_map(self, m, pre_logits=False):
        x = m.mean((2, 3))
        if getattr(self, 'drop', None) is not None:
            x = self.drop(x)
        return x if pre_logits else self.output(x)


class AFFResNeXt(_ResNeXtBase):
    """AFF-ResNeXt for ImageNet; arguments as ``gluon_aff.model_zoo.AFFResNeXt``."""

    def __init__(self, fusion, start_layer, layers, cardinality=32, bottleneck_width=4,
                 classes=1000, last_gamma=False, use_se=False, deep_stem=True, avg_down=True,
                 stem_width=64, r=16, out_stages=None):
        super().__init__(out_stages)
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        self.fusion = resolve_fusion(fusion)
        self.avg_down = avg_down
        in_channels = stem_width * 2 if deep_stem else 64
        stem = (deep_stem_layers(stem_width, in_channels, 2, BatchNorm2d) if deep_stem
                else [nn.Conv2d(3, 64, 7, 2, 3, bias=False)])
        self.features = nn.Sequential(*stem, BatchNorm2d(in_channels), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        self._num_stem = len(self.features)
        self.feature_channels = (256, 512, 1024, 2048)
        in_channels = self._add_stages(layers, in_channels, 64, 1, False, self.fusion,
                                       start_layer, cardinality, bottleneck_width, last_gamma,
                                       use_se, r, BatchNorm2d)
        self.features.append(GlobalAvgPool())
        self.output = nn.Linear(in_channels, classes)
        self.total_stride = 32


class CIFARAFFResNeXt(_ResNeXtBase):
    """AFF-ResNeXt for 32x32 images; arguments as ``gluon_aff.model_zoo.CIFARAFFResNeXt``
    (every stage's first block projects with AvgPool + 1x1 + BN, stage 1 included)."""
    train_size = 32

    def __init__(self, fusion, start_layer, layers, channels=64, cardinality=32,
                 bottleneck_width=4, classes=100, deep_stem=False, last_gamma=False, r=16,
                 drop_rate=0.0, out_stages=None):
        super().__init__(out_stages)
        if len(layers) != 3:
            raise ValueError('a CIFAR ResNeXt has 3 stages, got layers=%r' % (layers,))
        self.fusion = resolve_fusion(fusion)
        self.avg_down = True
        stem = (nn.Sequential(*deep_stem_layers(channels // 2, channels, 1, BatchNorm2d))
                if deep_stem else nn.Conv2d(3, channels, 3, 1, 1, bias=False))
        self.features = nn.Sequential(stem, BatchNorm2d(channels), nn.ReLU())
        self._num_stem = 3
        self.feature_channels = (channels * 4, channels * 8, channels * 16)
        in_channels = self._add_stages(layers, channels, channels, 1, True, self.fusion,
                                       start_layer, cardinality, bottleneck_width, last_gamma,
                                       False, r, BatchNorm2d)
        self.features.append(GlobalAvgPool())
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else None
        self.output = nn.Linear(in_channels, classes)
        self.total_stride = 4


# -- CIFAR entries: cifar_{aff,iaff,add}_resnext{38,47}_32x4d ------------------------------
def _cifar_resnext(name, fusion, blocks, pretrained, kwargs):
    args = dict(fusion=fusion, start_layer=1, layers=[kwargs.pop('blocks', blocks)] * 3,
                channels=16 * kwargs.pop('channel_times', 4), cardinality=32, bottleneck_width=4)
    return build_model(name, CIFARAFFResNeXt, args, pretrained, kwargs)


@register_model('cifar_resnext', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnext38_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-38-32x4d (4 blocks per stage, base width 64), AFF in every stage."""
    return _cifar_resnext('cifar_aff_resnext38_32x4d', 'aff', 4, pretrained, kwargs)


@register_model('cifar_resnext', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnext47_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-47-32x4d (5 blocks per stage, base width 64), AFF in every stage."""
    return _cifar_resnext('cifar_aff_resnext47_32x4d', 'aff', 5, pretrained, kwargs)


@register_model('cifar_resnext', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnext38_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-38-32x4d (4 blocks per stage, base width 64), iAFF in every stage."""
    return _cifar_resnext('cifar_iaff_resnext38_32x4d', 'iaff', 4, pretrained, kwargs)


@register_model('cifar_resnext', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnext47_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-47-32x4d (5 blocks per stage, base width 64), iAFF in every stage."""
    return _cifar_resnext('cifar_iaff_resnext47_32x4d', 'iaff', 5, pretrained, kwargs)


@register_model('cifar_resnext', 'add', CIFAR_PREPROCESS)
def cifar_add_resnext38_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-38-32x4d (4 blocks per stage, base width 64), addition everywhere."""
    return _cifar_resnext('cifar_add_resnext38_32x4d', 'add', 4, pretrained, kwargs)


@register_model('cifar_resnext', 'add', CIFAR_PREPROCESS)
def cifar_add_resnext47_32x4d(pretrained=False, **kwargs):
    """CIFAR ResNeXt-47-32x4d (5 blocks per stage, base width 64), addition everywhere."""
    return _cifar_resnext('cifar_add_resnext47_32x4d', 'add', 5, pretrained, kwargs)


# -- ImageNet entries ---------------------------------------------------------------------
def _resnext(name, fusion, depth, pretrained, kwargs):
    return build_model(name, AFFResNeXt, dict(fusion=fusion, start_layer=3,
                                              layers=RESNEXT_LAYERS[depth], cardinality=32,
                                              bottleneck_width=4), pretrained, kwargs)


@register_model('imagenet_resnext', 'aff', IMAGENET_PREPROCESS)
def aff_resnext50_32x4d(pretrained=False, **kwargs):
    """AFF-ResNeXt-50-32x4d (AFF in stages 3-4); released."""
    return _resnext('aff_resnext50_32x4d', 'aff', 50, pretrained, kwargs)


@register_model('imagenet_resnext', 'iaff', IMAGENET_PREPROCESS)
def iaff_resnext50_32x4d(pretrained=False, **kwargs):
    """iAFF-ResNeXt-50-32x4d (iAFF in stages 3-4); released."""
    return _resnext('iaff_resnext50_32x4d', 'iaff', 50, pretrained, kwargs)


@register_model('imagenet_resnext', 'aff', IMAGENET_PREPROCESS)
def aff_resnext101_32x4d(pretrained=False, **kwargs):
    """AFF-ResNeXt-101-32x4d (AFF in stages 3-4)."""
    return _resnext('aff_resnext101_32x4d', 'aff', 101, pretrained, kwargs)


@register_model('imagenet_resnext', 'iaff', IMAGENET_PREPROCESS)
def iaff_resnext101_32x4d(pretrained=False, **kwargs):
    """iAFF-ResNeXt-101-32x4d (iAFF in stages 3-4)."""
    return _resnext('iaff_resnext101_32x4d', 'iaff', 101, pretrained, kwargs)
