"""The ImageNet recipe's inputs: .rec files through MXNet's ImageRecordIter (or, with
AutoAugment, Python transforms), or an image folder through DataLoader workers (``-j``).

Each ``*_loaders`` function returns ``(train, val, num_train)``: epoch callables and the
number of training images of this worker.
"""
import logging
import math
import os

import mxnet as mx
import numpy as np
from mxnet.gluon.data import DataLoader
from mxnet.gluon.data.vision import transforms
from PIL import Image

from ..core.preprocessing import IMAGENET_PREPROCESS
from .autoaugment import AutoAugment
from .folders import CheckedImageFolder
from .recordio import check_record_file
from .samplers import RoundBatchSampler, part_loader

__all__ = ['imagenet_rec_loaders', 'imagenet_folder_loaders', 'imagenet_train_transform',
           'imagenet_val_transform', 'rec_iter_batches', 'count_records',
           'check_class_folders']

logger = logging.getLogger('gluon_aff')

# ImageRecordIter works on 0..255 pixels: the original's own values for it
IMAGENET_MEAN_RGB, IMAGENET_STD_RGB = (123.68, 116.779, 103.939), (58.393, 57.12, 57.375)


def _check_files(*paths):
    for flag, path in paths:
        if not os.path.isfile(path):
            raise IOError("%s '%s' does not exist; pass the right path (see cmd_scripts.txt "
                          "and `gluon-aff pack-rec` to make .rec files)" % (flag, path))


def count_records(idx_path):
    """Number of records listed in a .idx file."""
    with open(idx_path) as f:
        return sum(1 for line in f if line.strip())


def rec_iter_batches(it, total=None):
    """Epoch callable over an ImageRecordIter. With ``total`` (the number of records),
    stop there: the iterator fills its last batch from the start of the file and does
    not always report that as padding.

    A fresh iterator is not reset before its first epoch: ``reset()`` races with the
    iterator's prefetching, and once the prefetcher has read past the end of the first
    pass (small files) the reset does not rewind, so the first epoch would lose a batch.
    Epoch e then begins after ceil(e * N / batch) batches whatever the file's size, as in
    the original's ImageNet training."""
    fresh = [True]

    def batches():
        if not fresh[0]:
            it.reset()
        fresh[0] = False
        left = total
        for batch in it:
            data, label = batch.data[0], batch.label[0]
            if left is not None:
                n = min(data.shape[0] - batch.pad, left)
                if n <= 0:
                    break
                left -= n
                data, label = data[:n], label[:n]
            yield data, label
    return batches


def imagenet_rec_loaders(rec_train, rec_train_idx, rec_val, rec_val_idx, input_size, crop_ratio,
                         batch_size, num_workers, auto_aug=False, augment=True, num_parts=1,
                         part_index=0, start_epoch=0):
    """ImageNet from .rec files: ImageRecordIter (random resized crop 0.08-1, aspect
    3/4-4/3, flip, colour jitter 0.4, PCA lighting 0.1; validation resize
    ceil(size/crop_ratio) + centre crop). With AutoAugment, the training .rec is read
    through ImageRecordDataset with Python transforms instead (the C++ iterator cannot
    apply it), batched by ``RoundBatchSampler`` so that epochs end where the iterator's
    do, and a run resumed at ``start_epoch`` reads what an uninterrupted one would. Either
    way epoch e begins after ceil(e * N / batch) updates, as in the original."""
    paths = [(flag, os.path.expanduser(path)) for flag, path in (
        ('--rec-train', rec_train), ('--rec-train-idx', rec_train_idx),
        ('--rec-val', rec_val), ('--rec-val-idx', rec_val_idx))]
    _check_files(*paths)
    rec_train, rec_train_idx, rec_val, rec_val_idx = [p for _, p in paths]
    check_record_file(rec_train, rec_train_idx, '--rec-train')
    check_record_file(rec_val, rec_val_idx, '--rec-val')
    size = input_size
    resize = int(math.ceil(size / crop_ratio))
    threads = max(1, num_workers)
    norm = dict(mean_r=IMAGENET_MEAN_RGB[0], mean_g=IMAGENET_MEAN_RGB[1],
                mean_b=IMAGENET_MEAN_RGB[2], std_r=IMAGENET_STD_RGB[0],
                std_g=IMAGENET_STD_RGB[1], std_b=IMAGENET_STD_RGB[2])
    if auto_aug:
        logger.info('--auto_aug with --use-rec: reading %s through ImageRecordDataset with '
                    'Python transforms (AutoAugment, ImageNet policy)', rec_train)
        dataset = mx.gluon.data.vision.ImageRecordDataset(rec_train)
        sampler = RoundBatchSampler(len(dataset), batch_size, True, num_parts, part_index,
                                    epoch=start_epoch)
        train_loader = DataLoader(
            dataset.transform_first(imagenet_train_transform(size, True, augment)),
            batch_sampler=sampler, num_workers=num_workers)
        train = lambda: iter(train_loader)  # noqa: E731
    else:
        aug = dict(rand_mirror=True, random_resized_crop=True, max_aspect_ratio=4. / 3.,
                   min_aspect_ratio=3. / 4., max_random_area=1, min_random_area=0.08,
                   brightness=0.4, saturation=0.4, contrast=0.4, pca_noise=0.1) if augment \
            else dict(resize=resize)
        train = rec_iter_batches(mx.io.ImageRecordIter(
            path_imgrec=rec_train, path_imgidx=rec_train_idx, preprocess_threads=threads,
            shuffle=True, batch_size=batch_size, data_shape=(3, size, size),
            num_parts=num_parts, part_index=part_index, **dict(norm, **aug)))
    val = rec_iter_batches(mx.io.ImageRecordIter(
        path_imgrec=rec_val, path_imgidx=rec_val_idx, preprocess_threads=threads,
        shuffle=False, batch_size=batch_size, resize=resize, data_shape=(3, size, size),
        **norm), count_records(rec_val_idx))
    return train, val, count_records(rec_train_idx) // num_parts


def _colour(augment):
    """Colour jitter 0.4 and PCA lighting 0.1 (training with augmentation only)."""
    return [transforms.RandomColorJitter(brightness=0.4, contrast=0.4, saturation=0.4),
            transforms.RandomLighting(0.1)] if augment else []


def _normalise():
    return [transforms.ToTensor(), transforms.Normalize(IMAGENET_PREPROCESS['mean'], IMAGENET_PREPROCESS['std'])]


def imagenet_train_transform(size, auto_aug=False, augment=True):
    """The ImageNet training transform of an HWC uint8 image, as the original: AutoAugment
    (ImageNet policy) first, on the whole image; then random-resized crop and flip, or for
    ``size`` >= 320 EfficientNet's random crop, bicubic resize and flip; colour jitter 0.4
    and PCA lighting 0.1; normalise. ``augment=False`` resizes and centre-crops instead
    (debugging)."""
    steps = [AutoAugment('imagenet')] if auto_aug else []
    if size >= 320:
        from gluoncv.utils.transforms import EfficientNetCenterCrop, EfficientNetRandomCrop
        crop = EfficientNetRandomCrop(size) if augment else EfficientNetCenterCrop(size)
        steps += [_PIL(crop), _PILResize(size, Image.BICUBIC)]
        steps += [transforms.RandomFlipLeftRight()] if augment else []
    elif augment:
        steps += [transforms.RandomResizedCrop(size), transforms.RandomFlipLeftRight()]
    else:
        steps += [transforms.Resize(size, keep_ratio=True), transforms.CenterCrop(size)]
    return transforms.Compose(steps + _colour(augment) + _normalise())


def imagenet_val_transform(size, crop_ratio=0.875):
    """Validation: resize the short side to ceil(size / crop_ratio) and centre-crop (for
    ``size`` >= 320, EfficientNet's centre crop with bicubic resizing); normalise."""
    if size >= 320:
        from gluoncv.utils.transforms import EfficientNetCenterCrop
        steps = [_PIL(EfficientNetCenterCrop(size)), _PILResize(size, Image.BICUBIC)]
    else:
        steps = [transforms.Resize(int(math.ceil(size / crop_ratio)), keep_ratio=True),
                 transforms.CenterCrop(size)]
    return transforms.Compose(steps + _normalise())


def imagenet_folder_loaders(data_dir, input_size, crop_ratio, batch_size, num_workers,
                            auto_aug=False, augment=True, num_parts=1, part_index=0,
                            skip_bad=False):
    """ImageNet from an image folder (``data_dir``/train, ``data_dir``/val). For
    ``input_size`` >= 320: EfficientNet-style random/centre crops with bicubic resizing.
    Bad images: see ``data.folders`` (``skip_bad``: skipped and logged)."""
    root = os.path.expanduser(data_dir)
    for split in ('train', 'val'):
        if not os.path.isdir(os.path.join(root, split)):
            raise IOError("--data-dir '%s' has no %s/ folder (one sub-folder per class); or "
                          "use --use-rec with .rec files" % (root, split))
    size = input_size
    train_set = CheckedImageFolder(os.path.join(root, 'train'), skip_bad)
    val_set = CheckedImageFolder(os.path.join(root, 'val'), skip_bad)
    check_class_folders(root, train_set, val_set)
    train_tf = imagenet_train_transform(size, auto_aug, augment)
    val_tf = imagenet_val_transform(size, crop_ratio)
    train = part_loader(train_set, train_tf, batch_size, True, num_workers, 'discard', num_parts,
                    part_index)
    val = part_loader(val_set, val_tf, batch_size, False, num_workers, 'keep')
    return (lambda: iter(train)), (lambda: iter(val)), len(train_set) // num_parts


def check_class_folders(root, train_set, val_set):
    """Labels are the positions of the class folders in sorted order, so train/ and val/
    must hold the same classes, each with images: else every label after a missing class
    shifts silently. ValueError naming the folders, before the first epoch."""
    problems = []
    for split, dataset in (('train', train_set), ('val', val_set)):
        counts = np.bincount([label for _, label in dataset.items],
                             minlength=len(dataset.synsets))
        empty = [name for name, n in zip(dataset.synsets, counts) if n == 0]
        if empty:
            problems.append('%s/ has class folders without images: %s'
                            % (split, ', '.join(empty[:5])))
    only_train = sorted(set(train_set.synsets) - set(val_set.synsets))
    only_val = sorted(set(val_set.synsets) - set(train_set.synsets))
    if only_train:
        problems.append('val/ lacks the class folder(s) %s that train/ has'
                        % ', '.join(only_train[:5]))
    if only_val:
        problems.append('val/ has class folder(s) %s that train/ lacks'
                        % ', '.join(only_val[:5]))
    if problems:
        raise ValueError("--data-dir '%s': %s. Labels are the sorted class folders' "
                         'positions: give train/ and val/ the same class folders, each with '
                         'images' % (root, '; '.join(problems)))


class _PIL(mx.gluon.Block):
    """Apply a PIL-image function to an HWC uint8 NDArray."""

    def __init__(self, fn):
        super(_PIL, self).__init__()
        self._fn = fn

    def forward(self, x):
        out = self._fn(Image.fromarray(x.asnumpy()))
        return mx.nd.array(np.asarray(out), dtype='uint8')


class _PILResize(_PIL):
    def __init__(self, size, resample):
        super(_PILResize, self).__init__(lambda img: img.resize((size, size), resample))
        self.size, self.resample = size, resample
