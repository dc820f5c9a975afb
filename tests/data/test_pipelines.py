"""Input pipelines on real images, against values computed here independently: the zoo's
evaluation preprocessing, AutoAugment's place, the ImageNet training and validation
transforms (224 and 320 px)."""
import math
import os

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_aff.data import autoaugment as aa
from gluon_aff.data.digits import digits_arrays
from gluon_aff.data.photos import sample_photos
from gluon_aff.data.cifar import ArrayBatches
from gluon_aff.data.imagenet import imagenet_train_transform, imagenet_val_transform
from gluon_aff.model_zoo import get_model_info
from gluon_aff.data.eval_transform import eval_transform, load_image

PHOTO = sample_photos()[0]        # Grace Hopper
# torchvision's and gluoncv's ImageNet normalisation, written here
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def _linear_resize(img, new_h, new_w):
    """Bilinear resize with half-pixel centres and no antialiasing (OpenCV's INTER_LINEAR),
    in float64, written here from its definition."""
    def weights(out, size):
        pos = (np.arange(out) + 0.5) * size / out - 0.5
        lo = np.floor(pos).astype(int)
        frac = pos - lo
        frac[lo < 0] = 0
        lo = np.clip(lo, 0, size - 1)
        hi = np.clip(lo + 1, 0, size - 1)
        return lo, hi, frac
    y0, y1, fy = weights(new_h, img.shape[0])
    x0, x1, fx = weights(new_w, img.shape[1])
    img = img.astype(np.float64)
    rows = img[y0] * (1 - fy)[:, None, None] + img[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def test_eval_preprocessing_on_a_photograph():
    info = get_model_info('iaff_resnet50')          # 224 px, crop ratio 0.875, bilinear
    img = load_image(PHOTO).asnumpy()               # decoding is not under test
    h, w = img.shape[:2]
    short = int(math.ceil(224 / 0.875))             # 256
    assert short == 256 and (h, w) == (600, 512)
    new_h, new_w = short * h // w, short            # the short side is the width
    resized = _linear_resize(img, new_h, new_w)
    top, left = (new_h - 224) // 2, (new_w - 224) // 2
    crop = resized[top:top + 224, left:left + 224] / 255.0
    expected = ((crop - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]
    got = eval_transform(info, load_image(PHOTO)).asnumpy()
    assert got.shape == (1, 3, 224, 224)
    # OpenCV rounds its fixed-point weights: one grey level at most
    assert np.abs(got - expected).max() <= 1.01 / 255 / min(IMAGENET_STD)
    # dropping the crop ratio (resizing straight to 224) would be far off
    direct = _linear_resize(img, 224 * h // w, 224)[(224 * h // w - 224) // 2:][:224] / 255.0
    assert np.abs(((direct - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]
                  - got).max() > 0.5


def test_the_digits_are_scikit_learns_resized_bilinearly():
    from sklearn.datasets import load_digits
    images, labels = digits_arrays()
    digits = load_digits()
    assert images.shape == (1797, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, digits.target)
    assert (images == images[..., :1]).all()                  # grey, copied to three
    small = digits.images * (255.0 / 16)
    for i in (0, 511, 512, 1000, 1796):     # either side of the 512-channel blocks
        expected = _linear_resize(np.round(small[i])[:, :, None], 32, 32)[:, :, 0]
        # OpenCV rounds its fixed-point weights: one grey level at most
        assert np.abs(images[i, :, :, 0] - expected).max() <= 1.01, i
    # and bit for bit what OpenCV gives one digit at a time (the data's definition)
    for i in (0, 511, 512, 1796):
        digit = mx.nd.array(np.round(small[i])[:, :, None], dtype='uint8')
        alone = mx.image.imresize(digit, 32, 32, interp=1).asnumpy()[:, :, 0]
        np.testing.assert_array_equal(images[i, :, :, 0], alone)


def test_autoaugment_sees_the_whole_image_first():
    images, labels = digits_arrays()
    seen = []

    def recorder(img):
        seen.append(img.copy())
        return np.full_like(img, 200)            # then a constant image goes on
    batches = ArrayBatches(images[:8], labels[:8], 8, True, (0, 0, 0), (1, 1, 1), pad=4,
                           auto_aug=recorder)
    np.random.seed(0)
    x, _ = next(batches())
    order = np.random.RandomState(0).permutation(8)
    for got, i in zip(seen, order):             # uncropped, unpadded, unflipped
        np.testing.assert_array_equal(got, images[i])
    # crop and flip came after: the constant image, shifted by at most 4 pixels with zeros
    x = x.asnumpy() * 255
    assert np.allclose(x[:, :, 4:28, 4:28], 200) and np.allclose(np.unique(x), [0, 200])


def _leaves(block):
    """The transforms of a Compose in order (gluon nests consecutive hybrid ones)."""
    kids = list(block._children.values())
    if not kids or type(block).__name__ in ('_PIL', '_PILResize', 'AutoAugment'):
        return [block]
    return [leaf for kid in kids for leaf in _leaves(kid)]


def test_imagenet_training_transforms():
    children = lambda t: [type(c).__name__ for c in _leaves(t)]  # noqa: E731
    assert children(imagenet_train_transform(224, auto_aug=True)) == [
        'AutoAugment', 'RandomResizedCrop', 'RandomFlipLeftRight', 'RandomColorJitter',
        'RandomLighting', 'ToTensor', 'Normalize']
    big = imagenet_train_transform(320, auto_aug=True)
    assert children(big) == ['AutoAugment', '_PIL', '_PILResize', 'RandomFlipLeftRight',
                             'RandomColorJitter', 'RandomLighting', 'ToTensor', 'Normalize']
    assert _leaves(big)[2].resample == Image.BICUBIC and _leaves(big)[2].size == 320
    out = big(load_image(PHOTO))
    assert out.shape == (3, 320, 320) and out.dtype == np.float32
    assert isinstance(_leaves(big)[0], aa.AutoAugment)


def test_imagenet_validation_at_320_is_efficientnets_centre_crop_bicubic():
    photo = Image.open(PHOTO).convert('RGB')
    w, h = photo.size
    side = 320.0 / (320 + 32) * min(w, h)                   # gluoncv's EfficientNet crop
    top, left = int(round((h - side) / 2.)), int(round((w - side) / 2.))
    crop = photo.crop((left, top, left + side, top + side)).resize((320, 320), Image.BICUBIC)
    expected = ((np.asarray(crop) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    got = imagenet_val_transform(320)(mx.nd.array(np.asarray(photo), dtype='uint8')).asnumpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    small = imagenet_val_transform(224)(mx.nd.array(np.asarray(photo), dtype='uint8'))
    assert small.shape == (3, 224, 224)


def test_class_folders_that_would_shift_the_labels_are_named(tmp_path):
    """A validation class missing from training (or an extra, or an empty one) would shift
    every label after it: a clear error before the first epoch."""
    from mxnet.gluon.data.vision import ImageFolderDataset
    from gluon_aff.data.imagenet import check_class_folders

    def folder(split, classes):
        for name, count in classes.items():
            os.makedirs(str(tmp_path / split / name), exist_ok=True)
            for i in range(count):
                (tmp_path / split / name / ('%d.jpg' % i)).write_bytes(b'')
        return ImageFolderDataset(str(tmp_path / split))

    train = folder('train', {'ant': 2, 'bee': 1, 'cat': 2})
    check_class_folders(str(tmp_path), train, folder('val_same', {'ant': 1, 'bee': 1,
                                                                   'cat': 1}))
    with pytest.raises(ValueError, match=r"val/ lacks the class folder\(s\) bee that train/ "
                                         r'has.*same class folders'):
        check_class_folders(str(tmp_path), train, folder('val_missing', {'ant': 1, 'cat': 1}))
    with pytest.raises(ValueError, match=r"val/ has class folder\(s\) dog that train/ lacks"):
        check_class_folders(str(tmp_path), train, folder('val_extra', {'ant': 1, 'bee': 1,
                                                                        'cat': 1, 'dog': 1}))
    with pytest.raises(ValueError, match='val/ has class folders without images: cat'):
        check_class_folders(str(tmp_path), train, folder('val_empty', {'ant': 1, 'bee': 1,
                                                                        'cat': 0}))
