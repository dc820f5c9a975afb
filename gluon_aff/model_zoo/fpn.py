"""AFF-FPN (the AFF paper's long-skip scenario): a CIFAR-style ResNet-20-b bottom-up, an
FPN top-down path whose merges use the chosen fusion, a segmentation head.

Bottom-up: input BN, 3x3 stem, three stages of b pre-activation blocks (plain addition
inside) with widths 16/32/64 times channel_times (1 by default), strides 1/2/2, so
the first stage is at input resolution. Top-down: P3 = lateral(C3);
P_i = fuse(Y = bilinear_upsample(P_{i+1}), X = lateral(C_i)) for i = 2, 1, lateral a
1x1 convolution to the FPN width (the first stage's). Head: BN-ReLU-1x1 to the classes
on P1, so the logits are at the input's resolution: (N, classes, H, W).
"""
import contextlib

from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion, resolve_fusion
from .base import ZooNet
from .cifar_resnet import AFFPreActBlock
from ..core.preprocessing import SEGMENTATION_PREPROCESS
from .registry import register_family

__all__ = ['FPNResNet', 'SEGMENTATION_PREPROCESS']

class FPNResNet(ZooNet):
    """ResNet-20-b + FPN with fused merges, for semantic segmentation.

    Parameters
    ----------
    fusion : str
        Fusion of the top-down merges (any registered name).
    blocks : int
        Blocks per stage (b).
    channel_times : int, default 1
    classes : int, default 2
    r : int, default 4
    out_stages : tuple of int, optional
        Return these bottom-up stages' maps (C1..C3) instead of the segmentation logits.
    """
    classifier_name = 'head'
    train_size = 128
    _resize_to = None   # fixed upsampling sizes while exported (fixed_input_size)

    def __init__(self, fusion, blocks, channel_times=1, classes=2, r=4, out_stages=None,
                 **kwargs):
        super(FPNResNet, self).__init__(out_stages=out_stages, **kwargs)
        self.fusion = resolve_fusion(fusion)
        widths = [c * channel_times for c in (16, 16, 32, 64)]
        width = widths[1]
        self.total_stride = 4
        with self.name_scope():
            self.stem = nn.HybridSequential(prefix='stem_')
            self.stem.add(nn.BatchNorm(scale=False, center=False, in_channels=3),
                          nn.Conv2D(widths[0], 3, 1, 1, use_bias=False, in_channels=3))
            self.stages = nn.HybridSequential(prefix='')
            self.laterals = nn.HybridSequential(prefix='lateral_')
            in_channels = widths[0]
            for i, out in enumerate(widths[1:]):
                stage = nn.HybridSequential(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    for j in range(blocks):
                        stage.add(AFFPreActBlock(out, in_channels, 2 if i and not j else 1,
                                                 fusion='add'))
                        in_channels = out
                self.stages.add(stage)
                self.laterals.add(nn.Conv2D(width, 1, use_bias=False, in_channels=out))
            self.merges = nn.HybridSequential(prefix='merge_')
            for _ in range(2):
                self.merges.add(create_fusion(self.fusion, width, r))
            self.head = nn.HybridSequential(prefix='head_')
            self.head.add(BatchNorm(in_channels=width), nn.Activation('relu'),
                          nn.Conv2D(classes, 1, in_channels=width))
        self.feature_channels = tuple(widths[1:])

    def forward_stem(self, F, x):
        return self.stem(x)

    def stem_layer(self):
        return self.stem[1]

    def stage_layers(self):
        return list(self.stages)

    def pool_head(self, F, m):
        raise NotImplementedError('the FPN head merges the maps of every stage, not the last '
                                  "one alone: call the network itself for the logits")

    def hybrid_forward(self, F, x):
        if self._out_indices:            # the bottom-up stages' maps, as every zoo backbone
            return super(FPNResNet, self).hybrid_forward(F, x)
        c = []
        h = self.stem(x)
        for stage in self.stages:
            h = stage(h)
            c.append(h)
        p = self.laterals[2](c[2])
        for k, (i, merge) in enumerate(zip((1, 0), self.merges)):
            lateral = self.laterals[i](c[i])
            if self._resize_to:
                height, width = self._resize_to[k]
                up = F.contrib.BilinearResize2D(p, height=height, width=width)
            else:
                up = F.contrib.BilinearResize2D(p, lateral, mode='like')
            p = merge(up, lateral)
        return self.head(p)

    @contextlib.contextmanager
    def fixed_input_size(self, input_shape):
        """Upsample to the sizes an input of ``input_shape`` gives (ONNX has no resize to
        another tensor's size); the export uses it."""
        h, w = input_shape[2:]
        half = (-(-h // 2), -(-w // 2))         # 3x3 convolutions with stride 2, padding 1
        self._resize_to = (half, (h, w))
        self._clear_cached_op()
        try:
            yield self
        finally:
            self._resize_to = None
            self._clear_cached_op()


register_family('fpn_resnet', FPNResNet)
