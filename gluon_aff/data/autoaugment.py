"""AutoAugment (Cubuk et al., CVPR 2019): the ImageNet and CIFAR-10 policies as a Gluon
transform over PIL, replacing the original's autogluon 0.0.x dependency.

A policy is 25 sub-policies of two operations ``(name, probability, magnitude)``;
one sub-policy is drawn per image and each of its operations is applied with its
probability. Magnitudes 0..9 index 10 evenly spaced values of the paper's ranges
(the convention of torchvision's implementation):

=================  ==========================================  ============
operation          value at magnitude m                        sign
=================  ==========================================  ============
ShearX/ShearY      0.3 * m / 9 (shear factor)                  random
TranslateX/Y       (150 / 331) * size * m / 9 pixels           random
Rotate             30 * m / 9 degrees                          random
Color, Contrast,   enhancement factor 1 + 0.9 * m / 9          random
Brightness,
Sharpness
Posterize          keep 8 - round(m / 2.25) bits               -
Solarize           invert pixels >= 255 * (1 - m / 9)          -
AutoContrast,      no magnitude                                -
Equalize, Invert
=================  ==========================================  ============
"""
import random

import mxnet as mx
import numpy as np
from mxnet.gluon.block import Block
from PIL import Image, ImageEnhance, ImageOps

__all__ = ['AutoAugment', 'IMAGENET_POLICY', 'CIFAR10_POLICY', 'apply_op', 'op_value']

IMAGENET_POLICY = [
    (('Posterize', 0.4, 8), ('Rotate', 0.6, 9)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, None)),
    (('Equalize', 0.8, None), ('Equalize', 0.6, None)),
    (('Posterize', 0.6, 7), ('Posterize', 0.6, 6)),
    (('Equalize', 0.4, None), ('Solarize', 0.2, 4)),
    (('Equalize', 0.4, None), ('Rotate', 0.8, 8)),
    (('Solarize', 0.6, 3), ('Equalize', 0.6, None)),
    (('Posterize', 0.8, 5), ('Equalize', 1.0, None)),
    (('Rotate', 0.2, 3), ('Solarize', 0.6, 8)),
    (('Equalize', 0.6, None), ('Posterize', 0.4, 6)),
    (('Rotate', 0.8, 8), ('Color', 0.4, 0)),
    (('Rotate', 0.4, 9), ('Equalize', 0.6, None)),
    (('Equalize', 0.0, None), ('Equalize', 0.8, None)),
    (('Invert', 0.6, None), ('Equalize', 1.0, None)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Rotate', 0.8, 8), ('Color', 1.0, 2)),
    (('Color', 0.8, 8), ('Solarize', 0.8, 7)),
    (('Sharpness', 0.4, 7), ('Invert', 0.6, None)),
    (('ShearX', 0.6, 5), ('Equalize', 1.0, None)),
    (('Color', 0.4, 0), ('Equalize', 0.6, None)),
    (('Equalize', 0.4, None), ('Solarize', 0.2, 4)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, None)),
    (('Invert', 0.6, None), ('Equalize', 1.0, None)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Equalize', 0.8, None), ('Equalize', 0.6, None)),
]

CIFAR10_POLICY = [
    (('Invert', 0.1, None), ('Contrast', 0.2, 6)),
    (('Rotate', 0.7, 2), ('TranslateX', 0.3, 9)),
    (('Sharpness', 0.8, 1), ('Sharpness', 0.9, 3)),
    (('ShearY', 0.5, 8), ('TranslateY', 0.7, 9)),
    (('AutoContrast', 0.5, None), ('Equalize', 0.9, None)),
    (('ShearY', 0.2, 7), ('Posterize', 0.3, 7)),
    (('Color', 0.4, 3), ('Brightness', 0.6, 7)),
    (('Sharpness', 0.3, 9), ('Brightness', 0.7, 9)),
    (('Equalize', 0.6, None), ('Equalize', 0.5, None)),
    (('Contrast', 0.6, 7), ('Sharpness', 0.6, 5)),
    (('Color', 0.7, 7), ('TranslateX', 0.5, 8)),
    (('Equalize', 0.3, None), ('AutoContrast', 0.4, None)),
    (('TranslateY', 0.4, 3), ('Sharpness', 0.2, 6)),
    (('Brightness', 0.9, 6), ('Color', 0.2, 8)),
    (('Solarize', 0.5, 2), ('Invert', 0.0, None)),
    (('Equalize', 0.2, None), ('AutoContrast', 0.6, None)),
    (('Equalize', 0.2, None), ('Equalize', 0.6, None)),
    (('Color', 0.9, 9), ('Equalize', 0.6, None)),
    (('AutoContrast', 0.8, None), ('Solarize', 0.2, 8)),
    (('Brightness', 0.1, 3), ('Color', 0.7, 0)),
    (('Solarize', 0.4, 5), ('AutoContrast', 0.9, None)),
    (('TranslateY', 0.9, 9), ('TranslateY', 0.7, 9)),
    (('AutoContrast', 0.9, None), ('Solarize', 0.8, 3)),
    (('Equalize', 0.8, None), ('Invert', 0.1, None)),
    (('TranslateY', 0.7, 9), ('AutoContrast', 0.9, None)),
]

_SIGNED = {'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Color', 'Contrast',
           'Brightness', 'Sharpness'}


def op_value(name, magnitude, size):
    """The unsigned value of operation ``name`` at ``magnitude`` (0..9) for an image of
    ``size`` = (width, height); None for operations without a magnitude."""
    if magnitude is None:
        return None
    m = magnitude / 9.0
    if name in ('ShearX', 'ShearY'):
        return 0.3 * m
    if name == 'TranslateX':
        return 150.0 / 331.0 * size[0] * m
    if name == 'TranslateY':
        return 150.0 / 331.0 * size[1] * m
    if name == 'Rotate':
        return 30.0 * m
    if name in ('Color', 'Contrast', 'Brightness', 'Sharpness'):
        return 0.9 * m
    if name == 'Posterize':
        return int(8 - round(magnitude / 2.25))
    if name == 'Solarize':
        return 255.0 * (1 - m)
    return None


def apply_op(img, name, value):
    """Apply one operation with its (signed) value to a PIL image."""
    fill = (128,) * len(img.getbands())
    if name == 'ShearX':
        return img.transform(img.size, Image.AFFINE, (1, value, 0, 0, 1, 0),
                             resample=Image.NEAREST, fillcolor=fill)
    if name == 'ShearY':
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, value, 1, 0),
                             resample=Image.NEAREST, fillcolor=fill)
    if name == 'TranslateX':
        return img.transform(img.size, Image.AFFINE, (1, 0, -int(round(value)), 0, 1, 0),
                             resample=Image.NEAREST, fillcolor=fill)
    if name == 'TranslateY':
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, -int(round(value))),
                             resample=Image.NEAREST, fillcolor=fill)
    if name == 'Rotate':
        return img.rotate(value, resample=Image.NEAREST, fillcolor=fill)
    if name == 'Color':
        return ImageEnhance.Color(img).enhance(1 + value)
    if name == 'Contrast':
        return ImageEnhance.Contrast(img).enhance(1 + value)
    if name == 'Brightness':
        return ImageEnhance.Brightness(img).enhance(1 + value)
    if name == 'Sharpness':
        return ImageEnhance.Sharpness(img).enhance(1 + value)
    if name == 'Posterize':
        return ImageOps.posterize(img, int(value))
    if name == 'Solarize':
        return ImageOps.solarize(img, value)
    if name == 'AutoContrast':
        return ImageOps.autocontrast(img)
    if name == 'Equalize':
        return ImageOps.equalize(img)
    if name == 'Invert':
        return ImageOps.invert(img)
    raise ValueError('unknown AutoAugment operation %r' % name)


class AutoAugment(Block):
    """Gluon transform: HWC uint8 NDArray (or PIL image / NumPy array) -> same type,
    augmented by one random sub-policy of ``policy`` ('imagenet', 'cifar10' or a list).

    Uses Python's ``random`` module (seed it, with ``--seed``, for repeatable runs).
    """

    def __init__(self, policy='imagenet'):
        super(AutoAugment, self).__init__()
        if isinstance(policy, str):
            policies = {'imagenet': IMAGENET_POLICY, 'cifar10': CIFAR10_POLICY}
            if policy not in policies:
                raise ValueError("AutoAugment policy must be 'imagenet' or 'cifar10', got %r"
                                 % policy)
            policy = policies[policy]
        self.policy = policy

    def augment(self, img):
        """Augment a PIL image."""
        for name, prob, magnitude in random.choice(self.policy):
            if random.random() < prob:
                value = op_value(name, magnitude, img.size)
                if name in _SIGNED and random.random() < 0.5:
                    value = -value
                img = apply_op(img, name, value)
        return img

    def forward(self, x):
        if isinstance(x, Image.Image):
            return self.augment(x)
        array = x.asnumpy() if isinstance(x, mx.nd.NDArray) else np.asarray(x)
        out = np.asarray(self.augment(Image.fromarray(array.astype(np.uint8))))
        return mx.nd.array(out, dtype='uint8') if isinstance(x, mx.nd.NDArray) else out
