"""train_seg.py on a generated COCO-format StopSign set (octagons at several scales,
polygon annotations, distractor categories)."""
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gluon_aff.train.seg import confusion, main, scores

CATEGORIES = [{'id': 13, 'name': 'stop sign'}, {'id': 11, 'name': 'fire hydrant'},
              {'id': 10, 'name': 'traffic light'}]


def _octagon(cx, cy, r):
    angles = np.pi / 8 + np.arange(8) * np.pi / 4
    return [float(v) for a in angles for v in (cx + r * np.cos(a), cy + r * np.sin(a))]


def make_coco(folder, n=40, size=64, seed=0, stop_sign=True):
    """n images; most hold a red octagon ('stop sign', radius 5-18 px) and a distractor
    (blue disc or green square of similar size), on a noisy background."""
    rng = np.random.RandomState(seed)
    images, anns = [], []
    os.makedirs(os.path.join(folder, 'train2017'), exist_ok=True)
    for i in range(n):
        canvas = Image.fromarray(rng.randint(60, 200, (size, size, 3)).astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        objects = [('stop', 13)] if (stop_sign and i % 5) else []
        objects.append(('disc', 11) if rng.rand() < 0.5 else ('square', 10))
        for kind, cat in objects:
            r = rng.uniform(5, 18)
            cx, cy = rng.uniform(r, size - r, 2)
            if kind == 'stop':
                poly = _octagon(cx, cy, r)
                draw.polygon(poly, fill=(200 + rng.randint(40), rng.randint(40), rng.randint(40)))
            elif kind == 'disc':
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(30, 60, 210))
                poly = _octagon(cx, cy, r)
            else:
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=(40, 190, 50))
                poly = [cx - r, cy - r, cx + r, cy - r, cx + r, cy + r, cx - r, cy + r]
            xs, ys = poly[0::2], poly[1::2]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cat, iscrowd=0,
                             segmentation=[poly], area=float(np.pi * r * r),
                             bbox=[min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]))
        name = '%012d.jpg' % (i + 1)
        canvas.save(os.path.join(folder, 'train2017', name), quality=95)
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    os.makedirs(os.path.join(folder, 'annotations'), exist_ok=True)
    cats = CATEGORIES if stop_sign else CATEGORIES[1:]
    path = os.path.join(folder, 'annotations', 'instances_train2017.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return path


def test_scores_of_a_confusion_matrix():
    pred = np.array([[0, 1], [1, 1]])
    label = np.array([[0, 1], [0, 1]])
    conf = confusion(pred, label)
    assert conf.tolist() == [[1, 1], [0, 2]]
    s = scores(conf)
    assert s['pixel_acc'] == 0.75 and s['fg_iou'] == pytest.approx(2 / 3)
    assert s['miou'] == pytest.approx((0.5 + 2 / 3) / 2)


def test_train_seg_learns_generated_stop_signs(tmp_path):
    make_coco(str(tmp_path / 'coco'), n=60)
    argv = ['--coco-root', str(tmp_path / 'coco'), '--input-size', '64', '--batch-size', '8',
            '--num-epochs', '12', '--val-fraction', '0.25', '--progress', 'off',
            '--model', 'fpn_resnet20_aff_b1', '--save-dir', str(tmp_path / 'params'),
            '--logging-dir', str(tmp_path / 'logs')]
    assert main(argv) == 0
    with open(str(tmp_path / 'params' / 'stopsign-fpn_resnet20_aff_b1-history.json')) as f:
        history = json.load(f)
    assert len(history) == 12
    best = max(h['fg_iou'] for h in history)
    assert best >= 0.5, [round(h['fg_iou'], 3) for h in history]
    assert history[-1]['lr'] < history[0]['lr']                       # poly schedule
    assert os.path.isfile(str(tmp_path / 'params' / 'stopsign-fpn_resnet20_aff_b1-best.params'))
    log = open(str(tmp_path / 'logs' / 'train_stopsign-fpn_resnet20_aff_b1.log')).read()
    assert 'stop-sign IoU' in log and 'mIoU' in log


def test_train_seg_errors(tmp_path, capsys):
    assert main(['--num-epochs', '1']) == 2
    assert '--coco-root' in capsys.readouterr().err
    assert main(['--coco-root', str(tmp_path / 'nowhere')]) == 2
    assert 'not found' in capsys.readouterr().err
    path = make_coco(str(tmp_path / 'nostop'), n=3, stop_sign=False)
    assert main(['--ann-file', path]) == 2
    err = capsys.readouterr().err
    assert "no 'stop sign' category" in err and 'fire hydrant' in err
    assert main(['--ann-file', path, '--model', 'cifar_aff_resnet20']) == 2
    assert 'not a segmentation network' in capsys.readouterr().err
