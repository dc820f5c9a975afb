"""The StopSign segmentation task: COCO images that contain a stop sign, with binary
masks drawn from the stop-sign instance polygons (pycocotools)."""
import json
import os

import numpy as np

__all__ = ['STOP_SIGN', 'load_stopsign', 'find_image_dir', 'make_synthetic_stopsign']

STOP_SIGN = 'stop sign'


def find_image_dir(coco_root, ann_file, image_dir=None):
    """The folder holding the annotation file's images: ``image_dir`` if given, else
    ``coco_root/<split>`` (train2017 for instances_train2017.json), else ``coco_root``."""
    if image_dir:
        return image_dir
    stem = os.path.splitext(os.path.basename(ann_file))[0]
    split = stem.split('_')[-1]
    for candidate in (os.path.join(coco_root, split), os.path.join(coco_root, 'images', split),
                      os.path.join(coco_root, 'images'), coco_root):
        if os.path.isdir(candidate):
            return candidate
    return coco_root


def load_stopsign(ann_file, image_dir, size, limit=None):
    """Images with a stop sign and their masks, resized to ``size`` x ``size``.

    Returns ``(images uint8 N x size x size x 3, masks uint8 N x size x size, ids)``; the
    mask is 1 on any stop-sign instance. Raises IOError/ValueError naming what is wrong
    (missing files, no 'stop sign' category, no image with one).
    """
    from PIL import Image
    try:
        from pycocotools.coco import COCO
    except ImportError:
        raise IOError('the StopSign task needs pycocotools (pip install pycocotools==2.0.7)')
    if not os.path.isfile(ann_file):
        raise IOError("annotation file '%s' not found; pass --ann-file (COCO instances "
                      "json) or --coco-root holding annotations/instances_train2017.json"
                      % ann_file)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):     # pycocotools prints progress
        coco = COCO(ann_file)
    cats = coco.getCatIds(catNms=[STOP_SIGN])
    if not cats:
        names = sorted(c['name'] for c in coco.loadCats(coco.getCatIds()))
        raise ValueError("'%s' has no '%s' category (it has: %s)"
                         % (ann_file, STOP_SIGN, ', '.join(names[:20]) or 'none'))
    ids = sorted(coco.getImgIds(catIds=cats))
    if not ids:
        raise ValueError("'%s' has the '%s' category but no image with one" % (ann_file, STOP_SIGN))
    if limit:
        ids = ids[:limit]
    images, masks = [], []
    for info in coco.loadImgs(ids):
        path = os.path.join(image_dir, info['file_name'])
        if not os.path.isfile(path):
            raise IOError("image '%s' of '%s' not found; pass --image-dir (the folder of "
                          "the annotation file's images)" % (path, ann_file))
        mask = np.zeros((info['height'], info['width']), dtype=np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=info['id'], catIds=cats, iscrowd=None)):
            mask = np.maximum(mask, coco.annToMask(ann))
        image = Image.open(path).convert('RGB').resize((size, size), Image.BILINEAR)
        mask = Image.fromarray(mask).resize((size, size), Image.NEAREST)
        images.append(np.asarray(image, dtype=np.uint8))
        masks.append(np.asarray(mask, dtype=np.uint8))
    return np.stack(images), np.stack(masks), ids


SYNTHETIC_CATEGORIES = [{'id': 13, 'name': 'stop sign'}, {'id': 11, 'name': 'fire hydrant'},
                        {'id': 10, 'name': 'traffic light'}]


def _octagon(cx, cy, r):
    angles = np.pi / 8 + np.arange(8) * np.pi / 4
    return [float(v) for a in angles for v in (cx + r * np.cos(a), cy + r * np.sin(a))]


def make_synthetic_stopsign(folder, n=40, size=64, seed=0, stop_sign=True):
    """A COCO-format StopSign stand-in written to ``folder`` (train2017/ and
    annotations/instances_train2017.json, whose path is returned): n images; four in five
    hold a red octagon ('stop sign', radius 5-18 px, polygon annotation), every one a
    distractor (a blue disc 'fire hydrant' or a green square 'traffic light' of similar
    size), on a noisy background."""
    from PIL import Image, ImageDraw
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
    cats = SYNTHETIC_CATEGORIES if stop_sign else SYNTHETIC_CATEGORIES[1:]
    path = os.path.join(folder, 'annotations', 'instances_train2017.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return path
