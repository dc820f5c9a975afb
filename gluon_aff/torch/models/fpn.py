"""AFF-FPN in PyTorch (``gluon_aff.model_zoo.fpn``'s twin), the AFF paper's long-skip
scenario: a CIFAR-style ResNet-20-b bottom-up, top-down merges by the chosen fusion, a
segmentation head whose logits are at the input's resolution."""
from typing import List

import torch
from torch import nn

from ..base import ZooNet
from ..fusion import create_fusion, resolve_fusion
from ..layers import BatchNorm2d, drop_path_rates, upsample_like
from ..registry import register_family
from .cifar_resnet import AFFPreActBlock

__all__ = ['FPNResNet']


class FPNResNet(ZooNet):
    """ResNet-20-b + FPN: ``P3 = lateral(C3)``,
    ``P_i = fuse(Y = upsample(P_{i+1}), X = lateral(C_i))`` (bilinear, corners aligned, as
    MXNet's ``BilinearResize2D``), head BN-ReLU-1x1 on P1: logits of shape
    (N, classes, H, W). A segmentation network: no pooling, no ``forward_head``;
    ``features_only`` gives the bottom-up maps. timm's ``drop_path_rate`` acts on the
    bottom-up blocks."""
    classifier_name = 'head'
    head_modules = ('laterals', 'merges', 'head')
    train_size = 128

    def __init__(self, fusion, blocks, channel_times=1, classes=2, r=4, drop_path_rate=0.0):
        super().__init__()
        if classes < 1:
            raise ValueError('a segmentation network needs classes >= 1, got %r' % (classes,))
        self.fusion = resolve_fusion(fusion)
        widths = [c * channel_times for c in (16, 16, 32, 64)]
        width = widths[1]
        self.stem = nn.Sequential(BatchNorm2d(3, fix_gamma=True, center=False,
                                              update_stats=False),
                                  nn.Conv2d(3, widths[0], 3, 1, 1, bias=False))
        self.stages = nn.Sequential()
        self.laterals = nn.ModuleList()
        in_channels = widths[0]
        rates = iter(drop_path_rates(3 * blocks, drop_path_rate))
        for i, out in enumerate(widths[1:]):
            stage = []
            for j in range(blocks):
                stage.append(AFFPreActBlock(out, in_channels, 2 if i and not j else 1, 'add',
                                            drop_path=next(rates)))
                in_channels = out
            self.stages.append(nn.Sequential(*stage))
            self.laterals.append(nn.Conv2d(out, width, 1, bias=False))
        self.merges = nn.ModuleList([create_fusion(self.fusion, width, r) for _ in range(2)])
        self.head = nn.Sequential(BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, classes, 1))
        self.feature_channels = tuple(widths[1:])
        self.set_feature_info(widths[0], 1, (1, 2, 2))
        self.num_classes = classes
        self.num_features, self.head_hidden_size = self.feature_channels[-1], width

    def forward_stem(self, x):
        return self.stem(x)

    def stem_layer(self):
        return self.stem[1]

    def stage_layers(self):
        return list(self.stages)

    def forward_features(self, x):
        return self.stages(self.stem(x))

    def forward_head(self, x, pre_logits: bool = False):
        raise NotImplementedError('the FPN head merges the maps of every stage, not the last '
                                  'one alone: call the network itself for the logits')

    def forward(self, x):
        if not torch.jit.is_scripting():
            self.check_input(x)
        x = self.stem(x)
        c: List[torch.Tensor] = []
        for stage in self.stages:
            x = stage(x)
            c.append(x)
        lateral: List[torch.Tensor] = []
        for i, conv in enumerate(self.laterals):
            lateral.append(conv(c[i]))
        p = lateral[2]
        for k, merge in enumerate(self.merges):
            p = merge(upsample_like(p, lateral[1 - k]), lateral[1 - k])
        return self.head(p)

    def get_classifier(self):
        return self.head[2]

    @torch.jit.unused
    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        """The bottom-up stages after the last of ``indices`` become ``nn.Identity``; the
        segmentation head stays (it has no pooling or classifier to prune alone)."""
        return super().prune_intermediate_layers(indices, prune_norm, prune_head=False)

    def reset_classifier(self, num_classes, global_pool=None):
        """A fresh last 1x1 convolution with ``num_classes`` outputs (same key)."""
        if global_pool is not None or not num_classes:
            raise ValueError('%s segments images: its head keeps the map (no global_pool) and '
                             'needs num_classes >= 1' % self.zoo_name)
        old = self.head[2]
        self.head[2] = nn.Conv2d(old.in_channels, num_classes, 1).to(old.weight.device,
                                                                     old.weight.dtype)
        self.num_classes = num_classes
        return self.head[2]


register_family('fpn_resnet', FPNResNet)
