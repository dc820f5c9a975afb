"""Image folders whose bad images are named: gluon's ``ImageFolderDataset`` (one sub-folder
per class, labels in sorted folder order) with every image checked as it is read.

Every image is decoded to 3-channel RGB with OpenCV's ``IMREAD_COLOR``, which converts
grayscale, CMYK and alpha images. An empty file, one OpenCV cannot decode, or a JPEG cut
short (no end-of-image marker: OpenCV would decode the part it has and say nothing) is a
``BadImageError`` naming the path and the way out; with ``skip_bad=True`` it is replaced by
the next readable image of the folder (with that image's label) and logged as skipped.
Empty files are found when the folder is opened, before any training.
"""
import cv2
import mxnet as mx
import numpy as np
from mxnet.gluon.data.vision import ImageFolderDataset

from ..core.images import (SKIP_FLAG, BadImageError, first_readable, read_checked,
                           without_empty)

__all__ = ['BadImageError', 'CheckedImageFolder', 'SKIP_FLAG']


class CheckedImageFolder(ImageFolderDataset):
    """``ImageFolderDataset(root)`` yielding (H x W x 3 uint8 RGB NDArray, label); bad
    images raise ``BadImageError`` or, with ``skip_bad``, are replaced and logged."""

    def __init__(self, root, skip_bad=False, transform=None):
        super(CheckedImageFolder, self).__init__(root, flag=1, transform=transform)
        self.skip_bad = skip_bad
        self.items, empty = without_empty(root, self.items, skip_bad)
        self.skipped = set(empty)

    @staticmethod
    def read(path):
        """The image at ``path`` as H x W x 3 uint8 RGB, or BadImageError."""
        return read_checked(path, _decode)

    def __getitem__(self, idx):
        img, label = first_readable(self.items, idx, self.read, self.skip_bad, self.skipped)
        if self._transform is not None:
            return self._transform(img, label)
        return img, label


def _decode(data):
    # OpenCV directly: MXNet's imdecode returned a tensor of a nonsense shape for a PNG
    # signature followed by garbage, and failed only when it was used
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or not bgr.size:
        raise ValueError('OpenCV cannot decode it')
    return mx.nd.array(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype='uint8')
