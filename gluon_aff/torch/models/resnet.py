"""ImageNet AFF-ResNet-D in PyTorch (``gluon_aff.model_zoo.resnet``'s twin).

Module names and ``Sequential`` indices are the MXNet checkpoint's
(``layer3.0.attention.local_att.0.weight`` ...), so released files load key by key.
"""
import torch
from torch import nn

from ..base import ZooNet, checkpoint_stages, deep_stem_layers
from ..fusion import create_fusion, resolve_fusion
from ..layers import AvgPoolDown, BatchNorm2d, DropPath, drop_path_rates
from ..registry import register_family

__all__ = ['AFFBottleneck', 'AFFResNet', 'stage_strides']


def stage_strides(output_stride):
    """``(strides, dilations, first_dilations)`` of the four stages for an output stride of
    32, 16 or 8: a stage whose stride would pass it keeps stride 1 and dilates instead,
    its first block at the previous stage's dilation (timm's ResNets; 8 is gluoncv's
    ``dilated``)."""
    if output_stride not in (8, 16, 32):
        raise ValueError('output_stride=%r: the ImageNet hosts take 8, 16 or 32'
                         % (output_stride,))
    strides, dilations, firsts = [], [], []
    stride, dilation = 4, 1
    for i in range(4):
        s = 1 if i == 0 else 2
        first = dilation
        if i and stride >= output_stride:
            dilation *= s
            s = 1
        else:
            stride *= s
        strides.append(s)
        dilations.append(dilation)
        firsts.append(first if s == 1 and i else dilation)
    return strides, dilations, firsts


class AFFBottleneck(nn.Module):
    """``relu(fuse(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))), shortcut(x)))``;
    the shortcut projects with AvgPool + 1x1 + BN (ResNet-D) or a strided 1x1 + BN. With
    stochastic depth the fused output ``z`` becomes ``shortcut + DropPath(z - shortcut)``."""
    expansion = 4

    def __init__(self, planes, in_channels, stride=1, dilation=1, downsample=False,
                 avg_down=True, pool_stride=1, fusion='aff', r=16, last_gamma=False,
                 norm=BatchNorm2d, drop_path=0.0):
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
        self.drop_path = DropPath(drop_path) if drop_path else None

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out)).relu()
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        z = self.attention(out, shortcut)
        if self.drop_path is not None:
            z = shortcut + self.drop_path(z - shortcut)
        return z.relu()


class AFFResNet(ZooNet):
    """AFF-ResNet-D for ImageNet; arguments as ``gluon_aff.model_zoo.AFFResNet``
    (``fusion``, ``start_layer``, ``layers``, ``classes``, ``deep_stem``, ``stem_width``,
    ``avg_down``, ``last_gamma``, ``dilated``, ``final_drop``, ``use_global_stats``, ``r``)
    and timm's ``drop_rate`` (``final_drop``'s timm name), ``drop_path_rate``,
    ``output_stride`` (32, 16 or 8; ``dilated=True`` is 8) and ``global_pool``."""
    classifier_name = 'fc'
    head_modules = ('fc',)
    flatten_features = False

    def __init__(self, fusion, start_layer, layers, classes=1000, deep_stem=True,
                 stem_width=32, avg_down=True, last_gamma=False, dilated=False,
                 final_drop=0.0, use_global_stats=False, r=16, drop_rate=0.0,
                 drop_path_rate=0.0, output_stride=None, global_pool='avg'):
        super().__init__()
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        if dilated and output_stride not in (None, 8):
            raise ValueError('dilated=True is output_stride=8; got output_stride=%r as well'
                             % (output_stride,))
        strides, dilations, firsts = stage_strides(output_stride or (8 if dilated else 32))
        self.fusion = resolve_fusion(fusion)

        def norm(c):
            return BatchNorm2d(c, use_global_stats=use_global_stats)
        channels = 2 * stem_width if deep_stem else 64
        self.conv1 = (nn.Sequential(*deep_stem_layers(stem_width, channels, 2, norm)) if deep_stem
                      else nn.Conv2d(3, 64, 7, 2, 3, bias=False))
        self.bn1 = norm(channels)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        rates = iter(drop_path_rates(sum(layers), drop_path_rate))
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage_fusion = self.fusion if i + 1 >= start_layer else 'add'
            stage = []
            for j in range(blocks):
                first = j == 0
                stage.append(AFFBottleneck(
                    planes, channels, strides[i] if first else 1,
                    firsts[i] if first else dilations[i],
                    first and (strides[i] != 1 or channels != planes * 4), avg_down,
                    strides[i] if dilations[i] == 1 else 1, stage_fusion, r, last_gamma, norm,
                    next(rates)))
                channels = planes * 4
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(*stage))
        self.feature_channels = (256, 512, 1024, 2048)
        self.set_feature_info(2 * stem_width if deep_stem else 64, 2, strides, pool_stride=2)
        self.init_head(channels, classes, drop_rate or final_drop, global_pool)

    def forward_stem(self, x):
        return self.relu(self.bn1(self.conv1(x)))

    def pool_stem(self, m):
        return self.maxpool(m)

    def stem_layer(self):
        return self.relu

    def stage_layers(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def forward_features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_stages([self.layer1, self.layer2, self.layer3, self.layer4], x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def classify(self, x):
        return self.fc(x)


register_family('imagenet_resnet', AFFResNet)
