"""CIFAR AFF-ResNeXt (32x4d): depth 9b+2, the ImageNet block on a 3x3 stem."""
from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm

from ..nn import resolve_fusion
from .base import ZooNet, deep_stem_layers, make_norm
from .registry import register_family
from .resnext import AFFResNeXtBlock

__all__ = ['CIFARAFFResNeXt']


class CIFARAFFResNeXt(ZooNet):
    """AFF-ResNeXt for 32x32 images (the original's ``CIFARAFFResNeXt``).

    ``features``: [0] 3x3 conv (base width), [1] BN, [2] ReLU, three stages
    (base widths w, 2w, 4w; strides 1, 2, 2; every stage's first block
    projects with AvgPool + 1x1 + BN, stage 1 included), global average
    pooling; ``output``: Dense(classes). b blocks per stage give depth 9b+2
    (b=4: ResNeXt-38, b=5: ResNeXt-47).

    Parameters
    ----------
    fusion : str
    start_layer : int, default 1
    layers : list of 3 int
    channels : int, default 64
        Base width w (16 * channel_times; 64 in the released models).
    cardinality : int, default 32
        The original training script uses 64 when the base width is 128.
    bottleneck_width : int, default 4
    classes : int, default 100
    deep_stem : bool, default False
        Three 3x3 convolutions (w/2, w/2, w) held as one sequential at
        ``features[0]`` (no released weights use it).
    last_gamma : bool, default False
        Inverted as in the ImageNet block (``AFFResNeXtBlock``).
    drop_rate : float, default 0
        Dropout before the classifier.
    norm_layer, norm_kwargs, r (default 16), out_stages
    """
    classifier_name = 'output'
    train_size = 32

    def __init__(self, fusion, start_layer, layers, channels=64, cardinality=32,
                 bottleneck_width=4, classes=100, deep_stem=False, last_gamma=False,
                 norm_layer=BatchNorm, norm_kwargs=None, r=16, drop_rate=0.0, out_stages=None,
                 **kwargs):
        super(CIFARAFFResNeXt, self).__init__(out_stages=out_stages, **kwargs)
        if len(layers) != 3:
            raise ValueError('a CIFAR ResNeXt has 3 stages, got layers=%r' % (layers,))
        fusion = resolve_fusion(fusion)
        self.fusion = fusion
        self.total_stride = 4
        with self.name_scope():
            self.features = nn.HybridSequential()
            with self.features.name_scope():
                if deep_stem:
                    stem = nn.HybridSequential()
                    stem.add(*deep_stem_layers(channels // 2, channels, 1, norm_layer, norm_kwargs))
                    self.features.add(stem)
                else:
                    self.features.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False,
                                                in_channels=3))
                self.features.add(make_norm(norm_layer, norm_kwargs, channels))
                self.features.add(nn.Activation('relu'))
                in_channels = channels
                width = channels
                for i, blocks in enumerate(layers):
                    stage_fusion = fusion if i + 1 >= start_layer else 'add'
                    stage = nn.HybridSequential()
                    with stage.name_scope():
                        for j in range(blocks):
                            stage.add(AFFResNeXtBlock(
                                width, in_channels, cardinality, bottleneck_width,
                                (1 if i == 0 else 2) if j == 0 else 1, downsample=j == 0,
                                last_gamma=last_gamma, avg_down=True, fusion=stage_fusion,
                                r=r, norm_layer=norm_layer, norm_kwargs=norm_kwargs))
                            in_channels = width * 4
                    self.features.add(stage)
                    width *= 2
                self.features.add(nn.GlobalAvgPool2D())
            self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else None
            self.output = nn.Dense(classes, in_units=in_channels)
        self.feature_channels = (channels * 4, channels * 8, channels * 16)
        if self._out_indices:
            self._check_out_stages(self._out_indices)

    def forward_stem(self, F, x):
        for i in range(3):
            x = self.features[i](x)
        return x

    def stem_layer(self):
        return self.features[2]

    def stage_layers(self):
        return [self.features[3], self.features[4], self.features[5]]

    def pool_head(self, F, m):
        x = F.flatten(self.features[6](m))
        return self.drop(x) if self.drop is not None else x

    def classify(self, F, v):
        return self.output(v)


register_family('cifar_resnext', CIFARAFFResNeXt)
