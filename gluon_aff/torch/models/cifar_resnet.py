"""CIFAR pre-activation AFF-ResNet in PyTorch (``gluon_aff.model_zoo.cifar_resnet``'s twin):
depth 6b+2, with the MXNet checkpoints' module names."""
from torch import nn

from ...core.preprocessing import CIFAR_PREPROCESS
from ..base import ZooNet, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d, GlobalAvgPool
from ..registry import build_model, register_model

__all__ = ['AFFPreActBlock', 'CIFARAFFResNet']


class AFFPreActBlock(nn.Module):
    """``fuse(resfwd(x), shortcut(x))``, resfwd = BN-ReLU-3x3(stride)-BN-ReLU-3x3; the
    shortcut is AvgPool + 1x1 (no BN) when the shape changes, else the identity (an empty
    ``downsample``, as in the original). No ReLU after the fusion."""

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4, norm=BatchNorm2d):
        super().__init__()
        self.resfwd = nn.Sequential(
            norm(in_channels), nn.ReLU(), nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False),
            norm(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1, bias=False))
        self.downsample = nn.Sequential()
        if channels != in_channels or stride != 1:
            self.downsample = nn.Sequential(AvgPoolDown(stride),
                                            nn.Conv2d(in_channels, channels, 1, bias=False))
        self.attention = create_fusion(fusion, channels, r)

    def forward(self, x):
        return self.attention(self.resfwd(x), self.downsample(x))


class CIFARAFFResNet(ZooNet):
    """Pre-activation AFF-ResNet for 32x32 images; arguments as
    ``gluon_aff.model_zoo.CIFARAFFResNet``. ``features[0]`` normalises the input image
    with a BatchNorm whose gamma is fixed at 1 (MXNet's ``scale=False``) and whose beta is
    not trained but still added (``center=False``), as the original."""
    classifier_name = 'output'
    train_size = 32

    def __init__(self, fusion, start_layer, layers, channels, classes=100, deep_stem=False,
                 r=4, drop_rate=0.0, out_stages=None, block=None):
        super().__init__(out_stages)
        if len(layers) != 3 or len(channels) != 4:
            raise ValueError('a CIFAR ResNet has 3 stages: layers needs 3 entries and '
                             'channels 4, got %r and %r' % (layers, channels))
        self.fusion = resolve_fusion(fusion)
        stem = (nn.Sequential(*deep_stem_layers(channels[0] // 2, channels[0], 1, BatchNorm2d))
                if deep_stem else nn.Conv2d(3, channels[0], 3, 1, 1, bias=False))
        self.features = nn.Sequential(BatchNorm2d(3, fix_gamma=True, center=False), stem)
        in_channels = channels[0]
        for i, blocks in enumerate(layers):
            stage_fusion = self.fusion if i + 1 >= start_layer else 'add'
            stage = []
            for j in range(blocks):
                stage.append((block or AFFPreActBlock)(
                    channels[i + 1], in_channels, 2 if (i > 0 and j == 0) else 1,
                    fusion=stage_fusion, r=r))
                in_channels = channels[i + 1]
            self.features.append(nn.Sequential(*stage))
        self.features.extend([BatchNorm2d(in_channels), nn.ReLU(), GlobalAvgPool(), nn.Flatten()])
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else None
        self.output = nn.Linear(in_channels, classes)
        self.feature_channels = tuple(channels[1:])
        self.total_stride = 4

    def _stem(self, x):
        return self.features[1](self.features[0](x))

    def _stages(self):
        return [self.features[2], self.features[3], self.features[4]]

    def head_map(self, x):
        return self.features[6](self.features[5](x))        # final BN, ReLU

    def classify_map(self, m, pre_logits=False):
        x = m.mean((2, 3))
        if self.drop is not None:
            x = self.drop(x)
        return x if pre_logits else self.output(x)


# -- zoo entries: cifar_{aff,iaff,add}_resnet{20,32,44,56,110} -------------------------------
def _cifar_resnet(name, fusion, blocks, pretrained, kwargs):
    times = kwargs.pop('channel_times', 4)
    args = dict(fusion=fusion, start_layer=1, layers=[kwargs.pop('blocks', blocks)] * 3,
                channels=[c * times for c in (16, 16, 32, 64)])
    return build_model(name, CIFARAFFResNet, args, pretrained, kwargs)


@register_model('cifar_resnet', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnet20(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-20 (3 blocks per stage), AFF in every stage."""
    return _cifar_resnet('cifar_aff_resnet20', 'aff', 3, pretrained, kwargs)


@register_model('cifar_resnet', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnet32(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-32 (5 blocks per stage), AFF in every stage."""
    return _cifar_resnet('cifar_aff_resnet32', 'aff', 5, pretrained, kwargs)


@register_model('cifar_resnet', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnet44(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-44 (7 blocks per stage), AFF in every stage."""
    return _cifar_resnet('cifar_aff_resnet44', 'aff', 7, pretrained, kwargs)


@register_model('cifar_resnet', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnet56(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-56 (9 blocks per stage), AFF in every stage."""
    return _cifar_resnet('cifar_aff_resnet56', 'aff', 9, pretrained, kwargs)


@register_model('cifar_resnet', 'aff', CIFAR_PREPROCESS)
def cifar_aff_resnet110(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-110 (18 blocks per stage), AFF in every stage."""
    return _cifar_resnet('cifar_aff_resnet110', 'aff', 18, pretrained, kwargs)


@register_model('cifar_resnet', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnet20(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-20 (3 blocks per stage), iAFF in every stage."""
    return _cifar_resnet('cifar_iaff_resnet20', 'iaff', 3, pretrained, kwargs)


@register_model('cifar_resnet', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnet32(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-32 (5 blocks per stage), iAFF in every stage."""
    return _cifar_resnet('cifar_iaff_resnet32', 'iaff', 5, pretrained, kwargs)


@register_model('cifar_resnet', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnet44(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-44 (7 blocks per stage), iAFF in every stage."""
    return _cifar_resnet('cifar_iaff_resnet44', 'iaff', 7, pretrained, kwargs)


@register_model('cifar_resnet', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnet56(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-56 (9 blocks per stage), iAFF in every stage."""
    return _cifar_resnet('cifar_iaff_resnet56', 'iaff', 9, pretrained, kwargs)


@register_model('cifar_resnet', 'iaff', CIFAR_PREPROCESS)
def cifar_iaff_resnet110(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-110 (18 blocks per stage), iAFF in every stage."""
    return _cifar_resnet('cifar_iaff_resnet110', 'iaff', 18, pretrained, kwargs)


@register_model('cifar_resnet', 'add', CIFAR_PREPROCESS)
def cifar_add_resnet20(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-20 (3 blocks per stage), addition in every stage."""
    return _cifar_resnet('cifar_add_resnet20', 'add', 3, pretrained, kwargs)


@register_model('cifar_resnet', 'add', CIFAR_PREPROCESS)
def cifar_add_resnet32(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-32 (5 blocks per stage), addition in every stage."""
    return _cifar_resnet('cifar_add_resnet32', 'add', 5, pretrained, kwargs)


@register_model('cifar_resnet', 'add', CIFAR_PREPROCESS)
def cifar_add_resnet44(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-44 (7 blocks per stage), addition in every stage."""
    return _cifar_resnet('cifar_add_resnet44', 'add', 7, pretrained, kwargs)


@register_model('cifar_resnet', 'add', CIFAR_PREPROCESS)
def cifar_add_resnet56(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-56 (9 blocks per stage), addition in every stage."""
    return _cifar_resnet('cifar_add_resnet56', 'add', 9, pretrained, kwargs)


@register_model('cifar_resnet', 'add', CIFAR_PREPROCESS)
def cifar_add_resnet110(pretrained=False, **kwargs):
    """CIFAR pre-activation ResNet-110 (18 blocks per stage), addition in every stage."""
    return _cifar_resnet('cifar_add_resnet110', 'add', 18, pretrained, kwargs)
