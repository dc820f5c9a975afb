"""ImageNet AFF-ResNeXt (32x4d): grouped bottleneck blocks joined by a fusion block."""
import math

from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion, resolve_fusion
from ..core.families import RESNEXT_LAYERS  # noqa: F401 (re-exported)
from .base import ZooNet, deep_stem_layers, make_norm
from .registry import register_family

__all__ = ['AFFResNeXtBlock', 'AFFResNeXt', 'RESNEXT_LAYERS']


class AFFResNeXtBlock(HybridBlock):
    """ResNeXt bottleneck whose body and shortcut are joined by a fusion block.

    ``out = relu(fuse(body(x), shortcut(x)))``, body = 1x1 (G) - 3x3 grouped
    (G, ``cardinality`` groups, stride) - 1x1 (4*channels), with
    ``G = cardinality * floor(channels * bottleneck_width / 64)``.

    Parameters
    ----------
    channels : int
        Base width of the stage; the block outputs ``4 * channels``.
    in_channels : int
    cardinality, bottleneck_width : int
    stride : int
    downsample : bool
        Project the shortcut (first block of each stage).
    last_gamma : bool
        Faithful to the original and inverted: the last BN's gamma starts at
        zero when this is **False**. Neither original training script passes
        it, so released ResNeXts were trained with that gamma starting at zero.
    use_se : bool
        Squeeze-and-excitation on the body output (gluoncv's form).
    avg_down : bool
        AvgPool + 1x1 projection instead of a strided 1x1.
    fusion : str
    r : int
        Reduction ratio of the fusion (16 in the original).
    """

    def __init__(self, channels, in_channels, cardinality, bottleneck_width, stride,
                 downsample=False, last_gamma=False, use_se=False, avg_down=False,
                 fusion='aff', r=16, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(AFFResNeXtBlock, self).__init__(**kwargs)
        group_width = cardinality * int(math.floor(channels * (bottleneck_width / 64)))
        out_channels = channels * 4
        with self.name_scope():
            self.body = nn.HybridSequential()
            with self.body.name_scope():
                self.body.add(nn.Conv2D(group_width, 1, use_bias=False, in_channels=in_channels))
                self.body.add(make_norm(norm_layer, norm_kwargs, group_width))
                self.body.add(nn.Activation('relu'))
                self.body.add(nn.Conv2D(group_width, 3, strides=stride, padding=1,
                                        groups=cardinality, use_bias=False,
                                        in_channels=group_width))
                self.body.add(make_norm(norm_layer, norm_kwargs, group_width))
                self.body.add(nn.Activation('relu'))
                self.body.add(nn.Conv2D(out_channels, 1, use_bias=False, in_channels=group_width))
                # Inverted flag kept on purpose (see the class docstring).
                self.body.add(make_norm(norm_layer, norm_kwargs, out_channels,
                                        **({} if last_gamma else {'gamma_initializer': 'zeros'})))
            if use_se:
                self.se = nn.HybridSequential()
                with self.se.name_scope():
                    self.se.add(nn.Conv2D(channels // 4, 1, in_channels=out_channels))
                    self.se.add(nn.Activation('relu'))
                    self.se.add(nn.Conv2D(out_channels, 1, in_channels=channels // 4))
                    self.se.add(nn.Activation('sigmoid'))
            else:
                self.se = None
            if downsample:
                self.downsample = nn.HybridSequential()
                with self.downsample.name_scope():
                    if avg_down:
                        self.downsample.add(nn.AvgPool2D(pool_size=stride, strides=stride,
                                                         ceil_mode=True,
                                                         count_include_pad=False))
                        self.downsample.add(nn.Conv2D(out_channels, 1, use_bias=False,
                                                      in_channels=in_channels))
                    else:
                        self.downsample.add(nn.Conv2D(out_channels, 1, strides=stride,
                                                      use_bias=False, in_channels=in_channels))
                    self.downsample.add(make_norm(norm_layer, norm_kwargs, out_channels))
            else:
                self.downsample = None
            self.attention = create_fusion(fusion, out_channels, r)

    def hybrid_forward(self, F, x):
        out = self.body(x)
        if self.se is not None:
            out = F.broadcast_mul(out, self.se(F.contrib.AdaptiveAvgPooling2D(out, output_size=1)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(self.attention(out, shortcut))


class AFFResNeXt(ZooNet):
    """AFF-ResNeXt for ImageNet (the original's ``ResNext`` with ``askc_type``).

    ``features``: stem (deep: 3x3 s2 64, 3x3 64, 3x3 128, each BN+ReLU; else
    7x7 s2 64 + BN + ReLU), MaxPool, four stages (base width 64, 128, 256,
    512; stride 1, 2, 2, 2; stage 1 projects without average pooling), global
    average pooling; ``output``: Dense(classes).

    Parameters
    ----------
    fusion : str
    start_layer : int
        Stages below it use plain addition (3 in the released models).
    layers : list of 4 int
    cardinality : int, default 32
    bottleneck_width : int, default 4
    classes : int, default 1000
    last_gamma : bool, default False
        Inverted as in the original, see ``AFFResNeXtBlock``.
    use_se : bool, default False
    deep_stem : bool, default True
    avg_down : bool, default True
    stem_width : int, default 64
    norm_layer, norm_kwargs
        Normalisation of the host (attention branches keep BatchNorm).
    r : int, default 16
    out_stages : tuple of int, optional
    """
    classifier_name = 'output'

    def __init__(self, fusion, start_layer, layers, cardinality=32, bottleneck_width=4,
                 classes=1000, last_gamma=False, use_se=False, deep_stem=True, avg_down=True,
                 stem_width=64, norm_layer=BatchNorm, norm_kwargs=None, r=16,
                 out_stages=None, **kwargs):
        super(AFFResNeXt, self).__init__(out_stages=out_stages, **kwargs)
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        fusion = resolve_fusion(fusion)
        self.fusion = fusion
        self.total_stride = 32
        with self.name_scope():
            self.features = nn.HybridSequential()
            with self.features.name_scope():
                if deep_stem:
                    self.features.add(*deep_stem_layers(stem_width, stem_width * 2, 2, norm_layer,
                                                 norm_kwargs))
                    in_channels = stem_width * 2
                else:
                    self.features.add(nn.Conv2D(64, 7, 2, 3, use_bias=False, in_channels=3))
                    in_channels = 64
                self.features.add(make_norm(norm_layer, norm_kwargs, in_channels))
                self.features.add(nn.Activation('relu'))
                self.features.add(nn.MaxPool2D(3, 2, 1))
                self._num_stem = len(self.features)
                channels = 64
                for i, blocks in enumerate(layers):
                    stride = 1 if i == 0 else 2
                    stage_fusion = fusion if i + 1 >= start_layer else 'add'
                    stage = nn.HybridSequential()
                    with stage.name_scope():
                        for j in range(blocks):
                            stage.add(AFFResNeXtBlock(
                                channels, in_channels, cardinality, bottleneck_width,
                                stride if j == 0 else 1, downsample=j == 0,
                                last_gamma=last_gamma, use_se=use_se,
                                avg_down=avg_down and i > 0, fusion=stage_fusion, r=r,
                                norm_layer=norm_layer, norm_kwargs=norm_kwargs))
                            in_channels = channels * 4
                    self.features.add(stage)
                    channels *= 2
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=in_channels)
        self.feature_channels = (256, 512, 1024, 2048)
        if self._out_indices:
            self._check_out_stages(self._out_indices)

    def forward_stem(self, F, x):
        for i in range(self._num_stem - 1):
            x = self.features[i](x)
        return x

    def pool_stem(self, F, m):
        return self.features[self._num_stem - 1](m)        # the max-pool

    def stem_layer(self):
        return self.features[self._num_stem - 2]

    def stage_layers(self):
        return [self.features[self._num_stem + i] for i in range(4)]

    def pool_head(self, F, m):
        return F.flatten(self.features[len(self.features) - 1](m))

    def classify(self, F, v):
        return self.output(v)


register_family('imagenet_resnext', AFFResNeXt)
