"""Evaluation inputs of a zoo network, preprocessed as its ``ModelInfo`` says (the
original's evaluation: resize to ceil(size / crop ratio), centre crop, mean/std), from a
.rec, an image folder or a packaged data set: what ``gluon-aff eval`` reads."""
import math
import os

import mxnet as mx

from .cifar import ArrayBatches, classification_dataset, dataset_arrays
from .imagenet import count_records, rec_iter_batches
from .recordio import check_record_file

__all__ = ['rec_batches', 'folder_batches', 'dataset_batches']


def rec_batches(rec, idx, info, batch_size, workers):
    """Epoch callable over a validation .rec (with its .idx), preprocessed as ``info``
    says: resize to ceil(size / crop ratio), centre crop, mean/std."""
    for flag, path in (('--rec-val', rec), ('--rec-val-idx', idx)):
        if not os.path.isfile(path):
            raise IOError("%s '%s' does not exist" % (flag, path))
    check_record_file(rec, idx, '--rec-val')
    size = info.input_size
    it = mx.io.ImageRecordIter(
        path_imgrec=rec, path_imgidx=idx, preprocess_threads=max(1, workers), shuffle=False,
        batch_size=batch_size, resize=int(math.ceil(size / info.crop_ratio)),
        data_shape=(3, size, size), round_batch=False,
        inter_method=2 if info.interpolation == 'bicubic' else 1,
        mean_r=info.mean[0] * 255, mean_g=info.mean[1] * 255, mean_b=info.mean[2] * 255,
        std_r=info.std[0] * 255, std_g=info.std[1] * 255, std_b=info.std[2] * 255)
    return rec_iter_batches(it, count_records(idx))


def folder_batches(folder, info, batch_size, workers):
    """Epoch callable over an image folder (its val/ sub-folder if present; one sub-folder
    per class), preprocessed as ``info`` says."""
    from mxnet.gluon.data.vision import transforms
    from .folders import CheckedImageFolder
    if os.path.isdir(os.path.join(folder, 'val')):
        folder = os.path.join(folder, 'val')
    if not os.path.isdir(folder):
        raise IOError("--data-dir '%s' does not exist" % folder)
    size = info.input_size
    tf = transforms.Compose([
        transforms.Resize(int(math.ceil(size / info.crop_ratio)), keep_ratio=True,
                          interpolation=2 if info.interpolation == 'bicubic' else 1),
        transforms.CenterCrop(size), transforms.ToTensor(),
        transforms.Normalize(info.mean, info.std)])
    loader = mx.gluon.data.DataLoader(CheckedImageFolder(folder).transform_first(tf),
                                      batch_size=batch_size, num_workers=workers)
    return lambda: iter(loader)


def dataset_batches(name, coarse, data_dir, info, batch_size):
    """The validation split of cifar10, cifar100 or digits, normalised as ``info`` says."""
    images, labels = dataset_arrays(classification_dataset(name, False, data_dir, coarse))
    return ArrayBatches(images, labels, batch_size, False, info.mean, info.std)
