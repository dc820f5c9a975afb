"""ImageNet AFF-ResNet: ResNet-D style bottleneck network with a fusion block in every block.

Attribute names and sequential indices follow the original ``save_parameters``
keys (``layer3.0.attention.local_att.0.weight`` ...), so the released
checkpoints load.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..nn import create_fusion, resolve_fusion
from ..core.families import RESNET_LAYERS  # noqa: F401 (re-exported)
from .base import ZooNet, deep_stem_layers, make_norm
from .registry import register_family

__all__ = ['AFFBottleneck', 'AFFResNet', 'RESNET_LAYERS']


class AFFBottleneck(HybridBlock):
    """Bottleneck block whose residual and shortcut are joined by a fusion block.

    ``out = relu(fuse(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))), shortcut(x)))``

    Parameters
    ----------
    planes : int
        Width of the 1x1/3x3 convolutions; the block outputs ``4 * planes``.
    in_channels : int
        Channels of the input.
    strides, dilation : int
        Of the 3x3 convolution.
    downsample : bool
        Whether the shortcut is projected (first block of a stage).
    avg_down : bool
        Projection as AvgPool(pool_stride, ceil_mode, count_include_pad=False)
        + 1x1 conv + norm instead of a strided 1x1 conv + norm.
    pool_stride : int
        Pool size and stride of that AvgPool (1 in stage 1 and when dilated).
    fusion : str
        Fusion type (see ``gluon_aff.nn.list_fusions``).
    r : int
        Reduction ratio of the fusion's attention (16 in the released models).
    last_gamma : bool
        Initialise ``bn3``'s gamma to zero.
    """
    expansion = 4

    def __init__(self, planes, in_channels, strides=1, dilation=1, downsample=False,
                 avg_down=True, pool_stride=1, fusion='aff', r=16, last_gamma=False,
                 norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(AFFBottleneck, self).__init__(**kwargs)
        out_channels = planes * self.expansion
        with self.name_scope():
            self.conv1 = nn.Conv2D(planes, 1, use_bias=False, in_channels=in_channels)
            self.bn1 = make_norm(norm_layer, norm_kwargs, planes)
            self.conv2 = nn.Conv2D(planes, 3, strides=strides, padding=dilation,
                                   dilation=dilation, use_bias=False, in_channels=planes)
            self.bn2 = make_norm(norm_layer, norm_kwargs, planes)
            self.conv3 = nn.Conv2D(out_channels, 1, use_bias=False, in_channels=planes)
            self.bn3 = make_norm(norm_layer, norm_kwargs, out_channels,
                                 **({'gamma_initializer': 'zeros'} if last_gamma else {}))
            if downsample:
                self.downsample = nn.HybridSequential()
                with self.downsample.name_scope():
                    if avg_down:
                        self.downsample.add(nn.AvgPool2D(pool_size=pool_stride,
                                                         strides=pool_stride, ceil_mode=True,
                                                         count_include_pad=False))
                        self.downsample.add(nn.Conv2D(out_channels, 1, use_bias=False,
                                                      in_channels=in_channels))
                    else:
                        self.downsample.add(nn.Conv2D(out_channels, 1, strides=strides,
                                                      use_bias=False, in_channels=in_channels))
                    self.downsample.add(make_norm(norm_layer, norm_kwargs, out_channels))
            else:
                self.downsample = None
            self.attention = create_fusion(fusion, out_channels, r)

    def hybrid_forward(self, F, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(self.attention(out, shortcut))


class AFFResNet(ZooNet):
    """AFF-ResNet for ImageNet (the original's ``ResNet`` with ``askc_type``).

    Parameters
    ----------
    fusion : str
        Fusion type of stages ``start_layer`` .. 4 (``aff``, ``iaff``, ``add`` or
        an original string such as ``ASKCFuse``).
    start_layer : int
        Stages whose 1-based index is below this use plain addition; 3 in the
        released models, 5 disables attention.
    layers : list of 4 int
        Blocks per stage (``RESNET_LAYERS[50]`` ...).
    classes : int, default 1000
    deep_stem : bool, default True
        Three 3x3 convolutions (stem_width, stem_width, 2*stem_width) instead of a 7x7.
    stem_width : int, default 32
    avg_down : bool, default True
        Average-pool projection shortcuts (ResNet-D).
    last_gamma : bool, default False
        Zero-initialise the last BN gamma of every block.
    dilated : bool, default False
        Stages 3 and 4 keep stride 1 and dilate (2, then 4); output stride 8.
    final_drop : float, default 0.0
        Dropout before the classifier.
    use_global_stats : bool, default False
        Freeze BN statistics of the host (not of the attention branches, as
        in the original).
    norm_layer, norm_kwargs
        Normalisation of the host convolutions (e.g. gluoncv.nn.GroupNorm).
    r : int, default 16
        Reduction ratio of the attention; other values no longer match the
        released checkpoints.
    out_stages : tuple of int, optional
        Return these stages' feature maps instead of logits.
    """
    classifier_name = 'fc'

    def __init__(self, fusion, start_layer, layers, classes=1000, deep_stem=True,
                 stem_width=32, avg_down=True, last_gamma=False, dilated=False,
                 final_drop=0.0, use_global_stats=False, norm_layer=BatchNorm,
                 norm_kwargs=None, r=16, out_stages=None, **kwargs):
        super(AFFResNet, self).__init__(out_stages=out_stages, **kwargs)
        if len(layers) != 4:
            raise ValueError('layers must give the blocks of 4 stages, got %r' % (layers,))
        fusion = resolve_fusion(fusion)
        norm_kwargs = dict(norm_kwargs or {})
        if use_global_stats:
            norm_kwargs['use_global_stats'] = True
        self.fusion = fusion
        self.total_stride = 8 if dilated else 32
        channels = 2 * stem_width if deep_stem else 64
        with self.name_scope():
            if deep_stem:
                self.conv1 = nn.HybridSequential()
                self.conv1.add(*deep_stem_layers(stem_width, 2 * stem_width, 2, norm_layer,
                                                 norm_kwargs))
            else:
                self.conv1 = nn.Conv2D(64, 7, 2, 3, use_bias=False, in_channels=3)
            self.bn1 = make_norm(norm_layer, norm_kwargs, channels)
            self.relu = nn.Activation('relu')
            self.maxpool = nn.MaxPool2D(pool_size=3, strides=2, padding=1)
            strides = (1, 2, 1, 1) if dilated else (1, 2, 2, 2)
            dilations = (1, 1, 2, 4) if dilated else (1, 1, 1, 1)
            for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
                stage = nn.HybridSequential()
                with stage.name_scope():
                    stage_fusion = fusion if i + 1 >= start_layer else 'add'
                    # first block of a dilated stage uses half the dilation (gluoncv's resnetv1b)
                    first_dilation = {1: 1, 2: 1, 4: 2}[dilations[i]]
                    stage.add(AFFBottleneck(
                        planes, channels, strides=strides[i], dilation=first_dilation,
                        downsample=strides[i] != 1 or channels != planes * 4,
                        avg_down=avg_down, pool_stride=strides[i] if dilations[i] == 1 else 1,
                        fusion=stage_fusion, r=r, last_gamma=last_gamma,
                        norm_layer=norm_layer, norm_kwargs=norm_kwargs))
                    channels = planes * 4
                    for _ in range(1, blocks):
                        stage.add(AFFBottleneck(
                            planes, channels, dilation=dilations[i], fusion=stage_fusion, r=r,
                            last_gamma=last_gamma, norm_layer=norm_layer,
                            norm_kwargs=norm_kwargs))
                setattr(self, 'layer%d' % (i + 1), stage)
            self.avgpool = nn.GlobalAvgPool2D()
            self.flat = nn.Flatten()
            self.drop = nn.Dropout(final_drop) if final_drop > 0 else None
            self.fc = nn.Dense(classes, in_units=channels)
        self.feature_channels = (256, 512, 1024, 2048)
        if self._out_indices:
            self._check_out_stages(self._out_indices)

    def forward_stem(self, F, x):
        return self.relu(self.bn1(self.conv1(x)))

    def pool_stem(self, F, m):
        return self.maxpool(m)

    def stem_layer(self):
        return self.relu

    def stage_layers(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def pool_head(self, F, m):
        x = self.flat(self.avgpool(m))
        return self.drop(x) if self.drop is not None else x

    def classify(self, F, v):
        return self.fc(v)


register_family('imagenet_resnet', AFFResNet)
