"""ImageNet AFF-ResNet-D in PyTorch (``gluon_aff.model_zoo.resnet``'s twin).

Module names and ``Sequential`` indices are the MXNet checkpoint's
(``layer3.0.attention.local_att.0.weight`` ...), so released files load key by key.
"""
from torch import nn

from ...core.preprocessing import IMAGENET_PREPROCESS
from ..base import ZooNet, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d
from ..registry import build_model, register_model

__all__ = ['AFFBottleneck', 'AFFResNet', 'RESNET_LAYERS']

# The original uses [3, 4, 36, 3] for 152 (the usual one is [3, 8, 36, 3]).
RESNET_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 4, 36, 3]}


class AFFBottleneck(nn.Module):
    """``relu(fuse(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))), shortcut(x)))``;
    the shortcut projects with AvgPool + 1x1 + BN (ResNet-D) or a strided 1x1 + BN."""
    expansion = 4

    def __init__(self, planes, in_channels, stride=1, dilation=1, downsample=False,
                 avg_down=True, pool_stride=1, fusion='aff', r=16, last_gamma=False,
                 norm=BatchNorm2d):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = norm(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = norm(out_channels)
        if last_gamma:
            nn.init.zeros_(self.bn3.weight)
        self.downsample = None
        if downsample:
            layers = ([AvgPoolDown(pool_stride), nn.Conv2d(in_channels, out_channels, 1, bias=False)]
                      if avg_down else
                      [nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)])
            self.downsample = nn.Sequential(*layers, norm(out_channels))
        self.attention = create_fusion(fusion, out_channels, r)

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out)).relu()
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.attention(out, shortcut).relu()


class AFFResNet(ZooNet):
    """AFF-ResNet-D for ImageNet; arguments as ``gluon_aff.model_zoo.AFFResNet``
    (``fusion``, ``start_layer``, ``layers``, ``classes``, ``deep_stem``, ``stem_width``,
    ``avg_down``, ``last_gamma``, ``dilated``, ``final_drop``, ``use_global_stats``, ``r``,
    ``out_stages``)."""
    classifier_name = 'fc'

    def __init__(self, fusion, start_layer, layers, classes=1000, deep_stem=True,
                 stem_width=32, avg_down=True, last_gamma=False, dilated=False,
                 final_drop=0.0, use_global_stats=False, r=16, out_stages=None):
        super().__init__(out_stages)
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        self.fusion = resolve_fusion(fusion)

        def norm(c):
            return BatchNorm2d(c, use_global_stats=use_global_stats)
        channels = 2 * stem_width if deep_stem else 64
        self.conv1 = (nn.Sequential(*deep_stem_layers(stem_width, channels, 2, norm)) if deep_stem
                      else nn.Conv2d(3, 64, 7, 2, 3, bias=False))
        self.bn1 = norm(channels)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        strides = (1, 2, 1, 1) if dilated else (1, 2, 2, 2)
        dilations = (1, 1, 2, 4) if dilated else (1, 1, 1, 1)
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage_fusion = self.fusion if i + 1 >= start_layer else 'add'
            first = AFFBottleneck(planes, channels, strides[i], {1: 1, 2: 1, 4: 2}[dilations[i]],
                                  strides[i] != 1 or channels != planes * 4, avg_down,
                                  strides[i] if dilations[i] == 1 else 1, stage_fusion, r,
                                  last_gamma, norm)
            channels = planes * 4
            rest = [AFFBottleneck(planes, channels, 1, dilations[i], fusion=stage_fusion, r=r,
                                  last_gamma=last_gamma, norm=norm) for _ in range(1, blocks)]
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(first, *rest))
        self.drop = nn.Dropout(final_drop) if final_drop > 0 else None
        self.fc = nn.Linear(channels, classes)
        self.feature_channels = (256, 512, 1024, 2048)
        self.total_stride = 8 if dilated else 32

    def _stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def _stages(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def classify_map(self, m, pre_logits=False):
        x = m.mean((2, 3))
        if self.drop is not None:
            x = self.drop(x)
        return x if pre_logits else self.fc(x)


def _resnet(name, fusion, depth, pretrained, kwargs):
    return build_model(name, AFFResNet, dict(fusion=fusion, start_layer=3,
                                             layers=RESNET_LAYERS[depth]), pretrained, kwargs)


@register_model('imagenet_resnet', 'aff', IMAGENET_PREPROCESS)
def aff_resnet50(pretrained=False, **kwargs):
    """AFF-ResNet-50 (AFF in stages 3-4); released."""
    return _resnet('aff_resnet50', 'aff', 50, pretrained, kwargs)


@register_model('imagenet_resnet', 'iaff', IMAGENET_PREPROCESS)
def iaff_resnet50(pretrained=False, **kwargs):
    """iAFF-ResNet-50 (iAFF in stages 3-4); released."""
    return _resnet('iaff_resnet50', 'iaff', 50, pretrained, kwargs)


@register_model('imagenet_resnet', 'add', IMAGENET_PREPROCESS)
def resnet50_add(pretrained=False, **kwargs):
    """The host ResNet-50-D with plain addition everywhere."""
    return _resnet('resnet50_add', 'add', 50, pretrained, kwargs)


@register_model('imagenet_resnet', 'aff', IMAGENET_PREPROCESS)
def aff_resnet101(pretrained=False, **kwargs):
    """AFF-ResNet-101 (AFF in stages 3-4)."""
    return _resnet('aff_resnet101', 'aff', 101, pretrained, kwargs)


@register_model('imagenet_resnet', 'iaff', IMAGENET_PREPROCESS)
def iaff_resnet101(pretrained=False, **kwargs):
    """iAFF-ResNet-101 (iAFF in stages 3-4)."""
    return _resnet('iaff_resnet101', 'iaff', 101, pretrained, kwargs)


@register_model('imagenet_resnet', 'aff', IMAGENET_PREPROCESS)
def aff_resnet152(pretrained=False, **kwargs):
    """AFF-ResNet-152 (the original's [3, 4, 36, 3] layers)."""
    return _resnet('aff_resnet152', 'aff', 152, pretrained, kwargs)


@register_model('imagenet_resnet', 'iaff', IMAGENET_PREPROCESS)
def iaff_resnet152(pretrained=False, **kwargs):
    """iAFF-ResNet-152 (the original's [3, 4, 36, 3] layers)."""
    return _resnet('iaff_resnet152', 'iaff', 152, pretrained, kwargs)
