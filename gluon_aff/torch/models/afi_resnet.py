"""AFI-ResNets and their plain baselines in PyTorch (``gluon_aff.model_zoo.afi_resnet``'s
twin): CIFAR ResNet-(6N+2) v1 with basic blocks, ImageNet ResNet-50/152 v1 with
bottlenecks."""
from torch import nn

from ...core.preprocessing import CIFAR_PREPROCESS, IMAGENET_PREPROCESS
from ..fusion import AFI
from ..layers import BatchNorm2d
from ..registry import build_model, register_model
from .afi_common import AFIClassifier, AFIStage, afi_widths, contribution, conv_bn, group_concat

__all__ = ['AFIBasicBlock', 'AFIBottleneck', 'AFIResNet']


class _AFIBlock(nn.Module):
    """First conv (+BN+ReLU) -> [concat AFI(earlier)] -> body -> + shortcut."""
    groups = 1
    later_stride = 1    # a stride applied after the first convolution

    def _init_first(self, width, feature_width, afi_r, in_channels, kernel, stride):
        self.width, self.feature_width = width, feature_width
        self.conv1 = nn.Conv2d(in_channels, width, kernel, stride, kernel // 2, bias=False)
        self.bn1 = BatchNorm2d(width)
        self.afi = AFI(feature_width, afi_r) if afi_r else None
        return width + (feature_width if afi_r else 0)

    def _first(self, x, features):
        h = self.bn1(self.conv1(x)).relu()
        feature = contribution(h, self.feature_width, self.width, self.later_stride)
        if self.afi is not None:
            h = group_concat(h, self.afi(*features), self.groups)
        return h, feature


class AFIBasicBlock(_AFIBlock):
    """3x3 conv -> BN -> ReLU [-> concat AFI] -> 3x3 conv -> BN, + shortcut, ReLU."""

    def __init__(self, channels, in_channels, stride, index, setting):
        super().__init__()
        width, feature_width, afi_r = afi_widths(channels, index, setting)
        mid = self._init_first(width, feature_width, afi_r, in_channels, 3, stride)
        self.conv2 = nn.Conv2d(mid, channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(channels)
        self.downsample = (conv_bn(in_channels, channels, 1, stride)
                           if stride != 1 or in_channels != channels else None)

    def forward(self, x, *features):
        h, feature = self._first(x, features)
        out = self.bn2(self.conv2(h))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return (out + shortcut).relu(), feature


class AFIBottleneck(_AFIBlock):
    """1x1 -> BN -> ReLU [-> concat AFI] -> 3x3 (stride, groups) -> BN -> ReLU -> 1x1 -> BN,
    + shortcut, ReLU; ``width``/``groups`` as ``gluon_aff.model_zoo.AFIBottleneck``."""

    def __init__(self, channels, in_channels, stride, index, setting, width=None, groups=1):
        super().__init__()
        planes = width or channels // 4
        first, feature_width, afi_r = afi_widths(planes, index, setting)
        self.groups, self.later_stride = groups, stride
        mid = self._init_first(first, feature_width, afi_r, in_channels, 1, 1)
        self.conv2 = nn.Conv2d(mid, planes, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, channels, 1, bias=False)
        self.bn3 = BatchNorm2d(channels)
        self.downsample = (conv_bn(in_channels, channels, 1, stride)
                           if stride != 1 or in_channels != channels else None)

    def forward(self, x, *features):
        h, feature = self._first(x, features)
        out = self.bn2(self.conv2(h)).relu()
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return (out + shortcut).relu(), feature


class AFIResNet(AFIClassifier):
    """ResNet v1 with AFI blocks (or plain, ``setting=None``); arguments as
    ``gluon_aff.model_zoo.AFIResNet``."""

    def __init__(self, block, layers, channels, setting=None, cifar=True, classes=100,
                 stage_kwargs=None, out_stages=None):
        super().__init__(out_stages)
        self.setting = setting
        self.total_stride = (1 if cifar else 4) * 2 ** (len(layers) - 1)
        stem = [nn.Conv2d(3, channels[0], 3, 1, 1, bias=False) if cifar else
                nn.Conv2d(3, channels[0], 7, 2, 3, bias=False), BatchNorm2d(channels[0]),
                nn.ReLU()]
        self.stem = nn.Sequential(*stem, *([] if cifar else [nn.MaxPool2d(3, 2, 1)]))
        self.stages = nn.Sequential()
        in_channels = channels[0]
        for i, (n, out) in enumerate(zip(layers, channels[1:])):
            blocks = []
            for j in range(n):
                blocks.append(block(out, in_channels, 2 if j == 0 and i > 0 else 1, j, setting,
                                    **(stage_kwargs[i] if stage_kwargs else {})))
                in_channels = out
            self.stages.append(AFIStage(*blocks))
        self.output = nn.Linear(in_channels, classes)
        self.feature_channels = tuple(channels[1:])


# -- zoo entries: cifar_{,afi_}resnet{32,110}{,_b}, afi_resnet{50,50_b,152} ------------------
def _cifar_afi_resnet(name, setting, blocks, pretrained, kwargs):
    args = dict(block=AFIBasicBlock, layers=[kwargs.pop('blocks', None) or blocks] * 3,
                channels=[16, 16, 32, 64], setting=setting, cifar=True)
    return build_model(name, AFIResNet, args, pretrained, kwargs)


def _afi_resnet(name, setting, layers, pretrained, kwargs):
    args = dict(block=AFIBottleneck, layers=kwargs.pop('layers', layers),
                channels=[64, 256, 512, 1024, 2048], setting=setting, cifar=False)
    return build_model(name, AFIResNet, args, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'add', CIFAR_PREPROCESS)
def cifar_resnet32(pretrained=False, **kwargs):
    """CIFAR ResNet-32 v1 (16/32/64 channels), plain (the baseline)."""
    return _cifar_afi_resnet('cifar_resnet32', None, 5, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnet32(pretrained=False, **kwargs):
    """CIFAR ResNet-32 v1 (16/32/64 channels), AFI setting A (r=4)."""
    return _cifar_afi_resnet('cifar_afi_resnet32', 'A', 5, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnet32_b(pretrained=False, **kwargs):
    """CIFAR ResNet-32 v1 (16/32/64 channels), AFI setting B (r=16)."""
    return _cifar_afi_resnet('cifar_afi_resnet32_b', 'B', 5, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'add', CIFAR_PREPROCESS)
def cifar_resnet110(pretrained=False, **kwargs):
    """CIFAR ResNet-110 v1 (16/32/64 channels), plain (the baseline)."""
    return _cifar_afi_resnet('cifar_resnet110', None, 18, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnet110(pretrained=False, **kwargs):
    """CIFAR ResNet-110 v1 (16/32/64 channels), AFI setting A (r=4)."""
    return _cifar_afi_resnet('cifar_afi_resnet110', 'A', 18, pretrained, kwargs)


@register_model('cifar_afi_resnet', 'afi', CIFAR_PREPROCESS)
def cifar_afi_resnet110_b(pretrained=False, **kwargs):
    """CIFAR ResNet-110 v1 (16/32/64 channels), AFI setting B (r=16)."""
    return _cifar_afi_resnet('cifar_afi_resnet110_b', 'B', 18, pretrained, kwargs)


@register_model('imagenet_afi_resnet', 'afi', IMAGENET_PREPROCESS)
def afi_resnet50(pretrained=False, **kwargs):
    """ImageNet ResNet-50 v1 with AFI setting A (r=4)."""
    return _afi_resnet('afi_resnet50', 'A', [3, 4, 6, 3], pretrained, kwargs)


@register_model('imagenet_afi_resnet', 'afi', IMAGENET_PREPROCESS)
def afi_resnet50_b(pretrained=False, **kwargs):
    """ImageNet ResNet-50 v1 with AFI setting B (r=16)."""
    return _afi_resnet('afi_resnet50_b', 'B', [3, 4, 6, 3], pretrained, kwargs)


@register_model('imagenet_afi_resnet', 'afi', IMAGENET_PREPROCESS)
def afi_resnet152(pretrained=False, **kwargs):
    """ImageNet ResNet-152 v1 with AFI setting A (r=4)."""
    return _afi_resnet('afi_resnet152', 'A', [3, 8, 36, 3], pretrained, kwargs)
