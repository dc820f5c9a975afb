"""Training and validation inputs of the two recipes.

Each ``*_loaders`` function returns ``(train, val, num_train)`` where ``train`` and
``val`` are callables returning a fresh iterator of ``(data, label)`` NDArray batches
for one epoch. CIFAR and digits are augmented in NumPy in the main process; ImageNet
uses MXNet's ImageRecordIter or DataLoader workers (``-j``).
"""
import logging
import math
import os

import mxnet as mx
import numpy as np
from mxnet.gluon.data import DataLoader
from mxnet.gluon.data.vision import transforms
from PIL import Image

from ..model_zoo.registry import CIFAR_PREPROCESS, IMAGENET_PREPROCESS
from .autoaugment import AutoAugment
from .digits import digits_dataset
from .recordio import check_record_file

__all__ = ['CIFAR_MEAN', 'CIFAR_STD', 'IMAGENET_MEAN', 'IMAGENET_STD', 'classification_dataset',
           'ArrayBatches', 'cifar_loaders', 'rec_iter_batches', 'imagenet_rec_loaders',
           'imagenet_folder_loaders', 'imagenet_train_transform', 'imagenet_val_transform',
           'RoundBatchSampler', 'count_records', 'check_class_folders']

logger = logging.getLogger('gluon_aff')

# the zoo's preprocessing constants (model_zoo/registry.py), defined there once
CIFAR_MEAN, CIFAR_STD = CIFAR_PREPROCESS['mean'], CIFAR_PREPROCESS['std']
IMAGENET_MEAN, IMAGENET_STD = IMAGENET_PREPROCESS['mean'], IMAGENET_PREPROCESS['std']
# ImageRecordIter works on 0..255 pixels: the original's own values for it
IMAGENET_MEAN_RGB, IMAGENET_STD_RGB = (123.68, 116.779, 103.939), (58.393, 57.12, 57.375)
DATASET_CLASSES = {'cifar10': 10, 'cifar100': 100, 'digits': 10}


def classification_dataset(name, train, data_dir=None, coarse_label=False):
    """The train or validation split of cifar10, cifar100 (fine labels unless
    ``coarse_label``) or digits, as a dataset of (HWC uint8 image, label)."""
    if name not in ('cifar10', 'cifar100', 'digits'):
        raise ValueError("unknown dataset '%s'; use cifar100, cifar10 or digits" % name)
    if coarse_label and name != 'cifar100':
        logger.warning('--coarse-label applies to CIFAR-100 only; %s keeps its labels', name)
    if name == 'digits':
        return digits_dataset(train)
    root = os.path.expanduser(data_dir or os.path.join('~', '.mxnet', 'datasets', name))
    vision = mx.gluon.data.vision
    try:
        if name == 'cifar10':
            return vision.CIFAR10(root=root, train=train)
        # gluon's CIFAR100 defaults to the 20 coarse labels; the fine labels are the default here
        return vision.CIFAR100(root=root, train=train, fine_label=not coarse_label)
    except Exception as e:  # gluon downloads missing (or altered) files; offline that fails
        raise IOError("%s is not under %s and could not be downloaded (%s: %s). Put gluon's "
                      "%s files there (--data-dir), or train offline with --dataset digits."
                      % (name, root, type(e).__name__, e, name))


def _loader(dataset, transform, batch_size, shuffle, num_workers, last_batch, num_parts=1,
            part_index=0):
    if num_parts > 1:   # a distributed worker reads its own part (gluoncv's SplitSampler)
        from gluoncv.data.sampler import SplitSampler
        return DataLoader(dataset.transform_first(transform), batch_size=batch_size,
                          sampler=SplitSampler(len(dataset), num_parts, part_index),
                          last_batch=last_batch, num_workers=num_workers)
    return DataLoader(dataset.transform_first(transform), batch_size=batch_size,
                      shuffle=shuffle, last_batch=last_batch, num_workers=num_workers)


def _arrays(dataset):
    """(N x H x W x 3 uint8 images, N int labels) of an in-memory dataset."""
    if hasattr(dataset, '_data') and hasattr(dataset, '_label'):    # gluon's CIFAR
        data = dataset._data
        return (data.asnumpy() if isinstance(data, mx.nd.NDArray) else np.asarray(data),
                np.asarray(dataset._label))
    images, labels = zip(*[dataset[i] for i in range(len(dataset))])
    return (np.stack([im.asnumpy() if isinstance(im, mx.nd.NDArray) else np.asarray(im)
                      for im in images]), np.asarray(labels))


class ArrayBatches(object):
    """Batches of an in-memory image set, augmented per batch in NumPy (fast on a CPU:
    no per-image NDArray work that would wait for the training graph).

    Training: shuffle (``np.random``), AutoAugment (if given, per image, on the whole
    image: the original's first transform), zero-pad by ``pad`` and crop back at random,
    horizontal flip with probability 1/2 (if ``flip``); then scale to [0, 1], normalise
    with ``mean``/``std`` and return NCHW float32. Calling the object starts an epoch;
    training drops the last partial batch.
    With ``num_parts`` > 1 training yields only the slice ``part_index`` of each epoch's
    permutation (equal sizes, so that synchronous workers take the same number of steps).
    """

    def __init__(self, images, labels, batch_size, train, mean, std, pad=4, flip=True,
                 augment=True, auto_aug=None, num_parts=1, part_index=0):
        self.num_parts, self.part_index = num_parts, part_index
        self.images, self.labels = images, np.asarray(labels, np.float32)
        self.batch_size, self.train = batch_size, train
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255
        self.pad, self.flip, self.augment, self.auto_aug = pad, flip, augment, auto_aug

    def __len__(self):
        n = len(self.labels)
        if self.train:
            return (n // self.num_parts) // self.batch_size
        return -(-n // self.batch_size)

    def _crop_and_flip(self, batch):
        n, h, w, _ = batch.shape
        p = self.pad
        padded = np.pad(batch, ((0, 0), (p, p), (p, p), (0, 0)))
        ys = np.random.randint(0, 2 * p + 1, n)
        xs = np.random.randint(0, 2 * p + 1, n)
        out = np.stack([padded[i, y:y + h, x:x + w] for i, (y, x) in enumerate(zip(ys, xs))])
        if self.flip:
            flips = np.random.rand(n) < 0.5
            out[flips] = out[flips, :, ::-1]
        return out

    def __call__(self):
        n = len(self.labels)
        order = np.random.permutation(n) if self.train else np.arange(n)
        if self.train and self.num_parts > 1:
            # every worker draws the same permutation (same seed) and takes its own slice
            order = order[self.part_index::self.num_parts][:n // self.num_parts]
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            batch = self.images[idx]
            if self.train and self.auto_aug is not None:
                batch = np.stack([self.auto_aug(im) for im in batch])
            if self.train and self.augment:
                batch = self._crop_and_flip(batch)
            x = ((batch.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
            yield mx.nd.array(x), mx.nd.array(self.labels[idx])


def cifar_loaders(dataset, batch_size, data_dir=None, coarse_label=False, auto_aug=False,
                  augment=True, num_parts=1, part_index=0):
    """CIFAR recipe: optional AutoAugment (CIFAR-10 policy, first), random crop 32 (pad 4),
    horizontal flip (not for digits: mirrored digits are other glyphs), normalise with the
    CIFAR mean/std. Returns (train, val, number of training images of this worker)."""
    train_images, train_labels = _arrays(classification_dataset(dataset, True, data_dir,
                                                                coarse_label))
    val_images, val_labels = _arrays(classification_dataset(dataset, False, data_dir,
                                                            coarse_label))
    train = ArrayBatches(train_images, train_labels, batch_size, True, CIFAR_MEAN, CIFAR_STD,
                         flip=dataset != 'digits', augment=augment,
                         auto_aug=AutoAugment('cifar10') if auto_aug else None,
                         num_parts=num_parts, part_index=part_index)
    val = ArrayBatches(val_images, val_labels, batch_size, False, CIFAR_MEAN, CIFAR_STD)
    return train, val, len(train_labels) // num_parts


class RoundBatchSampler(object):
    """Batches of sample indices as MXNet's ImageRecordIter (``round_batch``) delivers them:
    cut from one continuous stream of passes over the samples; an epoch ends with the batch
    that reaches the end of a pass, filled up from the start of the next pass, and the next
    epoch continues after those samples. So epoch ``e`` is the stream's batches
    ceil(e * n / B) .. ceil((e + 1) * n / B) - 1, as in the original's .rec training.

    Pass ``k`` is shuffled by ``RandomState([seed, k])`` (``seed`` drawn from ``np.random``
    if not given), so that the batches of an epoch depend only on the seed and the epoch:
    a run resumed at ``epoch`` reads what an uninterrupted one would. With ``num_parts`` > 1
    the stream covers this worker's contiguous part (gluoncv's SplitSampler split)."""

    def __init__(self, n, batch_size, shuffle=True, num_parts=1, part_index=0, seed=None,
                 epoch=0):
        part = n // num_parts
        self.first, self.n = part * part_index, part
        self.batch_size, self.shuffle, self.epoch = batch_size, shuffle, epoch
        self.seed = int(np.random.randint(2 ** 31)) if seed is None else seed
        self._passes = {}

    def _pass(self, k):
        if k not in self._passes:
            order = np.arange(self.n)
            if self.shuffle:
                order = np.random.RandomState([self.seed, k]).permutation(self.n)
            self._passes = {k: order + self.first}    # keep the current pass only
        return self._passes[k]

    def _span(self, epoch):
        b = self.batch_size
        return -(-epoch * self.n // b), -(-(epoch + 1) * self.n // b)

    def __len__(self):
        """Batches of the next epoch."""
        start, end = self._span(self.epoch)
        return end - start

    def __iter__(self):
        start, end = self._span(self.epoch)
        self.epoch += 1
        for j in range(start, end):
            offsets = range(j * self.batch_size, (j + 1) * self.batch_size)
            yield [int(self._pass(t // self.n)[t % self.n]) for t in offsets]


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


def imagenet_rec_loaders(opt, batch_size, num_workers, auto_aug=False, augment=True,
                         num_parts=1, part_index=0, start_epoch=0):
    """ImageNet from .rec files: ImageRecordIter (random resized crop 0.08-1, aspect
    3/4-4/3, flip, colour jitter 0.4, PCA lighting 0.1; validation resize
    ceil(size/crop_ratio) + centre crop). With AutoAugment, the training .rec is read
    through ImageRecordDataset with Python transforms instead (the C++ iterator cannot
    apply it), batched by ``RoundBatchSampler`` so that epochs end where the iterator's
    do, and a run resumed at ``start_epoch`` reads what an uninterrupted one would. Either
    way epoch e begins after ceil(e * N / batch) updates, as in the original."""
    paths = [(flag, os.path.expanduser(getattr(opt, attr))) for flag, attr in (
        ('--rec-train', 'rec_train'), ('--rec-train-idx', 'rec_train_idx'),
        ('--rec-val', 'rec_val'), ('--rec-val-idx', 'rec_val_idx'))]
    _check_files(*paths)
    rec_train, rec_train_idx, rec_val, rec_val_idx = [p for _, p in paths]
    check_record_file(rec_train, rec_train_idx, '--rec-train')
    check_record_file(rec_val, rec_val_idx, '--rec-val')
    size = opt.input_size
    resize = int(math.ceil(size / opt.crop_ratio))
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
    return [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


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


def imagenet_folder_loaders(opt, batch_size, num_workers, auto_aug=False, augment=True,
                            num_parts=1, part_index=0):
    """ImageNet from an image folder (``data_dir``/train, ``data_dir``/val). For
    ``input_size`` >= 320: EfficientNet-style random/centre crops with bicubic resizing."""
    root = os.path.expanduser(opt.data_dir)
    for split in ('train', 'val'):
        if not os.path.isdir(os.path.join(root, split)):
            raise IOError("--data-dir '%s' has no %s/ folder (one sub-folder per class); or "
                          "use --use-rec with .rec files" % (root, split))
    size = opt.input_size
    vision = mx.gluon.data.vision
    train_set = vision.ImageFolderDataset(os.path.join(root, 'train'))
    val_set = vision.ImageFolderDataset(os.path.join(root, 'val'))
    check_class_folders(root, train_set, val_set)
    train_tf = imagenet_train_transform(size, auto_aug, augment)
    val_tf = imagenet_val_transform(size, opt.crop_ratio)
    train = _loader(train_set, train_tf, batch_size, True, num_workers, 'discard', num_parts,
                    part_index)
    val = _loader(val_set, val_tf, batch_size, False, num_workers, 'keep')
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
