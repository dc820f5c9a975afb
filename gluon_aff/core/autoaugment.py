"""AutoAugment as the original training ran it (autogluon 0.0.x's ``AugmentationBlock``).

This is not torchvision's AutoAugment: the CIFAR-10 policy uses ``Posterize2`` and
absolute translations, the enhancement factors have no sign and reach 0.1 at level 0,
shear and translate resample bicubically, and the random draws differ. One image:

1. ``random.choice(policy)`` picks a sub-policy of two ``(name, p, level)``;
2. for each, in order: ``random.random()`` is drawn and the operation skipped when the
   draw is greater than ``p``; the signed operations (ShearX/Y, TranslateXAbs/YAbs,
   Rotate) then draw ``random.random()`` once more and negate their value when it is
   greater than 0.5. Nothing else is drawn, so a seeded ``random`` repeats the images.

Values at level ``L`` (0..9):

=============================  ====================================  =====================
operation                      value                                 PIL call
=============================  ====================================  =====================
ShearX / ShearY                ``L * 0.3 / 10``, signed              ``transform(AFFINE,
                                                                     BICUBIC)``
TranslateXAbs / TranslateYAbs  ``int(L * 10 / 10)`` pixels, signed   ``transform(AFFINE,
                                                                     BICUBIC)``
Rotate                         ``int(L * 30 / 10)`` degrees, signed  ``rotate`` (nearest)
Solarize                       threshold ``256 - int(L * 256 / 10)``  ``ImageOps.solarize``
Posterize2                     ``4 - int(L * 4 / 10)`` bits kept     ``ImageOps.posterize``
Contrast, Color, Brightness,   factor ``L * 1.8 / 10 + 0.1``         ``ImageEnhance``
Sharpness                      (level 5 is the identity)
AutoContrast, Equalize,        none                                  ``ImageOps``
Invert
=============================  ====================================  =====================

Pixels from outside the image are black. Each value makes the original's round trip
through its operation's range, ``(v - low) / (high - low) * (high - low) + low``, which
changes shears and enhancement factors by float rounding (ShearY at 8 shears by
0.24000000000000005) and leaves the integer rotations, translations and thresholds.
The transform is the first of the training pipeline, on the whole decoded uint8 HWC
RGB image, before cropping and flipping, as in the original.

This module needs only PIL: ``gluon_aff.data.AutoAugment`` wraps it as a Gluon transform,
``gluon_aff.torch.AutoAugment`` as a torchvision one.
"""
import random

from PIL import Image, ImageEnhance, ImageOps

__all__ = ['CIFAR10_POLICY', 'IMAGENET_POLICY', 'SIGNED', 'RANGES', 'op_value', 'apply_op',
           'resolve_policy', 'augment']

CIFAR10_POLICY = [
    (('Invert', 0.1, 7), ('Contrast', 0.2, 6)),
    (('Rotate', 0.7, 2), ('TranslateXAbs', 0.3, 9)),
    (('Sharpness', 0.8, 1), ('Sharpness', 0.9, 3)),
    (('ShearY', 0.5, 8), ('TranslateYAbs', 0.7, 9)),
    (('AutoContrast', 0.5, 8), ('Equalize', 0.9, 2)),
    (('ShearY', 0.2, 7), ('Posterize2', 0.3, 7)),
    (('Color', 0.4, 3), ('Brightness', 0.6, 7)),
    (('Sharpness', 0.3, 9), ('Brightness', 0.7, 9)),
    (('Equalize', 0.6, 5), ('Equalize', 0.5, 1)),
    (('Contrast', 0.6, 7), ('Sharpness', 0.6, 5)),
    (('Color', 0.7, 7), ('TranslateXAbs', 0.5, 8)),
    (('Equalize', 0.3, 7), ('AutoContrast', 0.4, 8)),
    (('TranslateYAbs', 0.4, 3), ('Sharpness', 0.2, 6)),
    (('Brightness', 0.9, 6), ('Color', 0.2, 6)),
    (('Solarize', 0.5, 2), ('Invert', 0.0, 3)),
    (('Equalize', 0.2, 0), ('AutoContrast', 0.6, 0)),
    (('Equalize', 0.2, 8), ('Equalize', 0.6, 4)),
    (('Color', 0.9, 9), ('Equalize', 0.6, 6)),
    (('AutoContrast', 0.8, 4), ('Solarize', 0.2, 8)),
    (('Brightness', 0.1, 3), ('Color', 0.7, 0)),
    (('Solarize', 0.4, 5), ('AutoContrast', 0.9, 3)),
    (('TranslateYAbs', 0.9, 9), ('TranslateYAbs', 0.7, 9)),
    (('AutoContrast', 0.9, 2), ('Solarize', 0.8, 3)),
    (('Equalize', 0.8, 8), ('Invert', 0.1, 3)),
    (('TranslateYAbs', 0.7, 9), ('AutoContrast', 0.9, 1)),
]

IMAGENET_POLICY = [
    (('Posterize2', 0.4, 8), ('Rotate', 0.6, 9)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)),
    (('Equalize', 0.8, 8), ('Equalize', 0.6, 3)),
    (('Posterize2', 0.6, 7), ('Posterize2', 0.6, 6)),
    (('Equalize', 0.4, 7), ('Solarize', 0.2, 4)),
    (('Equalize', 0.4, 4), ('Rotate', 0.8, 8)),
    (('Solarize', 0.6, 3), ('Equalize', 0.6, 7)),
    (('Posterize2', 0.8, 5), ('Equalize', 1.0, 2)),
    (('Rotate', 0.2, 3), ('Solarize', 0.6, 8)),
    (('Equalize', 0.6, 8), ('Posterize2', 0.4, 6)),
    (('Rotate', 0.8, 8), ('Color', 0.4, 0)),
    (('Rotate', 0.4, 9), ('Equalize', 0.6, 2)),
    (('Equalize', 0.0, 7), ('Equalize', 0.8, 8)),
    (('Invert', 0.6, 4), ('Equalize', 1.0, 8)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Rotate', 0.8, 8), ('Color', 1.0, 0)),
    (('Color', 0.8, 8), ('Solarize', 0.8, 7)),
    (('Sharpness', 0.4, 7), ('Invert', 0.6, 8)),
    (('ShearX', 0.6, 5), ('Equalize', 1.0, 9)),
    (('Color', 0.4, 0), ('Equalize', 0.6, 3)),
    (('Equalize', 0.4, 7), ('Solarize', 0.2, 4)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)),
    (('Invert', 0.6, 4), ('Equalize', 1.0, 8)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Equalize', 0.8, 8), ('Equalize', 0.6, 3)),
]

SIGNED = frozenset(('ShearX', 'ShearY', 'TranslateXAbs', 'TranslateYAbs', 'Rotate'))
_ENHANCE = ('Contrast', 'Color', 'Brightness', 'Sharpness')
RANGES = dict({'ShearX': (-0.3, 0.3), 'ShearY': (-0.3, 0.3), 'TranslateXAbs': (0, 10),
               'TranslateYAbs': (0, 10), 'Rotate': (-30, 30), 'Solarize': (0, 256),
               'Posterize2': (0, 4), 'AutoContrast': (0, 1), 'Equalize': (0, 1),
               'Invert': (0, 1)}, **{name: (0.1, 1.9) for name in _ENHANCE})


def op_value(name, level):
    """The (unsigned) value of ``name`` at ``level``, after the original's round trip
    through the operation's range."""
    if name not in RANGES:
        raise ValueError('unknown AutoAugment operation %r; known: %s'
                         % (name, ', '.join(sorted(RANGES))))
    if name in ('ShearX', 'ShearY'):
        v = level * 0.3 / 10
    elif name in ('TranslateXAbs', 'TranslateYAbs'):
        v = int(level * 10 / 10)
    elif name == 'Rotate':
        v = int(level * 30 / 10)
    elif name == 'Solarize':
        v = 256 - int(level * 256 / 10)
    elif name == 'Posterize2':
        v = 4 - int(level * 4 / 10)
    elif name in _ENHANCE:
        v = level * 1.8 / 10 + 0.1
    else:
        v = level
    low, high = RANGES[name]
    return (v - low) / (high - low) * (high - low) + low


def apply_op(img, name, v):
    """Apply operation ``name`` with its (signed) value ``v`` to a PIL image."""
    if name == 'ShearX':
        return img.transform(img.size, Image.AFFINE, (1, v, 0, 0, 1, 0), Image.BICUBIC)
    if name == 'ShearY':
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, v, 1, 0), Image.BICUBIC)
    if name == 'TranslateXAbs':
        return img.transform(img.size, Image.AFFINE, (1, 0, v, 0, 1, 0), Image.BICUBIC)
    if name == 'TranslateYAbs':
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, v), Image.BICUBIC)
    if name == 'Rotate':
        return img.rotate(v)
    if name == 'Solarize':
        return ImageOps.solarize(img, v)
    if name == 'Posterize2':
        return ImageOps.posterize(img, int(v))
    if name in _ENHANCE:
        return getattr(ImageEnhance, name)(img).enhance(v)
    if name == 'AutoContrast':
        return ImageOps.autocontrast(img)
    if name == 'Equalize':
        return ImageOps.equalize(img)
    if name == 'Invert':
        return ImageOps.invert(img)
    raise ValueError('unknown AutoAugment operation %r' % name)


def resolve_policy(policy):
    """'cifar10', 'imagenet' or a list of sub-policies -> the list, every operation name
    checked (an unknown one fails here, not mid-training)."""
    if isinstance(policy, str):
        policies = {'cifar10': CIFAR10_POLICY, 'imagenet': IMAGENET_POLICY}
        if policy not in policies:
            raise ValueError("AutoAugment policy must be 'cifar10' or 'imagenet', got %r"
                             % policy)
        policy = policies[policy]
    for sub in policy:
        for name, _, _ in sub:
            op_value(name, 0)
    return policy


def augment(img, policy):
    """One PIL image augmented by one random sub-policy of ``policy`` (a list), drawing
    from Python's ``random`` module only."""
    for name, p, level in random.choice(policy):
        if random.random() > p:
            continue
        v = op_value(name, level)
        if name in SIGNED and random.random() > 0.5:
            v = -v
        img = apply_op(img, name, v)
    return img
