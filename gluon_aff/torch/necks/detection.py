"""A small detection comparison of necks: Faster R-CNN with ``fpn_backbone(..., fusion)``
trained on ``gluon_aff.core.digit_scenes`` canvases and scored with pycocotools' COCOeval
(``benchmarks/neck_detection.py`` runs it over necks and seeds and writes the table)."""
import contextlib
import io
import time

import numpy as np
import torch
from torchvision.models.detection import FasterRCNN

from ...core.digit_scenes import CATEGORIES, digit_scenes
from .backbone import fpn_backbone

__all__ = ['scenes', 'build_detector', 'train_detector', 'evaluate_coco', 'run_neck']

METRICS = ['AP', 'AP50', 'AP75', 'AP_small', 'AP_medium', 'AP_large']


def scenes(digits, count, size, seed, first_id=1):
    """``(images as float tensors 3 x H x W in [0, 1], targets, coco)`` of
    ``digit_scenes(digits, ...)`` (``digits``: scikit-learn's ``load_digits()``)."""
    images, coco = digit_scenes(digits, count, size=size, seed=seed, first_id=first_id,
                                max_side=int(size * 0.94))
    tensors = [torch.from_numpy(im).permute(2, 0, 1).float() / 255 for im in images]
    targets = []
    for info in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                               a['bbox'][1] + a['bbox'][3]] for a in anns],
                             dtype=torch.float32).reshape(-1, 4)
        targets.append({'boxes': boxes,
                        'labels': torch.tensor([a['category_id'] for a in anns],
                                               dtype=torch.int64)})
    return tensors, targets, coco


def build_detector(fusion, backbone='resnet18', out_channels=64, size=160, seed=0,
                   **backbone_kwargs):
    """Faster R-CNN (torchvision) on ``fpn_backbone(backbone, fusion)``, images kept at
    ``size``, 10 digit classes; weights from ``seed`` (no pretrained ones: nothing is
    downloaded). Fewer proposals and sampled RoIs than torchvision's COCO defaults (a
    canvas holds at most six objects): 1000/500 proposals before/after NMS in training,
    500/200 in evaluation, 128 RoIs per image for the box head."""
    torch.manual_seed(seed)
    body = fpn_backbone(backbone, fusion=fusion, out_channels=out_channels, **backbone_kwargs)
    return FasterRCNN(body, num_classes=len(CATEGORIES) + 1, min_size=size, max_size=size,
                      box_detections_per_img=50, rpn_pre_nms_top_n_train=1000,
                      rpn_post_nms_top_n_train=500, rpn_pre_nms_top_n_test=500,
                      rpn_post_nms_top_n_test=200, box_batch_size_per_image=128)


def train_detector(model, images, targets, steps, batch=4, lr=0.02, seed=0, progress=None):
    """SGD (momentum 0.9, weight decay 1e-4), linear warm-up over the first 10% of steps,
    the rate divided by 10 at 80%; batches drawn from ``seed``. Returns the losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warm) * (0.1 if s >= 0.8 * steps else 1.0))
    rng = np.random.RandomState(seed)
    model.train()
    losses = []
    bar = progress(range(steps)) if progress else range(steps)
    for _ in bar:
        pick = rng.choice(len(images), batch, replace=False)
        loss = sum(model([images[i] for i in pick], [targets[i] for i in pick]).values())
        if not torch.isfinite(loss):
            raise FloatingPointError('the detector\'s loss is %s at step %d: lower lr '
                                     '(now %g)' % (float(loss), len(losses), lr))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return losses


def evaluate_coco(model, images, coco, batch=8):
    """COCOeval's box metrics of ``model`` on ``images`` (``METRICS``: AP over IoU
    0.5:0.95, AP50, AP75, AP of small, medium and large objects; -1 where a size has no
    object)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    model.eval()
    found = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            out = model(images[start:start + batch])
            for info, det in zip(coco['images'][start:start + batch], out):
                for box, score, label in zip(det['boxes'].tolist(), det['scores'].tolist(),
                                             det['labels'].tolist()):
                    found.append({'image_id': info['id'], 'category_id': int(label),
                                  'bbox': [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                                  'score': float(score)})
    if not found:
        return dict.fromkeys(METRICS, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = coco
        truth.createIndex()
        result = COCOeval(truth, truth.loadRes(found), 'bbox')
        result.evaluate()
        result.accumulate()
        result.summarize()
    return dict(zip(METRICS, [float(v) for v in result.stats[:6]]))


def run_neck(fusion, seed, train, val, steps, batch=4, lr=0.02, size=160, progress=None,
             **detector_kwargs):
    """Build, train and score one detector; ``train``/``val``: ``scenes(...)`` results.
    Returns the metrics with ``seconds`` (training) and ``final_loss``."""
    model = build_detector(fusion, size=size, seed=seed, **detector_kwargs)
    start = time.time()
    losses = train_detector(model, train[0], train[1], steps, batch, lr, seed, progress)
    seconds = time.time() - start
    metrics = evaluate_coco(model, val[0], val[2])
    return dict(metrics, seconds=seconds, final_loss=float(np.mean(losses[-20:])))
