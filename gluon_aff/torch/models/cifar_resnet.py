"""CIFAR pre-activation AFF-ResNet in PyTorch (``gluon_aff.model_zoo.cifar_resnet``'s twin):
depth 6b+2, with the MXNet checkpoints' module names."""
import torch
from torch import nn

from ..base import ZooNet, checkpoint_stages, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d, DropPath, drop_path_rates
from ..registry import register_family

__all__ = ['AFFPreActBlock', 'CIFARAFFResNet']


class AFFPreActBlock(nn.Module):
    """``fuse(resfwd(x), shortcut(x))``, resfwd = BN-ReLU-3x3(stride)-BN-ReLU-3x3; the
    shortcut is AvgPool + 1x1 (no BN) when the shape changes, else the identity (an empty
    ``downsample``, as in the original). No ReLU after the fusion. With stochastic depth
    the fused output ``z`` becomes ``shortcut + DropPath(z - shortcut)``."""

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4, norm=BatchNorm2d,
                 drop_path=0.0):
        super().__init__()
        self.resfwd = nn.Sequential(
            norm(in_channels), nn.ReLU(), nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False),
            norm(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1, bias=False))
        self.downsample = nn.Sequential()
        if channels != in_channels or stride != 1:
            self.downsample = nn.Sequential(AvgPoolDown(stride),
                                            nn.Conv2d(in_channels, channels, 1, bias=False))
        self.attention = create_fusion(fusion, channels, r)
        self.drop_path = DropPath(drop_path) if drop_path else None

    def forward(self, x):
        shortcut = self.downsample(x)
        z = self.attention(self.resfwd(x), shortcut)
        if self.drop_path is not None:
            z = shortcut + self.drop_path(z - shortcut)
        return z


class CIFARAFFResNet(ZooNet):
    """Pre-activation AFF-ResNet for 32x32 images; arguments as
    ``gluon_aff.model_zoo.CIFARAFFResNet``, and timm's ``drop_path_rate`` and
    ``global_pool``. ``features``: [0] a BatchNorm normalising the input image, whose gamma
    is fixed at 1 (MXNet's ``scale=False``) and whose beta is not trained but still added
    (``center=False``), as the original's, and whose statistics, like MXNet's, never update
    (no gradient reaches it); [1] the stem; [2-4] the stages; [5-6] the final BN-ReLU."""
    classifier_name = 'output'
    head_modules = ('features.5', 'output')
    train_size = 32

    def __init__(self, fusion, start_layer, layers, channels, classes=100, deep_stem=False,
                 r=4, drop_rate=0.0, block=None, drop_path_rate=0.0, global_pool='avg'):
        super().__init__()
        if len(layers) != 3 or len(channels) != 4:
            raise ValueError('a CIFAR ResNet has 3 stages: layers needs 3 entries and '
                             'channels 4, got %r and %r' % (layers, channels))
        self.fusion = resolve_fusion(fusion)
        stem = (nn.Sequential(*deep_stem_layers(channels[0] // 2, channels[0], 1, BatchNorm2d))
                if deep_stem else nn.Conv2d(3, channels[0], 3, 1, 1, bias=False))
        self.features = nn.Sequential(
            BatchNorm2d(3, fix_gamma=True, center=False, update_stats=False), stem)
        in_channels = channels[0]
        rates = iter(drop_path_rates(sum(layers), drop_path_rate))
        for i, blocks in enumerate(layers):
            stage_fusion = self.fusion if i + 1 >= start_layer else 'add'
            stage = []
            for j in range(blocks):
                stage.append((block or AFFPreActBlock)(
                    channels[i + 1], in_channels, 2 if (i > 0 and j == 0) else 1,
                    fusion=stage_fusion, r=r, drop_path=next(rates)))
                in_channels = channels[i + 1]
            self.features.append(nn.Sequential(*stage))
        self.features.extend([BatchNorm2d(in_channels), nn.ReLU()])
        self.feature_channels = tuple(channels[1:])
        self.set_feature_info(channels[0], 1, (1, 2, 2))
        self.init_head(in_channels, classes, drop_rate, global_pool)

    def forward_stem(self, x):
        return self.features[1](self.features[0](x))

    def stem_layer(self):
        return self.features[1]

    def stage_layers(self):
        return [self.features[2], self.features[3], self.features[4]]

    def forward_features(self, x):
        x = self.features[1](self.features[0](x))
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_stages([self.features[2], self.features[3], self.features[4]], x)
        return self.features[4](self.features[3](self.features[2](x)))

    def head_map(self, x):
        return self.features[6](self.features[5](x))        # final BN, ReLU

    def classify(self, x):
        return self.output(x)


register_family('cifar_resnet', CIFARAFFResNet)
