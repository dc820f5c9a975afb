"""AutoAugment as the original training ran it, as a Gluon transform. The policies and
operations are in ``gluon_aff.core.autoaugment`` (PIL only; its docstring gives the values)."""
import mxnet as mx
import numpy as np
from mxnet.gluon.block import Block
from PIL import Image

from ..core.autoaugment import (CIFAR10_POLICY, IMAGENET_POLICY, RANGES, SIGNED,  # noqa: F401
                           apply_op, augment, op_value, resolve_policy)

__all__ = ['AutoAugment', 'CIFAR10_POLICY', 'IMAGENET_POLICY', 'SIGNED', 'RANGES',
           'op_value', 'apply_op']


class AutoAugment(Block):
    """Gluon transform: an HWC uint8 image (NDArray, NumPy array or PIL image) -> the
    same type, augmented by one random sub-policy of ``policy`` ('cifar10', 'imagenet'
    or a list of sub-policies). Draws from Python's ``random`` module only."""

    def __init__(self, policy='cifar10'):
        super(AutoAugment, self).__init__()
        self.policy = resolve_policy(policy)

    def augment(self, img):
        """Augment a PIL image."""
        return augment(img, self.policy)

    def forward(self, x):
        if isinstance(x, Image.Image):
            return self.augment(x)
        array = x.asnumpy() if isinstance(x, mx.nd.NDArray) else np.asarray(x)
        if array.dtype != np.uint8 or array.ndim != 3:
            raise ValueError('AutoAugment takes an HWC uint8 image, got %s %s'
                             % (array.dtype, array.shape))
        out = np.asarray(self.augment(Image.fromarray(array)))
        return mx.nd.array(out, dtype='uint8') if isinstance(x, mx.nd.NDArray) else out
