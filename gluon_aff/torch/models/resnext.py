"""ImageNet AFF-ResNeXt in PyTorch (``gluon_aff.model_zoo.resnext``'s twin), with the MXNet
checkpoints' module names."""
import math

import torch
from torch import nn

from ..base import ZooNet, checkpoint_stages, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d, DropPath, drop_path_rates, spatial_mean
from ..registry import register_family
from .resnet import stage_strides

__all__ = ['AFFResNeXtBlock', 'AFFResNeXt', 'ResNeXtFeatures']


class AFFResNeXtBlock(nn.Module):
    """``relu(fuse(body(x), shortcut(x)))``, body = 1x1 (G) - 3x3 grouped (G, stride) -
    1x1 (4 * channels), ``G = cardinality * floor(channels * bottleneck_width / 64)``.

    ``last_gamma`` is inverted as in the original (and the MXNet side): the last BN's gamma
    starts at zero when it is False, as the released ResNeXts were trained. With stochastic
    depth the fused output ``z`` becomes ``shortcut + DropPath(z - shortcut)``."""

    def __init__(self, channels, in_channels, cardinality, bottleneck_width, stride,
                 downsample=False, last_gamma=False, use_se=False, avg_down=False,
                 fusion='aff', r=16, norm=BatchNorm2d, dilation=1, pool_stride=None,
                 drop_path=0.0):
        super().__init__()
        group_width = cardinality * int(math.floor(channels * (bottleneck_width / 64)))
        out_channels = channels * 4
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, group_width, 1, bias=False), norm(group_width), nn.ReLU(),
            nn.Conv2d(group_width, group_width, 3, stride, dilation, dilation,
                      groups=cardinality, bias=False),
            norm(group_width), nn.ReLU(),
            nn.Conv2d(group_width, out_channels, 1, bias=False), norm(out_channels))
        if not last_gamma:      # inverted on purpose (see the docstring)
            nn.init.zeros_(self.body[7].weight)
        self.se = nn.Sequential(
            nn.Conv2d(out_channels, channels // 4, 1), nn.ReLU(),
            nn.Conv2d(channels // 4, out_channels, 1), nn.Sigmoid()) if use_se else None
        self.downsample = None
        if downsample:
            layers = ([AvgPoolDown(stride if pool_stride is None else pool_stride),
                       nn.Conv2d(in_channels, out_channels, 1, bias=False)]
                      if avg_down else
                      [nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)])
            self.downsample = nn.Sequential(*layers, norm(out_channels))
        self.attention = create_fusion(fusion, out_channels, r)
        self.drop_path = DropPath(drop_path) if drop_path else None

    def forward(self, x):
        out = self.body(x)
        if self.se is not None:
            out = out * self.se(spatial_mean(out, [2, 3], True))
        shortcut = self.downsample(x) if self.downsample is not None else x
        z = self.attention(out, shortcut)
        if self.drop_path is not None:
            z = shortcut + self.drop_path(z - shortcut)
        return z.relu()


class ResNeXtFeatures(ZooNet):
    """What the ImageNet and CIFAR ResNeXts share: ``features`` holds the stem
    (``_num_stem`` layers, the last of them a max-pool when ``stem_pooled``) and the
    stages; ``output`` is the classifier."""
    classifier_name = 'output'
    head_modules = ('output',)
    stem_pooled = False

    def _add_stages(self, layers, in_channels, width, strides, dilations, firsts,
                    avg_down_first, fusion, start_layer, cardinality, bottleneck_width,
                    last_gamma, use_se, r, norm, drop_path_rate):
        rates = iter(drop_path_rates(sum(layers), drop_path_rate))
        for i, blocks in enumerate(layers):
            stage_fusion = fusion if i + 1 >= start_layer else 'add'
            stage = []
            for j in range(blocks):
                stage.append(AFFResNeXtBlock(
                    width, in_channels, cardinality, bottleneck_width,
                    strides[i] if j == 0 else 1, downsample=j == 0, last_gamma=last_gamma,
                    use_se=use_se, avg_down=avg_down_first if i == 0 else self.avg_down,
                    fusion=stage_fusion, r=r, norm=norm,
                    dilation=firsts[i] if j == 0 else dilations[i],
                    pool_stride=strides[i] if dilations[i] == 1 else 1,
                    drop_path=next(rates)))
                in_channels = width * 4
            self.features.append(nn.Sequential(*stage))
            width *= 2
        return in_channels

    def forward_stem(self, x):
        for i, layer in enumerate(self.features):
            if i < self._stem_map:
                x = layer(x)
        return x

    def pool_stem(self, m):
        return self.features[self._num_stem - 1](m) if self.stem_pooled else m

    def stem_layer(self):
        return self.features[self._stem_map - 1]

    def stage_layers(self):
        return [self.features[self._num_stem + i] for i in range(len(self.feature_channels))]

    def forward_features(self, x):
        if self.grad_checkpointing and not torch.jit.is_scripting():
            for i, layer in enumerate(self.features):
                if i < self._num_stem:
                    x = layer(x)
            return checkpoint_stages(self.stage_layers(), x)
        return self.features(x)

    def classify(self, x):
        return self.output(x)

    @property
    def _stem_map(self):
        return self._num_stem - 1 if self.stem_pooled else self._num_stem


class AFFResNeXt(ResNeXtFeatures):
    """AFF-ResNeXt for ImageNet; arguments as ``gluon_aff.model_zoo.AFFResNeXt``, and timm's
    ``drop_rate``, ``drop_path_rate``, ``output_stride`` (32, 16 or 8, by dilation as
    timm's ResNets) and ``global_pool``."""
    stem_pooled = True
    __jit_unused_properties__ = ZooNet.__jit_unused_properties__ + ['_stem_map']

    def __init__(self, fusion, start_layer, layers, cardinality=32, bottleneck_width=4,
                 classes=1000, last_gamma=False, use_se=False, deep_stem=True, avg_down=True,
                 stem_width=64, r=16, drop_rate=0.0, drop_path_rate=0.0, output_stride=None,
                 global_pool='avg'):
        super().__init__()
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        strides, dilations, firsts = stage_strides(output_stride or 32)
        self.fusion = resolve_fusion(fusion)
        self.avg_down = avg_down
        in_channels = stem_width * 2 if deep_stem else 64
        stem = (deep_stem_layers(stem_width, in_channels, 2, BatchNorm2d) if deep_stem
                else [nn.Conv2d(3, 64, 7, 2, 3, bias=False)])
        self.features = nn.Sequential(*stem, BatchNorm2d(in_channels), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        self._num_stem = len(self.features)
        self.feature_channels = (256, 512, 1024, 2048)
        in_channels = self._add_stages(layers, in_channels, 64, strides, dilations, firsts,
                                       False, self.fusion, start_layer, cardinality,
                                       bottleneck_width, last_gamma, use_se, r, BatchNorm2d,
                                       drop_path_rate)
        self.set_feature_info(stem_width * 2 if deep_stem else 64, 2, strides, pool_stride=2)
        self.init_head(in_channels, classes, drop_rate, global_pool)


register_family('imagenet_resnext', AFFResNeXt)
