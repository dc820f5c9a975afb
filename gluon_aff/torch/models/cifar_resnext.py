"""CIFAR AFF-ResNeXt in PyTorch (``gluon_aff.model_zoo.cifar_resnext``'s twin), with the
MXNet checkpoints' module names."""
from torch import nn

from ..base import ZooNet, deep_stem_layers
from ..fusion import resolve_fusion
from ..layers import BatchNorm2d
from ..registry import register_family
from .resnext import ResNeXtFeatures

__all__ = ['CIFARAFFResNeXt']


class CIFARAFFResNeXt(ResNeXtFeatures):
    """AFF-ResNeXt for 32x32 images; arguments as ``gluon_aff.model_zoo.CIFARAFFResNeXt``
    (every stage's first block projects with AvgPool + 1x1 + BN, stage 1 included), and
    timm's ``drop_path_rate`` and ``global_pool``."""
    train_size = 32
    __jit_unused_properties__ = ZooNet.__jit_unused_properties__ + ['_stem_map']

    def __init__(self, fusion, start_layer, layers, channels=64, cardinality=32,
                 bottleneck_width=4, classes=100, deep_stem=False, last_gamma=False, r=16,
                 drop_rate=0.0, drop_path_rate=0.0, global_pool='avg'):
        super().__init__()
        if len(layers) != 3:
            raise ValueError('a CIFAR ResNeXt has 3 stages, got layers=%r' % (layers,))
        self.fusion = resolve_fusion(fusion)
        self.avg_down = True
        stem = (nn.Sequential(*deep_stem_layers(channels // 2, channels, 1, BatchNorm2d))
                if deep_stem else nn.Conv2d(3, channels, 3, 1, 1, bias=False))
        self.features = nn.Sequential(stem, BatchNorm2d(channels), nn.ReLU())
        self._num_stem = 3
        self.feature_channels = (channels * 4, channels * 8, channels * 16)
        in_channels = self._add_stages(layers, channels, channels, (1, 2, 2), (1, 1, 1),
                                       (1, 1, 1), True, self.fusion, start_layer, cardinality,
                                       bottleneck_width, last_gamma, False, r, BatchNorm2d,
                                       drop_path_rate)
        self.set_feature_info(channels, 1, (1, 2, 2))
        self.init_head(in_channels, classes, drop_rate, global_pool)


register_family('cifar_resnext', CIFARAFFResNeXt)
