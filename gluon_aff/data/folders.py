"""Image folders whose bad images are named: gluon's ``ImageFolderDataset`` (one sub-folder
per class, labels in sorted folder order) with every image checked as it is read.

Every image is decoded to 3-channel RGB with OpenCV's ``IMREAD_COLOR``, which converts
grayscale, CMYK and alpha images. An empty file, one OpenCV cannot decode, or a JPEG cut
short (no end-of-image marker: OpenCV would decode the part it has and say nothing) is a
``BadImageError`` naming the path and the way out; with ``skip_bad=True`` it is replaced by
the next readable image of the folder (with that image's label) and logged as skipped.
Empty files are found when the folder is opened, before any training.
"""
import logging

import cv2
import mxnet as mx
import numpy as np
from mxnet.gluon.data.vision import ImageFolderDataset

from ..core.images import (SKIP_FLAG, BadImageError, bad_image, empty_images,
                           empty_images_error, image_problem)

__all__ = ['BadImageError', 'CheckedImageFolder', 'SKIP_FLAG']

logger = logging.getLogger(__name__)


class CheckedImageFolder(ImageFolderDataset):
    """``ImageFolderDataset(root)`` yielding (H x W x 3 uint8 RGB NDArray, label); bad
    images raise ``BadImageError`` or, with ``skip_bad``, are replaced and logged."""

    def __init__(self, root, skip_bad=False, transform=None):
        super(CheckedImageFolder, self).__init__(root, flag=1, transform=transform)
        self.skip_bad = skip_bad
        self.skipped = set()
        empty = empty_images([path for path, _ in self.items])
        if empty and not skip_bad:
            raise empty_images_error(root, empty)
        if empty:
            logger.warning("skipping %d empty image file(s) in '%s' (%s): %s", len(empty),
                           root, SKIP_FLAG, ', '.join(empty[:5]) + (' ...' if len(empty) > 5
                                                                    else ''))
            self.skipped.update(empty)
            self.items = [item for item in self.items if item[0] not in self.skipped]
            if not self.items:
                raise BadImageError("'%s' has no readable image" % root)

    def read(self, path):
        """The image at ``path`` as H x W x 3 uint8 RGB, or BadImageError."""
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError as e:
            raise BadImageError('cannot read the image %s: %s' % (path, e.strerror or e))
        problem = image_problem(data)
        if problem is None:
            # OpenCV directly: MXNet's imdecode returned a tensor of a nonsense shape for a
            # PNG signature followed by garbage, and failed only when it was used
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if bgr is not None and bgr.size:
                return mx.nd.array(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype='uint8')
            problem = 'OpenCV cannot decode it'
        raise bad_image(path, problem)

    def __getitem__(self, idx):
        n = len(self.items)
        for k in range(n):
            path, label = self.items[(idx + k) % n]
            try:
                img = self.read(path)
            except BadImageError as e:
                if not self.skip_bad:
                    raise
                if path not in self.skipped:
                    self.skipped.add(path)
                    logger.warning('skipped (%s): %s', SKIP_FLAG, str(e).split('. Remove')[0])
                continue
            if self._transform is not None:
                return self._transform(img, label)
            return img, label
        raise BadImageError('no readable image in the folder of %s' % self.items[idx][0])
