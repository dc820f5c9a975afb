"""Pack an image folder (one sub-folder per class) into MXNet .rec/.idx files.

The files are written under temporary names and take their own only when every image
went in (``gluon_aff.core.atomic``): a failed or interrupted packing leaves no half-written
.rec/.idx behind to train on."""
import contextlib
import os

import mxnet as mx
import numpy as np
from tqdm import tqdm

from ..core.atomic import atomic_path

__all__ = ['list_image_folder', 'pack_image_folder', 'pack_arrays', 'check_record_file',
           'IMAGE_EXTENSIONS']

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
    items, empty = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        found = [(os.path.join(folder, f), label) for f in sorted(os.listdir(folder))
                 if f.lower().endswith(IMAGE_EXTENSIONS)]
        if not found:
            empty.append(name)
        items += found
    if empty and len(empty) < len(classes):
        raise IOError("'%s': class folder(s) %s hold no images (%s); labels are the sorted "
                      'class folders\' positions, so remove the empty folders or fill them'
                      % (root, ', '.join(empty[:5]), '/'.join(IMAGE_EXTENSIONS)))
    return items, classes


@contextlib.contextmanager
def _writer(prefix):
    """An indexed record writer whose .rec and .idx appear under ``prefix`` only if the
    block completes."""
    with atomic_path(prefix + '.rec') as rec, atomic_path(prefix + '.idx') as idx:
        record = mx.recordio.MXIndexedRecordIO(idx, rec, 'w')
        try:
            yield record
        finally:
            record.close()


def pack_arrays(images, labels, prefix, quality=95, progress=False):
    """Write HWC uint8 RGB ``images`` with int ``labels`` to ``prefix``.rec/.idx (JPEG)."""
    with _writer(prefix) as record:
        for i, (img, label) in enumerate(tqdm(list(zip(images, labels)), disable=not progress,
                                              desc='packing')):
            header = mx.recordio.IRHeader(0, float(label), i, 0)
            bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
            record.write_idx(i, mx.recordio.pack_img(header, bgr, quality=quality,
                                                     img_fmt='.jpg'))
    return prefix + '.rec', prefix + '.idx'


def pack_image_folder(root, prefix, resize=None, quality=95, progress=True):
    """Pack ``root/<class>/<image>`` into ``prefix``.rec/.idx; optionally resize the
    shorter side to ``resize`` pixels. Returns (rec, idx, classes)."""
    import cv2
    items, classes = list_image_folder(root)
    if not items:
        raise IOError("no images (%s) under '%s'" % ('/'.join(IMAGE_EXTENSIONS), root))
    with _writer(prefix) as record:
        for i, (path, label) in enumerate(tqdm(items, disable=not progress, desc='packing')):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise IOError("cannot decode image '%s' (empty, truncated or not an image); "
                              'nothing was written: remove or replace it and pack again' % path)
            if resize:
                h, w = img.shape[:2]
                scale = float(resize) / min(h, w)
                size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            header = mx.recordio.IRHeader(0, float(label), i, 0)
            record.write_idx(i, mx.recordio.pack_img(header, img, quality=quality,
                                                     img_fmt='.jpg'))
    return prefix + '.rec', prefix + '.idx', classes


RECORD_MAGIC = 0xCED7230A       # dmlc recordio: uint32 magic, uint32 (flag << 29 | length)


def check_record_file(rec, idx, flag='--rec'):
    """ValueError naming ``rec`` when it cannot hold what ``idx`` lists: a truncated copy
    (an offset past its end, or a last record cut short), or not a record file at all.
    MXNet itself stops such files with a raw C++ error, or aborts the process, epochs in."""
    import struct
    size = os.path.getsize(rec)
    offsets = []
    with open(idx) as f:
        for number, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                offsets.append(int(parts[-1]))
            except ValueError:
                raise ValueError("%s index '%s' line %d is not 'key<TAB>offset': %r"
                                 % (flag, idx, number, line.strip()[:60]))
    if not offsets:
        raise ValueError("%s index '%s' lists no records" % (flag, idx))
    last = max(offsets)
    way_out = 'copy or pack it again (gluon-aff pack-rec), with its .idx'
    if last + 8 > size:
        raise ValueError("%s '%s' is truncated: its index lists a record at byte %d, the file "
                         'has %d bytes; %s' % (flag, rec, last, size, way_out))
    with open(rec, 'rb') as f:
        f.seek(last)
        magic, length = struct.unpack('<II', f.read(8))
    length &= (1 << 29) - 1
    if magic != RECORD_MAGIC:
        raise ValueError("%s '%s' does not match its index '%s' (no record at byte %d); %s"
                         % (flag, rec, idx, last, way_out))
    if last + 8 + length > size:
        raise ValueError("%s '%s' is truncated: its last record needs %d bytes from byte %d, "
                         'the file has %d; %s' % (flag, rec, length, last + 8, size, way_out))

