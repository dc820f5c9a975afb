"""AutoAugment as the original ran it (spec 9.1): values, operations and random draws, each
expected value worked out by hand from the spec, not from the module."""
import random

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_aff.data import autoaugment as aa

RNG = np.random.RandomState(0)
PHOTO = RNG.randint(0, 256, (32, 32, 3)).astype(np.uint8)


def _op(name, level, sign=1, img=PHOTO):
    return np.asarray(aa.apply_op(Image.fromarray(img), name, sign * aa.op_value(name, level)))


def test_values_at_the_spec_levels():
    assert aa.op_value('ShearY', 8) == pytest.approx(0.24, abs=1e-15)
    assert aa.op_value('TranslateYAbs', 9) == 9 and aa.op_value('TranslateXAbs', 3) == 3
    assert aa.op_value('Rotate', 9) == 27
    assert aa.op_value('Solarize', 2) == 205        # 256 - int(51.2)
    assert aa.op_value('Posterize2', 7) == 2 and aa.op_value('Posterize2', 8) == 1
    assert aa.op_value('Posterize2', 0) == 4
    assert aa.op_value('Color', 0) == pytest.approx(0.1, abs=1e-15)
    assert aa.op_value('Contrast', 8) == pytest.approx(1.54, abs=1e-15)
    assert aa.op_value('Brightness', 5) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match='unknown AutoAugment operation'):
        aa.op_value('Posterize', 3)             # torchvision's name; the original has none


def test_pixel_operations_by_hand():
    img = PHOTO.astype(np.int64)
    np.testing.assert_array_equal(_op('Posterize2', 7), img & 0b11000000)      # 2 bits kept
    np.testing.assert_array_equal(_op('Posterize2', 8), img & 0b10000000)      # 1 bit
    np.testing.assert_array_equal(_op('Solarize', 2), np.where(img >= 205, 255 - img, img))
    np.testing.assert_array_equal(_op('Invert', 3), 255 - img)
    # Brightness blends with black: factor 0.1 at level 0
    assert np.abs(_op('Brightness', 0) - 0.1 * img).max() <= 1
    # Color blends with the grey image (ITU-R 601-2 luma): factor 0.1, nearly grey
    grey = (img[..., 0] * 299 + img[..., 1] * 587 + img[..., 2] * 114) / 1000.0
    expected = grey[..., None] + 0.1 * (img - grey[..., None])
    assert np.abs(_op('Color', 0) - expected).max() <= 1.5
    # level 5 of an enhancement is the identity (factor 1.0)
    np.testing.assert_array_equal(_op('Contrast', 5), img)
    narrow = np.where(PHOTO > 127, 150, 50).astype(np.uint8)
    np.testing.assert_array_equal(_op('AutoContrast', 8, img=narrow),
                                  np.where(narrow == 150, 255, 0))


def test_geometric_operations_by_hand():
    up = _op('TranslateYAbs', 9)            # output(x, y) = input(x, y + 9): moves up
    np.testing.assert_array_equal(up[:-9], PHOTO[9:])
    assert (up[-9:] == 0).all()             # black fill
    down = _op('TranslateYAbs', 9, sign=-1)
    np.testing.assert_array_equal(down[9:], PHOTO[:-9])
    assert (down[:9] == 0).all()
    left = _op('TranslateXAbs', 3)
    np.testing.assert_array_equal(left[:, :-3], PHOTO[:, 3:])
    assert (left[:, -3:] == 0).all()
    # ShearY at 8: PIL maps pixel centres, output(x, y) = input(x, y + 0.24 (x + 0.5)).
    # On a vertical ramp (which bicubic interpolation reproduces exactly) that is
    # 4 (y + 0.24 (x + 0.5)) + 20 wherever the source lies inside the image
    ys, xs = np.mgrid[0:32, 0:32]
    ramp = np.repeat((4 * ys + 20).astype(np.uint8)[:, :, None], 3, axis=2)
    sheared = _op('ShearY', 8, img=ramp)[..., 0].astype(float)
    source = ys + 0.24 * (xs + 0.5)
    inside = source < 29                     # away from the bottom edge (and its black fill)
    assert np.abs(sheared - (4 * source + 20))[inside].max() <= 1.5   # (PIL fixed point)
    assert (sheared[source > 32] == 0).all()
    up = _op('ShearY', 8, sign=-1, img=ramp)[..., 0].astype(float)   # the sign flips it
    assert np.abs(up - (4 * (ys - 0.24 * (xs + 0.5)) + 20))[ys - 0.24 * (xs + 0.5) > 2].max() <= 1.5
    # Rotate: nearest neighbour (no new values), black corners
    rotated = _op('Rotate', 9)
    assert set(np.unique(rotated)) <= set(np.unique(PHOTO)) | {0}
    assert (rotated[0, 0] == 0).all() and (rotated[-1, -1] == 0).all()
    np.testing.assert_array_equal(rotated, np.asarray(Image.fromarray(PHOTO).rotate(27)))


def test_seeded_sub_policy_draws_can_be_followed():
    # Python's Mersenne Twister, seed 3: randrange(25) -> 7, then 0.5926, 0.1304, 0.9159
    # CIFAR-10 sub-policy 7 is (Sharpness .3 9, Brightness .7 9): 0.5926 > 0.3 skips
    # Sharpness, 0.1304 <= 0.7 applies Brightness at 9 (factor 1.72); no sign draw.
    random.seed(3)
    out = aa.AutoAugment('cifar10')(PHOTO)
    expected = np.clip(PHOTO.astype(float) * 1.72, 0, 255)
    assert np.abs(out - expected).max() <= 1
    assert random.random() == pytest.approx(0.9159448117309811)   # nothing else was drawn
    # a signed operation draws once more: seed 3 with a one-entry policy
    # (TranslateYAbs 1.0 9, Invert 0.0 3): 0.5926 <= 1 applies it, 0.1304 <= 0.5 keeps
    # the sign (+9: up), 0.9159 > 0 skips Invert
    random.seed(3)
    out = aa.AutoAugment([(('TranslateYAbs', 1.0, 9), ('Invert', 0.0, 3))])(PHOTO)
    np.testing.assert_array_equal(out[:-9], PHOTO[9:])


def test_policies_are_the_originals():
    assert len(aa.CIFAR10_POLICY) == len(aa.IMAGENET_POLICY) == 25
    names = {n for sub in aa.CIFAR10_POLICY for n, _, _ in sub}
    assert 'Posterize2' in names and 'TranslateXAbs' in names and 'TranslateX' not in names
    assert aa.CIFAR10_POLICY[13] == (('Brightness', 0.9, 6), ('Color', 0.2, 6))
    assert aa.IMAGENET_POLICY[15] == (('Rotate', 0.8, 8), ('Color', 1.0, 0))  # not Color 2
    for sub in aa.CIFAR10_POLICY + aa.IMAGENET_POLICY:
        for name, p, level in sub:
            assert 0 <= p <= 1 and 0 <= level <= 9
            aa.apply_op(Image.fromarray(PHOTO), name, aa.op_value(name, level))


def test_transform_types_and_errors():
    t = aa.AutoAugment([(('Invert', 1.0, 0), ('Solarize', 1.0, 0))])
    out = t(mx.nd.array(PHOTO, dtype='uint8'))
    assert isinstance(out, mx.nd.NDArray) and out.dtype == np.uint8
    inverted = 255 - PHOTO.astype(int)
    np.testing.assert_array_equal(out.asnumpy(), np.where(inverted >= 256, 255 - inverted,
                                                          inverted))   # threshold 256: none
    assert isinstance(t(PHOTO), np.ndarray) and isinstance(t(Image.fromarray(PHOTO)),
                                                           Image.Image)
    with pytest.raises(ValueError, match="'cifar10' or 'imagenet'"):
        aa.AutoAugment('svhn')
    with pytest.raises(ValueError, match='HWC uint8'):
        t(PHOTO.astype(np.float32))
    with pytest.raises(ValueError, match='unknown AutoAugment operation'):
        aa.AutoAugment([(('Cutout', 1.0, 3), ('Invert', 1.0, 0))])
