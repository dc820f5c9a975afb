"""The StopSign segmentation task: COCO images that contain a stop sign, with binary
masks drawn from the stop-sign instance polygons (pycocotools)."""
import os

import numpy as np

__all__ = ['STOP_SIGN', 'load_stopsign', 'find_image_dir']

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
