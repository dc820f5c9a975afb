"""The zoo's evaluation preprocessing for PyTorch, pixel for pixel as the MXNet side does it.

timm's ``create_transform(**resolve_data_config({}, model=net))`` gives the same sizes,
crop and normalisation, but resizes with torchvision's antialiased bilinear filter and
rounds the crop offset, while the original (``mx.image.resize_short`` + ``center_crop``)
uses OpenCV's bilinear resize and floors it: on the sample photos the two differ by 0.04
to 0.2 on average after normalisation. ``eval_transform`` reproduces the original with
OpenCV, for comparing with numbers obtained on the MXNet side.

``AutoAugment`` is the original's AutoAugment (``gluon_aff.core.autoaugment``) as a torchvision
transform.
"""
import math
import os

import numpy as np
import torch
from PIL import Image

from ..core.autoaugment import augment, resolve_policy
from ..core.zoo import get_model_info

__all__ = ['eval_transform', 'AutoAugment']

_INTERP = {'bilinear': 1, 'bicubic': 2, None: 1}     # OpenCV's INTER_LINEAR, INTER_CUBIC


def _rgb(img):
    import cv2      # on use: OpenCV only reproduces the MXNet side's pixels
    if isinstance(img, (str, os.PathLike)):
        data = cv2.imread(str(img), cv2.IMREAD_COLOR)
        if data is None:
            raise IOError("cannot read '%s' as an image" % img)
        return cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    if hasattr(img, 'convert'):                             # a PIL image
        return np.asarray(img.convert('RGB'))
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError('eval_transform takes a path, a PIL image or an H x W x 3 uint8 RGB '
                         'array, got an array of shape %s and dtype %s' % (img.shape, img.dtype))
    return img


def eval_transform(name):
    """A callable: image (path, PIL image or H x W x 3 uint8 RGB array) -> normalised
    3 x S x S float tensor, as ``gluon_aff.data.eval_transform.eval_transform`` computes for the zoo
    name ``name``: resize the short side to ceil(S / crop_ratio), centre-crop S x S, scale
    to [0, 1], subtract the mean, divide by the std."""
    info = get_model_info(name)
    size = info.input_size
    short = int(math.ceil(size / info.crop_ratio))
    mean = np.array(info.mean, np.float32)[:, None, None]
    std = np.array(info.std, np.float32)[:, None, None]

    def transform(img):
        import cv2
        img = _rgb(img)
        h, w = img.shape[:2]
        new_h, new_w = (short * h // w, short) if h > w else (short, short * w // h)
        img = cv2.resize(img, (new_w, new_h), interpolation=_INTERP[info.interpolation])
        x0, y0 = int((new_w - size) / 2), int((new_h - size) / 2)
        img = img[y0:y0 + size, x0:x0 + size]
        x = img.transpose(2, 0, 1).astype(np.float32) / 255.0
        return torch.from_numpy((x - mean) / std)
    return transform


class AutoAugment(torch.nn.Module):
    """The original's AutoAugment as a torchvision transform: a PIL image, or a uint8
    C x H x W tensor (C = 1 or 3), in; the same type out, augmented by one random
    sub-policy of ``policy`` ('cifar10', 'imagenet' or a list of sub-policies). Like the
    original, put it first, on the whole decoded image, before cropping and flipping.
    Draws from Python's ``random`` only (seeded per DataLoader worker by PyTorch).
    Not torchvision's ``AutoAugment``: see ``gluon_aff.core.autoaugment`` for how they differ."""

    def __init__(self, policy='cifar10'):
        super().__init__()
        self.policy_name = policy if isinstance(policy, str) else 'custom'
        self.policy = resolve_policy(policy)

    def forward(self, img):
        if isinstance(img, Image.Image):
            return augment(img, self.policy)
        if not isinstance(img, torch.Tensor):
            raise TypeError('AutoAugment takes a PIL image or a uint8 C x H x W tensor, got %s'
                            % type(img).__name__)
        if img.dtype != torch.uint8 or img.ndim != 3 or img.shape[0] not in (1, 3):
            raise ValueError('AutoAugment takes a uint8 C x H x W tensor with 1 or 3 channels '
                             '(put it before ToTensor/Normalize), got %s of shape %s'
                             % (img.dtype, tuple(img.shape)))
        array = img.permute(1, 2, 0).numpy()
        array = array[:, :, 0] if array.shape[2] == 1 else array
        out = np.asarray(augment(Image.fromarray(np.ascontiguousarray(array)), self.policy))
        out = torch.from_numpy(out.copy())
        return out.unsqueeze(0) if out.ndim == 2 else out.permute(2, 0, 1).contiguous()

    def extra_repr(self):
        return 'policy=%s' % self.policy_name
