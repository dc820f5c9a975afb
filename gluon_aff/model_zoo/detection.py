"""Faster R-CNN with a feature pyramid on the zoo's ResNet-50-D hosts (GluonCV's detector),
each top-down merge done by a fusion block: ``FusionFPN`` is GluonCV's
``FPNFeatureExpander`` (1x1 laterals, nearest upsampling, 3x3 outputs, P6 by a stride-2
convolution; what ``faster_rcnn_fpn_resnet50_v1b_coco`` uses) with ``fuse(upsampled,
lateral)`` where it computes ``lateral + upsampled``, hybridizable.

``faster_rcnn_fpn(host, fusion, classes, ...)`` builds the detector on any zoo name;
``faster_rcnn_fpn_resnet50_add``, ``faster_rcnn_fpn_aff_resnet50`` and
``faster_rcnn_fpn_iaff_resnet50`` pair each ResNet-50-D host with the same fusion in its
neck (add: GluonCV's FPN)."""
import mxnet as mx
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import get_faster_rcnn
from mxnet.gluon import HybridBlock, SymbolBlock, nn

from ..nn.registry import create_fusion, resolve_fusion
from .registry import get_model

__all__ = ['FusionFPN', 'stage_maps', 'faster_rcnn_fpn', 'faster_rcnn_fpn_resnet50_add',
           'faster_rcnn_fpn_aff_resnet50', 'faster_rcnn_fpn_iaff_resnet50']


class FusionFPN(HybridBlock):
    """``host`` (``stage_maps(zoo network)``: its stages' maps C2..C5) and GluonCV's FPN on
    them: ``P5 = conv(lat(C5))``, ``T_i = fuse(up(T_{i+1}), lat(C_i))``, ``P_i =
    conv(T_i)``, ``P6 = conv_s2(lat(C5))``; returns ``[P2, P3, P4, P5, P6]``. ``fusion``:
    a name of ``gluon_aff.nn.list_fusions()`` (``'add'``: GluonCV's sum), called with the
    upsampled map first (the wider receptive field, AFF's ``Y``)."""

    def __init__(self, host, num_filters=256, fusion='add', r=4, no_bias=False, **kwargs):
        super(FusionFPN, self).__init__(**kwargs)
        self.fusion = resolve_fusion(fusion)
        levels = len(host.channels)
        init = mx.init.Xavier(rnd_type='uniform', factor_type='in', magnitude=1.)
        with self.name_scope():
            self.host = host
            self.lateral = nn.HybridSequential(prefix='lat_')
            self.output = nn.HybridSequential(prefix='out_')
            self.fusions = nn.HybridSequential(prefix='fuse_')
            with self.lateral.name_scope(), self.output.name_scope():
                for _ in range(levels):
                    self.lateral.add(nn.Conv2D(num_filters, 1, use_bias=not no_bias,
                                               weight_initializer=init))
                    self.output.add(nn.Conv2D(num_filters, 3, padding=1,
                                              use_bias=not no_bias, weight_initializer=init))
            if self.fusion != 'add':
                with self.fusions.name_scope():
                    for _ in range(levels - 1):
                        self.fusions.add(create_fusion(self.fusion, num_filters, r))
            self.p6 = nn.Conv2D(num_filters, 3, strides=2, padding=1, use_bias=not no_bias,
                                weight_initializer=init)

    def hybrid_forward(self, F, x):
        maps = self.host(x)
        top = self.lateral[-1](maps[-1])
        outputs = [self.output[-1](top)]
        p6 = self.p6(top)
        for i in range(len(maps) - 2, -1, -1):
            lateral = self.lateral[i](maps[i])
            up = F.slice_like(F.UpSampling(top, scale=2, sample_type='nearest'), lateral,
                              axes=(2, 3))
            top = (F.ElementWiseSum(lateral, up) if self.fusion == 'add'
                   else self.fusions[i](up, lateral))
            outputs.insert(0, self.output[i](top))
        return outputs + [p6]


def stage_maps(host):
    """The stage maps of a zoo network returning them (``features_only``), as a
    ``SymbolBlock`` holding only the parameters they need, as GluonCV's feature
    extractors do: the classifier a zoo network keeps (so that released checkpoints
    load) takes no part in detection, and a hybridized detector refuses parameters its
    graph does not use. ``channels``: the maps' channels."""
    data = mx.sym.var('data')
    block = SymbolBlock(host(data), data, params=host.collect_params())
    block.channels = tuple(host.feature_channels)
    return block


def faster_rcnn_fpn(host='iaff_resnet50', fusion='iaff', classes=('object',), r=4,
                    short=800, max_size=1333, host_kwargs=None, **kwargs):
    """GluonCV's Faster R-CNN FPN (its ``faster_rcnn_fpn_resnet50_v1b_coco`` settings:
    strides 4-64, RoIAlign 7x7, two 1024-wide dense layers, RPN of 1024 channels) on
    ``FusionFPN(zoo host, fusion)``. The host's BatchNorms use their running statistics
    (``use_global_stats``, as GluonCV's detectors); ``kwargs`` go to GluonCV's
    ``FasterRCNN`` (e.g. ``rpn_test_post_nms``, ``num_sample``)."""
    base = get_model(host, features_only=True, out_indices=(1, 2, 3, 4),
                     use_global_stats=True, **(host_kwargs or {}))
    features = FusionFPN(stage_maps(base), 256, fusion=fusion, r=r, prefix='fpn_')
    box_features = nn.HybridSequential()
    for _ in range(2):
        box_features.add(nn.Dense(1024, weight_initializer=mx.init.Normal(0.01)))
        box_features.add(nn.Activation('relu'))
    options = dict(
        top_features=None, box_features=box_features, short=short, max_size=max_size,
        min_stage=2, max_stage=6, train_patterns='|'.join(
            ['.*dense', '.*rpn', '.*fpn_(lat|out|fuse)', '.*fpn_conv', '.*stage(2|3|4)']),
        nms_thresh=0.5, nms_topk=-1, post_nms=-1, roi_mode='align', roi_size=(7, 7),
        strides=(4, 8, 16, 32, 64), clip=4.14, rpn_channel=1024, base_size=16,
        scales=(2, 4, 8, 16, 32), ratios=(0.5, 1, 2), alloc_size=(384, 384),
        rpn_nms_thresh=0.7, rpn_train_pre_nms=12000, rpn_train_post_nms=2000,
        rpn_test_pre_nms=6000, rpn_test_post_nms=1000, rpn_min_size=1, num_sample=512,
        pos_iou_thresh=0.5, pos_ratio=0.25, max_num_gt=100)
    options.update(kwargs)
    return get_faster_rcnn(name='fpn_%s_%s' % (fusion, host), dataset='custom',
                           pretrained=False, features=features, classes=list(classes),
                           **options)


def faster_rcnn_fpn_resnet50_add(**kwargs):
    """Faster R-CNN FPN on the zoo's ResNet-50-D (``resnet50_add``), GluonCV's sums."""
    return faster_rcnn_fpn('resnet50_add', 'add', **kwargs)


def faster_rcnn_fpn_aff_resnet50(**kwargs):
    """Faster R-CNN FPN on ``aff_resnet50``, AFF at each top-down merge."""
    return faster_rcnn_fpn('aff_resnet50', 'aff', **kwargs)


def faster_rcnn_fpn_iaff_resnet50(**kwargs):
    """Faster R-CNN FPN on ``iaff_resnet50``, iAFF at each top-down merge."""
    return faster_rcnn_fpn('iaff_resnet50', 'iaff', **kwargs)
