"""A detection set that needs no download: small glyphs (scikit-learn's handwritten
digits: ``sklearn.datasets.load_digits()``, passed in by the caller, since this layer
imports no scikit-learn) pasted at many scales onto cluttered canvases, with boxes and
masks in COCO's format, the same for a given seed on every machine (numpy's RandomState
and PIL; no framework).

Each canvas has a smooth random background, line and block clutter, and 2-6 digits of
10 classes (category ids 1-10 for the digits 0-9), sides drawn log-uniformly between
``min_side`` and ``max_side`` pixels (so COCO's small, medium and large objects all occur
on 128-pixel canvases), placed with little overlap, each with its own tint. A digit's mask
is where its upscaled 8x8 image exceeds 35% of its ink; its box is the mask's extent."""
import numpy as np
from PIL import Image

__all__ = ['digit_scenes', 'CATEGORIES']

CATEGORIES = [{'id': i + 1, 'name': str(i)} for i in range(10)]


def _background(rng, size):
    coarse = rng.rand(5, 5).astype(np.float32)
    smooth = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (size, size), Image.BICUBIC), np.float32) / 255.0
    canvas = np.repeat(smooth[:, :, None] * 0.5 + 0.1, 3, axis=2) * rng.uniform(0.4, 1.0, 3)
    for _ in range(rng.randint(3, 9)):               # clutter: lines and blocks
        shade = rng.uniform(0.2, 0.9, 3)
        if rng.rand() < 0.5:
            x0, y0, x1, y1 = rng.randint(0, size, 4)
            n = max(abs(x1 - x0), abs(y1 - y0), 1)
            xs = np.linspace(x0, x1, n).astype(int)
            ys = np.linspace(y0, y1, n).astype(int)
            canvas[ys, xs] = shade
        else:
            w, h = rng.randint(2, 12, 2)
            x, y = rng.randint(0, size - w), rng.randint(0, size - h)
            canvas[y:y + h, x:x + w] = shade
    return canvas + rng.normal(0, 0.03, canvas.shape).astype(np.float32)


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def digit_scenes(digits, count, size=128, seed=0, min_side=10, max_side=100, first_id=1):
    """``(images, coco)``: ``count`` uint8 canvases ``size x size x 3`` and a COCO dict
    (``images``, ``annotations`` with ``bbox`` [x, y, w, h], ``area`` (mask pixels),
    ``segmentation`` (run-length, pycocotools), ``iscrowd``; ``categories``), reproducible
    from ``seed``. ``digits``: scikit-learn's ``load_digits()`` (its ``images``, 0-16, and
    ``target``)."""
    from pycocotools import mask as coco_mask
    glyphs = (np.asarray(digits.images) / 16.0).astype(np.float32)
    labels = np.asarray(digits.target)
    rng = np.random.RandomState(seed)
    images, annotations = [], []
    for k in range(count):
        image_id = first_id + k
        canvas = _background(rng, size)
        placed = []
        for _ in range(rng.randint(2, 7)):
            side = int(round(np.exp(rng.uniform(np.log(min_side), np.log(max_side)))))
            side = min(side, size - 2)
            for _ in range(20):                      # a place that overlaps little
                x, y = rng.randint(0, size - side + 1, 2)
                box = (x, y, x + side, y + side)
                if all(_iou(box, p) < 0.2 for p in placed):
                    break
            else:
                continue
            g = rng.randint(len(glyphs))
            ink = np.asarray(Image.fromarray((glyphs[g] * 255).astype(np.uint8)).resize(
                (side, side), Image.BILINEAR), np.float32) / 255.0
            mask = ink > 0.35 * ink.max()
            if mask.sum() < 4:
                continue
            placed.append(box)
            tint = rng.uniform(0.6, 1.0, 3) * (1 if rng.rand() < 0.7 else 0.15)
            region = canvas[y:y + side, x:x + side]
            alpha = ink[:, :, None]
            canvas[y:y + side, x:x + side] = region * (1 - alpha) + tint * alpha
            full = np.zeros((size, size), np.uint8, order='F')
            full[y:y + side, x:x + side] = mask
            ys, xs = np.nonzero(mask)
            rle = coco_mask.encode(full)
            rle['counts'] = rle['counts'].decode('ascii')
            annotations.append({
                'id': len(annotations) + 1, 'image_id': image_id,
                'category_id': int(labels[g]) + 1, 'iscrowd': 0,
                'bbox': [float(x + xs.min()), float(y + ys.min()),
                         float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)],
                'area': float(mask.sum()), 'segmentation': rle})
        images.append((np.clip(canvas, 0, 1) * 255).round().astype(np.uint8))
    coco = {'images': [{'id': first_id + k, 'width': size, 'height': size,
                        'file_name': '%06d.png' % (first_id + k)} for k in range(count)],
            'annotations': annotations, 'categories': CATEGORIES}
    return images, coco
