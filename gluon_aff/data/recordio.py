"""Pack an image folder (one sub-folder per class) into MXNet .rec/.idx files."""
import os

import mxnet as mx
import numpy as np
from tqdm import tqdm

__all__ = ['list_image_folder', 'pack_image_folder', 'pack_arrays', 'IMAGE_EXTENSIONS']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def list_image_folder(root):
    """[(path, label)] of ``root/<class>/<image>``, classes sorted by name (as gluon's
    ImageFolderDataset), and the class names."""
    if not os.path.isdir(root):
        raise IOError("image folder '%s' does not exist" % root)
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise IOError("'%s' has no class sub-folders (expected %s/<class>/<image>)"
                      % (root, root))
    items = []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        for fname in sorted(os.listdir(folder)):
            if fname.lower().endswith(IMAGE_EXTENSIONS):
                items.append((os.path.join(folder, fname), label))
    return items, classes


def _writer(prefix):
    folder = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(folder, exist_ok=True)
    return mx.recordio.MXIndexedRecordIO(prefix + '.idx', prefix + '.rec', 'w')


def pack_arrays(images, labels, prefix, quality=95, progress=False):
    """Write HWC uint8 RGB ``images`` with int ``labels`` to ``prefix``.rec/.idx (JPEG)."""
    record = _writer(prefix)
    try:
        for i, (img, label) in enumerate(tqdm(list(zip(images, labels)), disable=not progress,
                                              desc='packing')):
            header = mx.recordio.IRHeader(0, float(label), i, 0)
            bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
            record.write_idx(i, mx.recordio.pack_img(header, bgr, quality=quality,
                                                     img_fmt='.jpg'))
    finally:
        record.close()
    return prefix + '.rec', prefix + '.idx'


def pack_image_folder(root, prefix, resize=None, quality=95, progress=True):
    """Pack ``root/<class>/<image>`` into ``prefix``.rec/.idx; optionally resize the
    shorter side to ``resize`` pixels. Returns (rec, idx, classes)."""
    import cv2
    items, classes = list_image_folder(root)
    if not items:
        raise IOError("no images (%s) under '%s'" % ('/'.join(IMAGE_EXTENSIONS), root))
    record = _writer(prefix)
    try:
        for i, (path, label) in enumerate(tqdm(items, disable=not progress, desc='packing')):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise IOError("cannot decode image '%s'" % path)
            if resize:
                h, w = img.shape[:2]
                scale = float(resize) / min(h, w)
                size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            header = mx.recordio.IRHeader(0, float(label), i, 0)
            record.write_idx(i, mx.recordio.pack_img(header, img, quality=quality,
                                                     img_fmt='.jpg'))
    finally:
        record.close()
    return prefix + '.rec', prefix + '.idx', classes
