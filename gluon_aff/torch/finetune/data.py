"""The data of a fine-tuning run: the image folders (bad images named, or skipped and
logged, as ``gluon_aff.data.folders.CheckedImageFolder`` does on the MXNet side), the
training and evaluation transforms, and loaders whose every random draw is a function of
(seed, epoch, process): the data order, the augmentation in each loader worker, so that a
run resumed at an epoch boundary draws what an uninterrupted one draws."""
import io
import os
import re

import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config
from torch.utils.data.distributed import DistributedSampler
from torchvision import transforms as T
from torchvision.datasets import ImageFolder

from ...core.images import BadImageError, first_readable, read_checked, without_empty
from ..transforms import AutoAugment

__all__ = ['CheckedImageFolder', 'open_folders', 'transforms', 'Loaders', 'clean_worker_error',
           'epoch_seed']


def epoch_seed(seed, epoch, rank):
    """The seed of everything random in ``epoch`` on process ``rank``."""
    return (seed * 1000003 + epoch * 1009 + rank * 7919) % (2 ** 31)


class CheckedImageFolder(torch.utils.data.Dataset):
    """torchvision's ``ImageFolder`` layout (one sub-folder per class, labels in sorted
    folder order) yielding (transformed RGB image, label); a bad image raises
    ``BadImageError`` naming it, or with ``skip_bad`` is replaced by the next readable image
    and logged. Empty files are found when the folder is opened."""

    def __init__(self, root, skip_bad=False, transform=None):
        try:
            folder = ImageFolder(root, loader=lambda p: p)
        except FileNotFoundError as e:          # an empty class folder, or none at all
            raise FileNotFoundError('%s: %s' % (root, e)) from None
        self.root, self.classes = root, folder.classes
        self.skip_bad, self.transform = skip_bad, transform
        self.samples, empty = without_empty(root, list(folder.samples), skip_bad)
        self.skipped = set(empty)

    def __len__(self):
        return len(self.samples)

    @staticmethod
    def read(path):
        """The image at ``path`` as an RGB PIL image (grayscale, CMYK and alpha converted),
        or ``BadImageError``."""
        return read_checked(path, _decode)

    def __getitem__(self, index):
        img, label = first_readable(self.samples, index, self.read, self.skip_bad,
                                    self.skipped)
        return (self.transform(img) if self.transform is not None else img), label


def _decode(data):
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.convert('RGB')
    except Exception as e:                      # PIL's many decoder errors
        raise ValueError('PIL cannot decode it (%s)' % (str(e).splitlines()[0] if str(e)
                                                        else type(e).__name__))


def open_folders(data_dir, skip_bad=False):
    """(train, val) ``CheckedImageFolder``s of ``data_dir``, whose classes must agree."""
    folders = {}
    for split in ('train', 'val'):
        path = os.path.join(data_dir, split)
        if not os.path.isdir(path):
            raise FileNotFoundError('%s: no such folder; the data folder needs train/ and val/, '
                                    'one subfolder per class in each' % path)
        folders[split] = CheckedImageFolder(path, skip_bad)
    train, val = folders['train'].classes, folders['val'].classes
    if len(train) < 2:
        raise ValueError('%s holds %s: a classifier needs at least two classes to tell apart '
                         '(a one-class softmax is always right and learns nothing); add a '
                         'subfolder of images per class'
                         % (os.path.join(data_dir, 'train'),
                            'one class folder (%s)' % train[0] if train else 'no class folder'))
    if train != val:
        raise ValueError('%s: the classes of val/ and train/ differ (only in train/: %s; only '
                         'in val/: %s); the labels would not match'
                         % (data_dir, sorted(set(train) - set(val)) or 'none',
                            sorted(set(val) - set(train)) or 'none'))
    return folders['train'], folders['val']


def transforms(net, auto_augment, hflip):
    """(training transform, evaluation transform) for ``net``: the original's AutoAugment
    first (optional), then the crop of its family (CIFAR-size networks: pad by 1/8 and crop,
    as the original's CIFAR training; others: a random resized crop), a horizontal flip
    (optional), the zoo's mean and std; evaluation as timm resolves ``net``'s config."""
    data_config = resolve_data_config({}, model=net)
    size = data_config['input_size'][-1]
    steps = [AutoAugment(auto_augment)] if auto_augment else []
    if size <= 64:      # a CIFAR-size network: the original's CIFAR crop
        steps += [T.Resize(size), T.RandomCrop(size, padding=size // 8)]
    else:
        steps += [T.RandomResizedCrop(size, interpolation=T.InterpolationMode.BICUBIC
                                      if data_config['interpolation'] == 'bicubic'
                                      else T.InterpolationMode.BILINEAR)]
    if hflip:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(data_config['mean'], data_config['std'])]
    return T.Compose(steps), create_transform(**data_config)


class _Shard(torch.utils.data.Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[self.indices[i]]


class Loaders(object):
    """The training loader (a process's share of a permutation drawn from (seed, epoch),
    full batches only) and the validation loader (the process's share, in order).
    ``epoch(e)`` gives epoch e's training batches; every random draw in them (order,
    augmentation in each worker) is a function of (seed, e, rank)."""

    def __init__(self, train, val, batch_size, workers, seed, rank, world):
        if len(train) < batch_size * world:
            raise ValueError('%d training images are fewer than one step takes (--batch-size %d '
                             'x %d process(es))' % (len(train), batch_size, world))
        if len(val) < world:
            raise ValueError('%d validation images for %d processes: each needs one'
                             % (len(val), world))
        self.seed, self.rank = seed, rank
        self.sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)
        self.generator = torch.Generator()
        # workers start anew each epoch (not persistent): their seeds come from the
        # generator, re-seeded per epoch, so a resumed epoch repeats its draws
        self.train = torch.utils.data.DataLoader(
            train, batch_size, sampler=self.sampler, drop_last=True, num_workers=workers,
            generator=self.generator)
        self.val = torch.utils.data.DataLoader(_Shard(val, range(rank, len(val), world)),
                                               batch_size, num_workers=workers)
        self.steps = len(self.train)

    def epoch(self, epoch):
        self.sampler.set_epoch(epoch)
        self.generator.manual_seed(epoch_seed(self.seed, epoch, self.rank))
        return self.train


def clean_worker_error(error):
    """A loader worker's ``BadImageError`` arrives wrapped in the worker's traceback: the
    error alone, first and without it; other errors as they are."""
    text = str(error)
    if 'BadImageError' in text and 'DataLoader worker' in text:
        found = re.findall(r'BadImageError: (.*)', text)
        if found:
            return BadImageError(found[-1].strip())
    return error
