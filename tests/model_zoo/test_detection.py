"""Faster R-CNN FPN (GluonCV's detector) on the zoo's ResNet-50-D hosts with add, AFF and
iAFF merges: each builds, hybridizes, takes a training step (GluonCV's RPN targets, the
RPN and R-CNN losses) with finite losses and gradients reaching the fusion blocks, and
detects in inference; the pyramid's levels are at strides 4-64 and each merge is the
fusion of the upsampled and the lateral map."""
import numpy as np
import pytest

import gluon_aff.model_zoo  # noqa: F401,I100  (MXNet on numpy 2 first)
import mxnet as mx
from mxnet import autograd, gluon
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetGenerator

from gluon_aff.model_zoo import detection

SMALL = dict(short=128, max_size=128, host_kwargs=dict(layers=[1, 1, 1, 1], stem_width=8),
             rpn_test_post_nms=50, rpn_test_pre_nms=256, rpn_train_pre_nms=256,
             rpn_train_post_nms=64, num_sample=32)
CONSTRUCTORS = {'add': detection.faster_rcnn_fpn_resnet50_add,
                'aff': detection.faster_rcnn_fpn_aff_resnet50,
                'iaff': detection.faster_rcnn_fpn_iaff_resnet50}


@pytest.mark.parametrize('fusion', ['add', 'aff', 'iaff'])
def test_faster_rcnn_fpn_trains_a_step_and_detects(fusion):
    mx.random.seed(0)
    net = CONSTRUCTORS[fusion](classes=['a', 'b'], **SMALL)
    net.initialize()
    net.hybridize()
    x = mx.nd.random.uniform(shape=(1, 3, 128, 128))
    gt_box = mx.nd.array([[[10, 10, 60, 70], [50, 40, 120, 100]]])
    gt_label = mx.nd.array([[[0], [1]]])
    fusion_params = [p for k, p in net.collect_params().items() if '_fuse_' in k]
    assert bool(fusion_params) == (fusion != 'add')
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.01})
    with autograd.record():
        out = net(x, gt_box, gt_label)
        cls_pred, box_pred, raw_rpn_score, raw_rpn_box, anchors = (out[0], out[1], out[5],
                                                                   out[6], out[7])
        cls_targets, box_targets, box_masks = out[8], out[9], out[10]
        all_anchors = mx.nd.concat(*[a.reshape((-1, 4)) for a in anchors], dim=0)
        rpn_cls, rpn_box, rpn_mask = [mx.nd.array(t) for t in RPNTargetGenerator()(
            gt_box[0], all_anchors, 128, 128)]
        valid = (rpn_cls >= 0).reshape((1, -1, 1))
        losses = [
            gluon.loss.SigmoidBinaryCrossEntropyLoss()(
                raw_rpn_score, (rpn_cls > 0).reshape((1, -1, 1)), valid).mean(),
            gluon.loss.HuberLoss()(raw_rpn_box * rpn_mask.expand_dims(0),
                                   rpn_box.expand_dims(0) * rpn_mask.expand_dims(0)).mean(),
            gluon.loss.SoftmaxCrossEntropyLoss()(cls_pred, cls_targets,
                                                 cls_targets >= 0).mean(),
            gluon.loss.HuberLoss()(box_pred * box_masks, box_targets * box_masks).mean()]
        total = mx.nd.add_n(*losses)
    total.backward()
    trainer.step(1, ignore_stale_grad=True)
    assert all(np.isfinite(v.asscalar()) for v in losses), [v.asscalar() for v in losses]
    grads = [p.grad() for p in fusion_params if p.grad_req != 'null']
    assert all(np.isfinite(g.asnumpy()).all() for g in grads)
    assert fusion == 'add' or any(float(g.abs().sum().asscalar()) > 0 for g in grads)
    net.hybridize()         # a new graph for one input, as GluonCV's validation does
    ids, scores, boxes = net(x)
    assert boxes.shape == (1, 100, 4) and np.isfinite(boxes.asnumpy()).all()


def test_the_pyramid_levels_and_a_merge_by_hand():
    from gluon_aff.model_zoo import get_model
    host = get_model('aff_resnet50', features_only=True, out_indices=(1, 2, 3, 4),
                     layers=[1, 1, 1, 1], stem_width=8)
    maps = detection.stage_maps(host)
    assert maps.channels == tuple(host.feature_channels)
    fpn = detection.FusionFPN(maps, 16, fusion='aff')
    fpn.initialize()
    x = mx.nd.random.uniform(shape=(1, 3, 96, 128))
    levels = fpn(x)
    # P6: a 3x3 stride-2 convolution padded by 1 on P5 (3 x 4): ceil(3 / 2) x 4 / 2
    assert [p.shape for p in levels] == [(1, 16, 96 // s, 128 // s) for s in (4, 8, 16, 32)
                                         ] + [(1, 16, 2, 2)]
    c = maps(x)
    top = fpn.lateral[3](c[3])
    lateral = fpn.lateral[2](c[2])
    up = mx.nd.UpSampling(top, scale=2, sample_type='nearest')[:, :, :lateral.shape[2],
                                                                  :lateral.shape[3]]
    want = fpn.output[2](fpn.fusions[2](up, lateral))
    np.testing.assert_allclose(levels[2].asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown fusion type 'afff'"):
        detection.FusionFPN(maps, 16, fusion='afff')
