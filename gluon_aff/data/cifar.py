"""The CIFAR recipe's inputs: CIFAR-10/100 (gluon's files) or the offline digits set, held in
memory and augmented per batch in NumPy.

``cifar_loaders`` returns ``(train, val, num_train)``: ``train`` and ``val`` are epoch
callables, each call a fresh iterator of ``(data, label)`` NDArray batches.
"""
import logging
import os

import mxnet as mx
import numpy as np

from ..core.preprocessing import CIFAR_PREPROCESS
from .autoaugment import AutoAugment
from .digits import digits_dataset

__all__ = ['DATASET_CLASSES', 'classification_dataset', 'dataset_arrays', 'ArrayBatches',
           'cifar_loaders']

logger = logging.getLogger('gluon_aff')

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


def dataset_arrays(dataset):
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
    train_images, train_labels = dataset_arrays(classification_dataset(dataset, True, data_dir,
                                                                coarse_label))
    val_images, val_labels = dataset_arrays(classification_dataset(dataset, False, data_dir,
                                                            coarse_label))
    train = ArrayBatches(train_images, train_labels, batch_size, True, CIFAR_PREPROCESS['mean'], CIFAR_PREPROCESS['std'],
                         flip=dataset != 'digits', augment=augment,
                         auto_aug=AutoAugment('cifar10') if auto_aug else None,
                         num_parts=num_parts, part_index=part_index)
    val = ArrayBatches(val_images, val_labels, batch_size, False, CIFAR_PREPROCESS['mean'], CIFAR_PREPROCESS['std'])
    return train, val, len(train_labels) // num_parts


