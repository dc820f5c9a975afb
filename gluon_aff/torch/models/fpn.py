"""AFF-FPN in PyTorch (``gluon_aff.model_zoo.fpn``'s twin), the AFF paper's long-skip
scenario: a CIFAR-style ResNet-20-b bottom-up, top-down merges by the chosen fusion, a
segmentation head whose logits are at the input's resolution."""
import torch.nn.functional as F
from torch import nn

from ...core.preprocessing import SEGMENTATION_PREPROCESS
from ..base import ZooNet
from ..fusion import create_fusion, resolve_fusion
from ..layers import BatchNorm2d
from ..registry import build_model, register_model
from .cifar_resnet import AFFPreActBlock

__all__ = ['FPNResNet']


class FPNResNet(ZooNet):
    """ResNet-20-b + FPN: ``P3 = lateral(C3)``,
    ``P_i = fuse(Y = upsample(P_{i+1}), X = lateral(C_i))`` (bilinear, corners aligned, as
    MXNet's ``BilinearResize2D``), head BN-ReLU-1x1 on P1. ``out_stages`` gives the
    bottom-up maps C1..C3 instead."""
    classifier_name = 'head'
    train_size = 128

    def __init__(self, fusion, blocks, channel_times=1, classes=2, r=4, out_stages=None):
        super().__init__(out_stages)
        self.fusion = resolve_fusion(fusion)
        widths = [c * channel_times for c in (16, 16, 32, 64)]
        width = widths[1]
        self.stem = nn.Sequential(BatchNorm2d(3, fix_gamma=True, center=False),
                                  nn.Conv2d(3, widths[0], 3, 1, 1, bias=False))
        self.stages = nn.Sequential()
        self.laterals = nn.Sequential()
        in_channels = widths[0]
        for i, out in enumerate(widths[1:]):
            stage = []
            for j in range(blocks):
                stage.append(AFFPreActBlock(out, in_channels, 2 if i and not j else 1, 'add'))
                in_channels = out
            self.stages.append(nn.Sequential(*stage))
            self.laterals.append(nn.Conv2d(out, width, 1, bias=False))
        self.merges = nn.Sequential(*[create_fusion(self.fusion, width, r) for _ in range(2)])
        self.head = nn.Sequential(BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, classes, 1))
        self.feature_channels = tuple(widths[1:])
        self.total_stride = 4

    def _stem(self, x):
        return self.stem(x)

    def _stages(self):
        return list(self.stages)

    def classify_map(self, m, pre_logits=False):
        raise NotImplementedError('the FPN head merges the maps of every stage, not the last '
                                  'one alone: call the network itself for the logits')

    def forward(self, x):
        if self.out_stages:
            return super().forward(x)
        self.check_input(x)
        c = self._stage_outputs(x, 3)
        p = self.laterals[2](c[2])
        for i, merge in zip((1, 0), self.merges):
            lateral = self.laterals[i](c[i])
            up = F.interpolate(p, size=lateral.shape[2:], mode='bilinear', align_corners=True)
            p = merge(up, lateral)
        return self.head(p)


# -- zoo entries: fpn_resnet20_{aff,iaff,gau,add}_b{1,2,3,4} ---------------------------------
def _fpn_resnet20(name, fusion, blocks, pretrained, kwargs):
    return build_model(name, FPNResNet, dict(fusion=fusion, blocks=kwargs.pop('blocks', blocks)),
                       pretrained, kwargs)


@register_model('fpn_resnet', 'aff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_aff_b1(pretrained=False, **kwargs):
    """ResNet-20-1 + FPN for segmentation, top-down merges fused by AFF."""
    return _fpn_resnet20('fpn_resnet20_aff_b1', 'aff', 1, pretrained, kwargs)


@register_model('fpn_resnet', 'aff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_aff_b2(pretrained=False, **kwargs):
    """ResNet-20-2 + FPN for segmentation, top-down merges fused by AFF."""
    return _fpn_resnet20('fpn_resnet20_aff_b2', 'aff', 2, pretrained, kwargs)


@register_model('fpn_resnet', 'aff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_aff_b3(pretrained=False, **kwargs):
    """ResNet-20-3 + FPN for segmentation, top-down merges fused by AFF."""
    return _fpn_resnet20('fpn_resnet20_aff_b3', 'aff', 3, pretrained, kwargs)


@register_model('fpn_resnet', 'aff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_aff_b4(pretrained=False, **kwargs):
    """ResNet-20-4 + FPN for segmentation, top-down merges fused by AFF."""
    return _fpn_resnet20('fpn_resnet20_aff_b4', 'aff', 4, pretrained, kwargs)


@register_model('fpn_resnet', 'iaff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_iaff_b1(pretrained=False, **kwargs):
    """ResNet-20-1 + FPN for segmentation, top-down merges fused by iAFF."""
    return _fpn_resnet20('fpn_resnet20_iaff_b1', 'iaff', 1, pretrained, kwargs)


@register_model('fpn_resnet', 'iaff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_iaff_b2(pretrained=False, **kwargs):
    """ResNet-20-2 + FPN for segmentation, top-down merges fused by iAFF."""
    return _fpn_resnet20('fpn_resnet20_iaff_b2', 'iaff', 2, pretrained, kwargs)


@register_model('fpn_resnet', 'iaff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_iaff_b3(pretrained=False, **kwargs):
    """ResNet-20-3 + FPN for segmentation, top-down merges fused by iAFF."""
    return _fpn_resnet20('fpn_resnet20_iaff_b3', 'iaff', 3, pretrained, kwargs)


@register_model('fpn_resnet', 'iaff', SEGMENTATION_PREPROCESS)
def fpn_resnet20_iaff_b4(pretrained=False, **kwargs):
    """ResNet-20-4 + FPN for segmentation, top-down merges fused by iAFF."""
    return _fpn_resnet20('fpn_resnet20_iaff_b4', 'iaff', 4, pretrained, kwargs)


@register_model('fpn_resnet', 'gau', SEGMENTATION_PREPROCESS)
def fpn_resnet20_gau_b1(pretrained=False, **kwargs):
    """ResNet-20-1 + FPN for segmentation, top-down merges fused by GAU (global-only modulation)."""
    return _fpn_resnet20('fpn_resnet20_gau_b1', 'gau', 1, pretrained, kwargs)


@register_model('fpn_resnet', 'gau', SEGMENTATION_PREPROCESS)
def fpn_resnet20_gau_b2(pretrained=False, **kwargs):
    """ResNet-20-2 + FPN for segmentation, top-down merges fused by GAU (global-only modulation)."""
    return _fpn_resnet20('fpn_resnet20_gau_b2', 'gau', 2, pretrained, kwargs)


@register_model('fpn_resnet', 'gau', SEGMENTATION_PREPROCESS)
def fpn_resnet20_gau_b3(pretrained=False, **kwargs):
    """ResNet-20-3 + FPN for segmentation, top-down merges fused by GAU (global-only modulation)."""
    return _fpn_resnet20('fpn_resnet20_gau_b3', 'gau', 3, pretrained, kwargs)


@register_model('fpn_resnet', 'gau', SEGMENTATION_PREPROCESS)
def fpn_resnet20_gau_b4(pretrained=False, **kwargs):
    """ResNet-20-4 + FPN for segmentation, top-down merges fused by GAU (global-only modulation)."""
    return _fpn_resnet20('fpn_resnet20_gau_b4', 'gau', 4, pretrained, kwargs)


@register_model('fpn_resnet', 'add', SEGMENTATION_PREPROCESS)
def fpn_resnet20_add_b1(pretrained=False, **kwargs):
    """ResNet-20-1 + FPN for segmentation, top-down merges fused by addition."""
    return _fpn_resnet20('fpn_resnet20_add_b1', 'add', 1, pretrained, kwargs)


@register_model('fpn_resnet', 'add', SEGMENTATION_PREPROCESS)
def fpn_resnet20_add_b2(pretrained=False, **kwargs):
    """ResNet-20-2 + FPN for segmentation, top-down merges fused by addition."""
    return _fpn_resnet20('fpn_resnet20_add_b2', 'add', 2, pretrained, kwargs)


@register_model('fpn_resnet', 'add', SEGMENTATION_PREPROCESS)
def fpn_resnet20_add_b3(pretrained=False, **kwargs):
    """ResNet-20-3 + FPN for segmentation, top-down merges fused by addition."""
    return _fpn_resnet20('fpn_resnet20_add_b3', 'add', 3, pretrained, kwargs)


@register_model('fpn_resnet', 'add', SEGMENTATION_PREPROCESS)
def fpn_resnet20_add_b4(pretrained=False, **kwargs):
    """ResNet-20-4 + FPN for segmentation, top-down merges fused by addition."""
    return _fpn_resnet20('fpn_resnet20_add_b4', 'add', 4, pretrained, kwargs)
