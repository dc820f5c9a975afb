"""Evaluation preprocessing of the zoo's networks, from their ``ModelInfo``."""
import math
import os

from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.data.eval_transform')
import mxnet as mx  # noqa: E402

__all__ = ['load_image', 'eval_crop', 'eval_transform']

_INTERP = {'bilinear': 1, 'bicubic': 2, None: 1}


def load_image(path):
    """Read an image file as an RGB HWC uint8 NDArray, with a clear error."""
    if not os.path.isfile(path):
        raise IOError("image '%s' does not exist" % path)
    try:
        return mx.image.imread(path, flag=1, to_rgb=True)
    except mx.base.MXNetError as e:
        raise IOError("cannot decode '%s' as an image (%s)" % (
            path, str(e).strip().splitlines()[0] if str(e).strip() else 'unknown error'))


def eval_crop(info, img):
    """Resize the short side to ceil(S / crop_ratio) and centre-crop S x S (uint8 HWC)."""
    size = info.input_size
    interp = _INTERP[info.interpolation]
    img = mx.image.resize_short(img, int(math.ceil(size / info.crop_ratio)), interp=interp)
    img, _ = mx.image.center_crop(img, (size, size), interp=interp)
    return img


def eval_transform(info, img):
    """HWC uint8 RGB image -> normalised 1x3xSxS float32 batch for ``info`` (a ModelInfo).

    Resize the short side to ceil(S / crop_ratio), centre-crop S x S (the
    original's validation path), scale to [0, 1] and normalise with the
    model's mean/std.
    """
    x = eval_crop(info, img).astype('float32') / 255.0
    x = mx.nd.image.normalize(x.transpose((2, 0, 1)), mean=info.mean, std=info.std)
    return x.expand_dims(axis=0)
