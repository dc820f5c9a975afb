"""What the AFI networks share: the two settings and the stage that passes features on.

Every AFI building block follows one protocol: ``block(x, *earlier) -> (out, feature)``
where ``earlier`` are the features the earlier blocks of the same stage contributed
and ``feature`` (None: nothing) is the block's own contribution: the output of its first
convolution (after BN and ReLU), the map whose width the AFI module works at.

Setting ``'A'`` (AFI-Network, r = 4): in blocks 2..n of a stage the first
convolution produces half its usual width w/2, the AFI module fuses the earlier
features (w/2 channels each) and its output is concatenated with the first
convolution's, so the second convolution sees its usual w input channels.
Setting ``'B'`` (AFI-Network-B, r = 16): widths unchanged, the AFI output (w
channels) is concatenated, so the second convolution takes 2w input channels.
The first block of a stage has no earlier features and is a plain block; in
setting A it contributes the first w/2 channels of its first convolution's output
(no extra parameters), in setting B all w; where its stride comes after that
convolution, the contribution is average-pooled to the stage's resolution.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..core.afi_layout import AFI_SETTINGS, afi_widths  # noqa: F401 (the families import them here)
from ..nn.channels import concat_channels, interleave_groups
from .base import ZooNet

__all__ = ['AFI_SETTINGS', 'afi_widths', 'AFIStage', 'AFIClassifier', 'contribution',
           'group_concat', 'conv_bn', 'conv_bn_relu']


def contribution(F, h, feature_width, width, stride=1):
    """The part of a first-convolution output ``h`` (``width`` channels) that a block
    passes on to the AFI modules of later blocks: its first ``feature_width`` channels
    and, when the block's stride comes after its first convolution (the stage's first
    block), average-pooled by that stride to the stage's resolution."""
    if stride > 1:
        h = F.Pooling(h, kernel=(stride, stride), stride=(stride, stride), pool_type='avg',
                      pooling_convention='full')
    if feature_width is not None and feature_width != width:
        h = F.slice_axis(h, axis=1, begin=0, end=feature_width)
    return h


def group_concat(F, h, fused, groups):
    """Concatenate two maps of equal width for a convolution with ``groups`` groups so
    that group g sees group g of ``h`` followed by group g of ``fused`` (for 1 group,
    plain concatenation)."""
    if groups == 1:
        return concat_channels(F, h, fused)
    return interleave_groups(F, h, fused, groups)


def conv_bn(channels, kernel, stride, in_channels, groups=1):
    """Conv (same padding, no bias) -> BN, as one sequential: shortcuts and ShuffleNet's
    units."""
    seq = nn.HybridSequential(prefix='')
    seq.add(nn.Conv2D(channels, kernel, stride, kernel // 2, groups=groups, use_bias=False,
                      in_channels=in_channels),
            nn.BatchNorm(in_channels=channels))
    return seq


def conv_bn_relu(channels, kernel, in_channels):
    """Conv (stride 1) -> BN -> ReLU: the CIFAR stems and the last 1x1 of
    MobileNetV2/ShuffleNetV2."""
    seq = conv_bn(channels, kernel, 1, in_channels)
    seq.add(nn.Activation('relu'))
    return seq


class AFIClassifier(ZooNet):
    """Head and stage access shared by the AFINets: ``stem``, ``stages`` (AFIStage each),
    optional ``last`` (a final 1x1 conv), ``pool``, ``output``."""
    classifier_name = 'output'
    last = None

    stem_pooled = False     # the ImageNet AFI-ResNet's stem ends with a max-pool

    def forward_stem(self, F, x):
        for i in range(len(self.stem) - (1 if self.stem_pooled else 0)):
            x = self.stem[i](x)
        return x

    def pool_stem(self, F, m):
        return self.stem[len(self.stem) - 1](m) if self.stem_pooled else m

    def stem_layer(self):
        return self.stem[len(self.stem) - (2 if self.stem_pooled else 1)]

    def stage_layers(self):
        return list(self.stages)

    def head_map(self, F, x):
        return self.last(x) if self.last is not None else x

    def pool_head(self, F, m):
        return F.flatten(self.pool(m))

    def classify(self, F, v):
        return self.output(v)


class AFIStage(HybridBlock):
    """A stage of AFI building blocks: block i receives the features of blocks 1..i-1."""

    def __init__(self, **kwargs):
        super(AFIStage, self).__init__(**kwargs)

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def __len__(self):
        return len(self._children)

    def hybrid_forward(self, F, x):
        features = []
        for block in self._children.values():
            x, feature = block(x, *features)
            if feature is not None:
                features.append(feature)
        return x
