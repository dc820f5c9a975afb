"""An offline, real image set: scikit-learn's 1,797 handwritten digits as 32x32 RGB.

Pixels (0..16) are scaled by 255/16 to uint8, resized 8 -> 32 with bilinear
interpolation (OpenCV, via ``mx.image.imresize``), the grey channel copied to
three. The split is ``numpy.random.RandomState(0).permutation(1797)``: the
first 1,437 indices train, the last 360 validate. Every part of the project
that needs a small real data set uses exactly this one.
"""
import mxnet as mx
import numpy as np
from mxnet.gluon.data import ArrayDataset

__all__ = ['digits_arrays', 'digits_split', 'digits_dataset', 'DIGITS_TRAIN_SIZE',
           'DIGITS_VAL_SIZE']

DIGITS_TRAIN_SIZE = 1437
DIGITS_VAL_SIZE = 360
_CACHE = {}


def digits_arrays():
    """(images N x 32 x 32 x 3 uint8, labels N int32) of all 1,797 digits, in sklearn order."""
    if 'all' not in _CACHE:
        from sklearn.datasets import load_digits
        digits = load_digits()
        small = (digits.images * (255.0 / 16)).round().astype(np.uint8)
        # OpenCV resizes each channel alone: the digits go through as the channels of a few
        # images (at most 512 channels each), bit for bit what one image at a time gives
        big = np.concatenate([
            mx.image.imresize(mx.nd.array(small[i:i + 512].transpose(1, 2, 0), dtype='uint8'),
                              32, 32, interp=1).asnumpy().transpose(2, 0, 1)
            for i in range(0, len(small), 512)])
        images = np.repeat(big[:, :, :, None], 3, axis=3)
        _CACHE['all'] = (images, digits.target.astype(np.int32))
    return _CACHE['all']


def digits_split():
    """(training indices, validation indices) into ``digits_arrays()``."""
    order = np.random.RandomState(0).permutation(DIGITS_TRAIN_SIZE + DIGITS_VAL_SIZE)
    return order[:DIGITS_TRAIN_SIZE], order[DIGITS_TRAIN_SIZE:]


def digits_dataset(train=True):
    """The train (1,437) or validation (360) split as an ``ArrayDataset`` of
    (HWC uint8 NDArray image, int label), like gluon's CIFAR datasets."""
    images, labels = digits_arrays()
    idx = digits_split()[0 if train else 1]
    return ArrayDataset(mx.nd.array(images[idx], dtype='uint8'), labels[idx])
