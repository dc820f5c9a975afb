"""Fine-tune a zoo network on an image folder in PyTorch, on one process or several.

``run(FinetuneConfig(...))`` is the API; ``python -m gluon_aff.torch.finetune`` the
command, the same under ``torchrun --nproc_per_node N`` (DistributedDataParallel: gloo on
CPUs, NCCL on GPUs; each process takes ``batch_size`` images per step). The folder holds
``train/`` and ``val/``, one subfolder per class, as torchvision's ``ImageFolder`` reads it.

The recipe: the original's AutoAugment first (``gluon_aff.torch.AutoAugment``, optional),
then the crop of the network's family (CIFAR-size networks: pad by 1/8 and crop, like the
original's CIFAR training; others: a random resized crop), a horizontal flip (optional),
the zoo's mean and std; timm's mixup/cutmix with label smoothing (``timm.data.Mixup`` and
``SoftTargetCrossEntropy``; plain label-smoothed cross-entropy when both alphas are 0);
SGD with Nesterov momentum (the original's 'nag'), a linear warm-up and a cosine decay per step. Validation uses the zoo's
evaluation transform (timm's ``resolve_data_config`` of the network). Rank 0 writes
``last.safetensors`` and ``best.safetensors`` (never half-written), ``history.json``,
``history.png`` and ``finetune.log`` to ``out_dir``; a checkpoint reloads with
``get_model(model, pretrained=out_dir + '/best.safetensors', classes=N, **model_kwargs)``.
"""
import argparse
import dataclasses
import json
import logging
import math
import os
import random
import sys
import time
from typing import Optional

import numpy as np
import torch

from ..core.atomic import atomic_path, write_atomically
from ..core.plots import plot_history

__all__ = ['FinetuneConfig', 'FinetuneResult', 'run', 'main']

logger = logging.getLogger('gluon_aff.finetune')


@dataclasses.dataclass
class FinetuneConfig:
    """What a fine-tuning run needs. ``pretrained``: True (the released weights), False,
    or a checkpoint path (MXNet ``.params``, ``.safetensors`` or a state dict); a
    classifier of another size is replaced by a fresh one."""
    model: str
    data_dir: str
    out_dir: str
    pretrained: object = True
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    wd: float = 1e-4
    warmup_epochs: float = 0.0
    mixup: float = 0.2
    cutmix: float = 0.0
    label_smoothing: float = 0.1
    auto_augment: Optional[str] = 'imagenet'
    hflip: bool = True
    workers: int = 2
    seed: int = 0
    channels_last: bool = False
    # torch.compile's backend ('inductor' fuses the fusion modules' element-wise work:
    # benchmarks/train_step_cost.md), or None for eager; the first steps compile
    compile: Optional[object] = None

    def check(self):
        problems = []
        for key in ('epochs', 'batch_size'):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append('%s=%r must be a whole number of at least 1' % (key, value))
        if not isinstance(self.workers, int) or self.workers < 0:
            problems.append('workers=%r must be a whole number >= 0' % (self.workers,))
        for key in ('lr', 'momentum', 'wd', 'warmup_epochs', 'mixup', 'cutmix',
                    'label_smoothing'):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                    not math.isfinite(value) or value < 0:
                problems.append('%s=%r must be a number >= 0' % (key, value))
        if self.lr == 0:
            problems.append('lr=0 would not train')
        if not 0 <= self.label_smoothing < 1:
            problems.append('label_smoothing=%r must be in [0, 1)' % (self.label_smoothing,))
        if self.auto_augment not in (None, 'cifar10', 'imagenet'):
            problems.append("auto_augment=%r must be 'cifar10', 'imagenet' or None"
                            % (self.auto_augment,))
        if (self.mixup or self.cutmix) and self.batch_size % 2:
            problems.append('batch_size=%d must be even for mixup/cutmix (timm mixes a batch '
                            'with its reverse)' % self.batch_size)
        if self.compile is not None and not isinstance(self.compile, str) and \
                not callable(self.compile):
            problems.append("compile=%r must be a torch.compile backend ('inductor') or None"
                            % (self.compile,))
        if problems:
            raise ValueError('fine-tuning configuration: ' + '; '.join(problems))
        return self


@dataclasses.dataclass
class FinetuneResult:
    """What ``run`` returns: the best validation top-1 and its epoch, the checkpoint paths
    (written by rank 0), one dict per epoch, the class names (label order), the number of
    processes, and the trained network (the last epoch's weights)."""
    best_acc: float
    best_epoch: int
    best: str
    last: str
    history: list
    classes: list
    world_size: int
    net: torch.nn.Module = dataclasses.field(repr=False, default=None)


def _distributed():
    """(rank, world size, device), joining the process group when run by torchrun."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    cuda = torch.cuda.is_available()
    local = int(os.environ.get('LOCAL_RANK', '0'))
    device = torch.device('cuda', local) if cuda else torch.device('cpu')
    if world == 1:
        return 0, 1, device
    import torch.distributed as dist
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group('nccl' if cuda else 'gloo')
    return dist.get_rank(), dist.get_world_size(), device


def _image_folders(data_dir):
    from torchvision.datasets import ImageFolder
    folders = {}
    for split in ('train', 'val'):
        path = os.path.join(data_dir, split)
        if not os.path.isdir(path):
            raise FileNotFoundError('%s: no such folder; the data folder needs train/ and val/, '
                                    'one subfolder per class in each' % path)
        try:
            folders[split] = ImageFolder(path)
        except FileNotFoundError as e:      # an empty class folder, or none at all
            raise FileNotFoundError('%s: %s' % (path, e)) from None
    train, val = folders['train'].classes, folders['val'].classes
    if train != val:
        raise ValueError('%s: the classes of val/ and train/ differ (only in train/: %s; only '
                         'in val/: %s); the labels would not match'
                         % (data_dir, sorted(set(train) - set(val)) or 'none',
                            sorted(set(val) - set(train)) or 'none'))
    return folders['train'], folders['val']


def _transforms(net, config):
    from timm.data import create_transform, resolve_data_config
    from torchvision import transforms as T
    from .transforms import AutoAugment
    data_config = resolve_data_config({}, model=net)
    size = data_config['input_size'][-1]
    steps = [AutoAugment(config.auto_augment)] if config.auto_augment else []
    if size <= 64:      # a CIFAR-size network: the original's CIFAR crop
        steps += [T.Resize(size), T.RandomCrop(size, padding=size // 8)]
    else:
        steps += [T.RandomResizedCrop(size, interpolation=T.InterpolationMode.BICUBIC
                                      if data_config['interpolation'] == 'bicubic'
                                      else T.InterpolationMode.BILINEAR)]
    if config.hflip:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(data_config['mean'], data_config['std'])]
    return T.Compose(steps), create_transform(**data_config)


class _Transformed(torch.utils.data.Dataset):
    def __init__(self, folder, transform, indices=None):
        self.folder, self.transform = folder, transform
        self.indices = list(range(len(folder))) if indices is None else list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        path, label = self.folder.samples[self.indices[i]]
        try:
            img = self.folder.loader(path)
        except Exception as e:
            raise IOError('cannot read the image %s (%s: %s); remove or replace it'
                          % (path, type(e).__name__, e)) from None
        return self.transform(img), label


def _schedule(config, steps_per_epoch):
    warmup = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
    return factor


def _evaluate(net, loader, device, world):
    net.eval()
    counts = torch.zeros(3, dtype=torch.float64)      # top-1 hits, top-5 hits, images
    with torch.no_grad():
        for x, y in loader:
            out = net(x.to(device))
            top = out.topk(min(5, out.shape[1]), dim=1).indices.cpu()
            counts[0] += (top[:, 0] == y).sum().item()
            counts[1] += (top == y[:, None]).any(dim=1).sum().item()
            counts[2] += len(y)
    if world > 1:
        import torch.distributed as dist
        dist.all_reduce(counts)
    return counts[0].item() / counts[2].item(), counts[1].item() / counts[2].item(), \
        int(counts[2].item())


def _log_to(out_dir, rank):
    """This run's log file and stderr (rank 0), replacing an earlier run's in this process."""
    logger.setLevel(logging.INFO)
    for handler in [h for h in logger.handlers if getattr(h, '_finetune', False)]:
        logger.removeHandler(handler)
        handler.close()
    if rank != 0:
        return
    os.makedirs(out_dir, exist_ok=True)
    for handler in (logging.FileHandler(os.path.join(out_dir, 'finetune.log')),
                    logging.StreamHandler(sys.stderr)):
        handler.setFormatter(logging.Formatter('%(asctime)s %(message)s'))
        handler._finetune = True
        logger.addHandler(handler)


def run(config):
    """Fine-tune as ``config`` says; returns a ``FinetuneResult`` (on every process)."""
    from safetensors.torch import save_file
    from .registry import get_model
    config.check()
    rank, world, device = _distributed()
    _log_to(config.out_dir, rank)
    random.seed(config.seed + rank)
    np.random.seed(config.seed + rank)
    torch.manual_seed(config.seed)      # the same initial weights on every process

    train_folder, val_folder = _image_folders(config.data_dir)
    classes = train_folder.classes
    net = get_model(config.model, pretrained=config.pretrained, classes=len(classes),
                    **config.model_kwargs).to(device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    train_tf, val_tf = _transforms(net, config)
    train_set = _Transformed(train_folder, train_tf)
    val_set = _Transformed(val_folder, val_tf, range(rank, len(val_folder), world))
    if len(train_set) < config.batch_size * world:
        raise ValueError('%d training images are fewer than one step takes (batch_size %d x '
                         '%d processes)' % (len(train_set), config.batch_size, world))
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(
            train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed,
            drop_last=True)
    else:
        sampler = torch.utils.data.RandomSampler(
            train_set, generator=torch.Generator().manual_seed(config.seed))
    train_loader = torch.utils.data.DataLoader(
        train_set, config.batch_size, sampler=sampler, drop_last=True,
        num_workers=config.workers, persistent_workers=config.workers > 0,
        generator=torch.Generator().manual_seed(config.seed + rank))
    val_loader = torch.utils.data.DataLoader(val_set, config.batch_size,
                                             num_workers=config.workers)

    model = net
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else None)
    if config.compile:
        model = torch.compile(model, backend=config.compile)
    # Nesterov momentum, as the original's CIFAR and ImageNet scripts ('nag')
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.wd, nesterov=config.momentum > 0)
    steps = len(train_loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, steps))
    from timm.data import Mixup
    from timm.loss import SoftTargetCrossEntropy
    mixup = None
    if config.mixup or config.cutmix:
        mixup = Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix,
                      label_smoothing=config.label_smoothing, num_classes=len(classes))
        criterion = SoftTargetCrossEntropy()
    else:
        criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    paths = {k: os.path.join(config.out_dir, k + '.safetensors') for k in ('best', 'last')}
    metadata = {'model': config.model, 'classes': json.dumps(classes),
                'model_kwargs': json.dumps(config.model_kwargs)}
    logger.info('fine-tuning %s on %s: %d training images, %d validation, %d classes, %d '
                'process(es), %d steps per epoch', config.model, config.data_dir,
                len(train_set), len(val_folder), len(classes), world, steps)
    history, best_acc, best_epoch = [], -1.0, -1
    progress = rank == 0 and sys.stderr.isatty()
    for epoch in range(config.epochs):
        if world > 1:
            sampler.set_epoch(epoch)
        model.train()
        start, total_loss, seen = time.time(), 0.0, 0
        batches = train_loader
        if progress:
            from tqdm import tqdm
            batches = tqdm(train_loader, desc='epoch %d' % epoch, leave=False)
        for i, (x, y) in enumerate(batches):
            x, y = x.to(device), y.to(device)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if mixup is not None:
                x, y = mixup(x, y)
            # the twin's BatchNorm updates its statistics only where a gradient flows, as
            # MXNet does: the CIFAR ResNet's input BatchNorm learns them from this
            x.requires_grad_(True)
            loss = criterion(model(x), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    'the loss became %s at epoch %d, batch %d (learning rate %.4g); nothing '
                    'was saved from this epoch; the last good checkpoint is %s. Lower the '
                    'learning rate (lr=%g)' % (loss.item(), epoch, i, scheduler.get_last_lr()[0],
                                               paths['last'] if history else 'none', config.lr))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(x)
            seen += len(x)
        top1, top5, n_val = _evaluate(model, val_loader, device, world)
        row = dict(epoch=epoch, train_loss=total_loss / seen, val_top1=top1, val_top5=top5,
                   lr=scheduler.get_last_lr()[0], images_per_s=seen * world /
                   (time.time() - start), val_images=n_val)
        history.append(row)
        logger.info('[Epoch %d] loss=%.4f | val top1=%.4f top5=%.4f | lr=%.5f | %.1f img/s',
                    epoch, row['train_loss'], top1, top5, row['lr'], row['images_per_s'])
        if rank == 0:
            state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            meta = dict(metadata, epoch=str(epoch), val_top1=repr(top1))
            with atomic_path(paths['last']) as tmp:
                save_file(state, tmp, metadata=meta)
            if top1 > best_acc:
                with atomic_path(paths['best']) as tmp:
                    save_file(state, tmp, metadata=meta)
            write_atomically(os.path.join(config.out_dir, 'history.json'),
                             json.dumps(history, indent=1).encode())
            plot_history(history, os.path.join(config.out_dir, 'history.png'),
                         'fine-tuning %s' % config.model)
        if top1 > best_acc:
            best_acc, best_epoch = top1, epoch
    logger.info('best validation top-1 %.4f at epoch %d: %s', best_acc, best_epoch,
                paths['best'])
    return FinetuneResult(best_acc=best_acc, best_epoch=best_epoch, best=paths['best'],
                          last=paths['last'], history=history, classes=classes,
                          world_size=world, net=net)


def parse_args(argv=None):
    defaults = FinetuneConfig(model='', data_dir='', out_dir='')
    p = argparse.ArgumentParser(
        prog='python -m gluon_aff.torch.finetune',
        description='Fine-tune a zoo network (PyTorch twin) on an image folder with train/ '
                    'and val/; several processes with torchrun --nproc_per_node N.')
    p.add_argument('model', help='zoo name, e.g. iaff_resnet50')
    p.add_argument('data_dir', help='folder with train/ and val/, one subfolder per class')
    p.add_argument('--out-dir', default='finetune', help='where checkpoints and logs go')
    p.add_argument('--pretrained', default='true',
                   help="'true' (released weights), 'false', or a checkpoint file")
    p.add_argument('--model-kwargs', default='{}', type=json.loads,
                   help='JSON of extra get_model arguments, e.g. \'{"blocks": 1}\'')
    for field in dataclasses.fields(FinetuneConfig):
        if field.name in ('model', 'data_dir', 'out_dir', 'pretrained', 'model_kwargs',
                          'hflip', 'channels_last', 'auto_augment', 'compile'):
            continue
        value = getattr(defaults, field.name)
        p.add_argument('--' + field.name.replace('_', '-'), type=type(value), default=value,
                       help='default %s' % value)
    p.add_argument('--auto-augment', default=defaults.auto_augment,
                   choices=['cifar10', 'imagenet', 'none'])
    p.add_argument('--no-hflip', action='store_true', help='no horizontal flips')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--compile', nargs='?', const='inductor', default=None, metavar='BACKEND',
                   help='train through torch.compile (backend, default inductor); the '
                        'first steps compile')
    args = p.parse_args(argv)
    pretrained = {'true': True, 'false': False}.get(args.pretrained.lower(), args.pretrained)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(FinetuneConfig)
              if hasattr(args, f.name)}
    values.update(pretrained=pretrained, hflip=not args.no_hflip,
                  auto_augment=None if args.auto_augment == 'none' else args.auto_augment)
    return FinetuneConfig(**values)


def main(argv=None):
    try:
        result = run(parse_args(argv))
    except (ValueError, FileNotFoundError, IOError, FloatingPointError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    if result.world_size > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    sys.exit(main())
