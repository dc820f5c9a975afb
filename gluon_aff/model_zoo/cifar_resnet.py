"""CIFAR AFF-ResNet: pre-activation basic blocks, depth 6b+2 (b blocks per stage)."""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion, resolve_fusion
from .base import ZooNet, deep_stem_layers, make_norm
from .registry import register_family

__all__ = ['AFFPreActBlock', 'CIFARAFFResNet']


class AFFPreActBlock(HybridBlock):
    """Pre-activation basic block joined by a fusion block (original ``AFFResBlockV2``).

    ``out = fuse(resfwd(x), shortcut(x))`` with resfwd = BN-ReLU-3x3(stride)-
    BN-ReLU-3x3 and, when the channel count (or resolution) changes, shortcut =
    AvgPool(stride, ceil_mode, count_include_pad=False) + 1x1 conv (no BN).
    No ReLU after the fusion (pre-activation).
    """

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4,
                 norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(AFFPreActBlock, self).__init__(**kwargs)
        with self.name_scope():
            self.resfwd = nn.HybridSequential()
            with self.resfwd.name_scope():
                self.resfwd.add(make_norm(norm_layer, norm_kwargs, in_channels))
                self.resfwd.add(nn.Activation('relu'))
                self.resfwd.add(nn.Conv2D(channels, 3, stride, 1, use_bias=False,
                                          in_channels=in_channels))
                self.resfwd.add(make_norm(norm_layer, norm_kwargs, channels))
                self.resfwd.add(nn.Activation('relu'))
                self.resfwd.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False,
                                          in_channels=channels))
            # An empty sequential when the shortcut is the identity, as in the original.
            self.downsample = nn.HybridSequential()
            if channels != in_channels or stride != 1:
                with self.downsample.name_scope():
                    self.downsample.add(nn.AvgPool2D(pool_size=stride, strides=stride,
                                                     ceil_mode=True, count_include_pad=False))
                    self.downsample.add(nn.Conv2D(channels, 1, use_bias=False,
                                                  in_channels=in_channels))
            self.attention = create_fusion(fusion, channels, r)

    def hybrid_forward(self, F, x):
        shortcut = self.downsample(x) if len(self.downsample) else x
        return self.attention(self.resfwd(x), shortcut)


class CIFARAFFResNet(ZooNet):
    """Pre-activation AFF-ResNet for 32x32 images (the original's ``CIFARAFFResNet``).

    ``features``: [0] BatchNorm on the input image (``scale=False,
    center=False``: gamma fixed to 1, the stored beta still added), [1] 3x3
    conv (or a deep stem), three stages, BN, ReLU, global average pooling,
    flatten; ``output``: Dense(classes).

    Parameters
    ----------
    fusion : str
    start_layer : int, default 1
        Stages below it use plain addition (4 disables attention).
    layers : list of 3 int
        Blocks per stage; depth = 2 * sum(layers) + 2 (b=5 is ResNet-32).
    channels : list of 4 int
        Stem width, then the three stages' widths; [16, 16, 32, 64] times
        channel_times (4 in the released models: [64, 64, 128, 256]).
    classes : int, default 100
    deep_stem : bool, default False
        Three 3x3 convolutions (c/2, c/2, c) with BN/ReLU between, held as one
        sequential at ``features[1]`` (no released weights use it).
    norm_layer, norm_kwargs
        Normalisation of the host (the input BN and the attention keep BatchNorm).
    r : int, default 4
    drop_rate : float, default 0
        Dropout before the classifier.
    out_stages : tuple of int, optional
    block : HybridBlock class, default AFFPreActBlock
        The residual block (``cifar_inception`` passes its Inception block).
    """
    classifier_name = 'output'
    train_size = 32

    def __init__(self, fusion, start_layer, layers, channels, classes=100, deep_stem=False,
                 norm_layer=BatchNorm, norm_kwargs=None, r=4, drop_rate=0.0, out_stages=None,
                 block=None, **kwargs):
        super(CIFARAFFResNet, self).__init__(out_stages=out_stages, **kwargs)
        if len(layers) != 3 or len(channels) != 4:
            raise ValueError('a CIFAR ResNet has 3 stages: layers needs 3 entries and '
                             'channels 4, got %r and %r' % (layers, channels))
        fusion = resolve_fusion(fusion)
        self.fusion = fusion
        self.total_stride = 4
        with self.name_scope():
            self.features = nn.HybridSequential()
            with self.features.name_scope():
                self.features.add(nn.BatchNorm(scale=False, center=False, in_channels=3))
                if deep_stem:
                    stem = nn.HybridSequential()
                    stem.add(*deep_stem_layers(channels[0] // 2, channels[0], 1, norm_layer,
                                               norm_kwargs))
                    self.features.add(stem)
                else:
                    self.features.add(nn.Conv2D(channels[0], 3, 1, 1, use_bias=False,
                                                in_channels=3))
                in_channels = channels[0]
                for i, blocks in enumerate(layers):
                    stage_fusion = fusion if i + 1 >= start_layer else 'add'
                    stage = nn.HybridSequential()
                    with stage.name_scope():
                        for j in range(blocks):
                            stride = 2 if (i > 0 and j == 0) else 1
                            stage.add((block or AFFPreActBlock)(
                                channels[i + 1], in_channels, stride, fusion=stage_fusion, r=r,
                                norm_layer=norm_layer, norm_kwargs=norm_kwargs))
                            in_channels = channels[i + 1]
                    self.features.add(stage)
                self.features.add(make_norm(norm_layer, norm_kwargs, in_channels))
                self.features.add(nn.Activation('relu'))
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else None
            self.output = nn.Dense(classes, in_units=in_channels)
        self.feature_channels = tuple(channels[1:])
        if self._out_indices:
            self._check_out_stages(self._out_indices)

    def forward_stem(self, F, x):
        return self.features[1](self.features[0](x))

    def stem_layer(self):
        return self.features[1]

    def stage_layers(self):
        return [self.features[2], self.features[3], self.features[4]]

    def head_map(self, F, x):
        return self.features[6](self.features[5](x))        # final BN, ReLU

    def pool_head(self, F, m):
        for i in range(7, len(self.features)):              # pool, flatten
            m = self.features[i](m)
        return self.drop(m) if self.drop is not None else m

    def classify(self, F, v):
        return self.output(v)


register_family('cifar_resnet', CIFARAFFResNet)
