"""fpn_backbone under torchvision's detectors: Faster R-CNN, Mask R-CNN and RetinaNet
build on it, take a training step with finite losses and return boxes in eval mode, on a
zoo name and on one of timm's own; the backbone keeps torchvision's contract
(``out_channels``, an OrderedDict of maps named '0', '1', ... and the extra levels)."""
import pytest
import torch
from torchvision.models.detection import FasterRCNN, MaskRCNN, RetinaNet
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

from gluon_aff import torch as twin
from gluon_aff.torch.necks import AFFFPN, fpn_backbone

# the zoo's iAFF-ResNet-50 at its smallest (one block a stage), timm's resnet18
BACKBONES = {'zoo': ('iaff_resnet50', dict(layers=[1, 1, 1, 1], stem_width=8)),
             'timm': ('resnet18', {})}
SMALL = dict(box_detections_per_img=5, rpn_post_nms_top_n_test=50)


def _targets(masks=False, n=2, size=64):
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        xy = torch.randint(0, size // 2, (2, 2), generator=g).float()
        boxes = torch.cat([xy, xy + torch.randint(8, size // 2, (2, 2), generator=g)], 1)
        t = {'boxes': boxes, 'labels': torch.tensor([1, 2])}
        if masks:
            m = torch.zeros(2, size, size, dtype=torch.uint8)
            for i, (x0, y0, x1, y1) in enumerate(boxes.int().tolist()):
                m[i, y0:y1, x0:x1] = 1
            t['masks'] = m
        out.append(t)
    return out


def _step_and_detect(model, masks=False):
    torch.manual_seed(0)
    images = [torch.rand(3, 64, 64) for _ in range(2)]
    model.train()
    losses = model(images, _targets(masks))
    total = sum(losses.values())
    assert all(torch.isfinite(v) for v in losses.values()), losses
    total.backward()
    grads = [p.grad for p in model.backbone.fpn.fusions.parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert len(detections) == 2 and all(d['boxes'].shape[-1] == 4 for d in detections)
    return losses


@pytest.mark.parametrize('which', ['zoo', 'timm'])
def test_the_backbone_keeps_torchvisions_contract(which):
    name, kwargs = BACKBONES[which]
    backbone = fpn_backbone(name, fusion='iaff', out_channels=32, **kwargs)
    assert backbone.out_channels == 32 and isinstance(backbone.fpn, AFFFPN)
    out = backbone(torch.rand(1, 3, 64, 64))
    assert list(out) == ['0', '1', '2', '3', 'pool']
    assert [tuple(v.shape) for v in out.values()] == [(1, 32, 64 // s, 64 // s)
                                                      for s in (4, 8, 16, 32, 64)]


@pytest.mark.parametrize('which', ['zoo', 'timm'])
def test_faster_rcnn_trains_a_step_and_detects(which):
    name, kwargs = BACKBONES[which]
    model = FasterRCNN(fpn_backbone(name, out_channels=32, **kwargs), num_classes=3,
                       min_size=64, max_size=64, **SMALL)
    losses = _step_and_detect(model)
    assert {'loss_classifier', 'loss_box_reg', 'loss_objectness'} <= set(losses)


def test_mask_rcnn_trains_a_step_and_detects():
    name, kwargs = BACKBONES['zoo']
    model = MaskRCNN(fpn_backbone(name, fusion='aff', out_channels=32, **kwargs),
                     num_classes=3, min_size=64, max_size=64, **SMALL)
    assert 'loss_mask' in _step_and_detect(model, masks=True)


def test_retinanet_on_p3_to_p7_trains_a_step_and_detects():
    name, kwargs = BACKBONES['timm']
    backbone = fpn_backbone(name, out_channels=32, out_indices=(2, 3, 4),
                            extra_blocks=LastLevelP6P7(32, 32), **kwargs)
    assert list(backbone(torch.rand(1, 3, 64, 64))) == ['0', '1', '2', 'p6', 'p7']
    model = RetinaNet(backbone, num_classes=3, min_size=64, max_size=64, detections_per_img=5)
    assert 'classification' in _step_and_detect(model)


def test_trainable_layers_freeze_the_first_stages_as_torchvision():
    name, kwargs = BACKBONES['timm']
    frozen = fpn_backbone(name, out_channels=32, trainable_layers=2, **kwargs)
    trained = {n.split('.')[1] for n, p in frozen.named_parameters()
               if p.requires_grad and n.startswith('body.')}
    assert trained == {'layer3', 'layer4'}
    assert all(p.requires_grad for p in frozen.fpn.parameters())
    assert all(p.requires_grad for p in fpn_backbone(name, out_channels=32).parameters())
    with pytest.raises(ValueError, match='trainable_layers=6: this backbone has 5 stages'):
        fpn_backbone(name, trainable_layers=6)
    with pytest.raises(ValueError, match="'iaff_resnet_50' is not a timm model name; close: "
                                         "iaff_resnet50"):
        fpn_backbone('iaff_resnet_50')
    assert twin.list_fusions()      # the fusion names fpn_backbone takes
