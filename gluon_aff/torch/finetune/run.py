"""``run(config)``: a fine-tuning run from its configuration to its result, on one process or
under torchrun, in the pieces of the other modules: the processes, the network, the
optimisation, the data, the epochs, the files."""
import json
import logging
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from ...core.atomic import write_atomically
from ...core.divergence import TrainingDiverged
from ...core.plots import plot_history
from ...core.released import CheckpointError
from ...core.runlog import close_logging, log_to_file, setup_logging
from ...core.zoo import get_model_info
from ..layers import BatchNorm2d
from ..registry import get_model
from .checkpoints import RunFiles
from .config import FinetuneResult
from .data import Loaders, epoch_seed, open_folders, transforms
from .loop import Objective, evaluate, train_epoch

__all__ = ['run', 'processes']

logger = logging.getLogger('gluon_aff')


def processes():
    """(rank, world size, device), joining the process group when torchrun started us."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    cuda = torch.cuda.is_available()
    local = int(os.environ.get('LOCAL_RANK', '0'))
    device = torch.device('cuda', local) if cuda else torch.device('cpu')
    if world == 1:
        return 0, 1, device
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group('nccl' if cuda else 'gloo')
    return dist.get_rank(), dist.get_world_size(), device


def seed_everything(seed):

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def network(config, classes, device):
    """The zoo network with a head for ``classes``: the released weights where the name has
    them (``pretrained='auto'``), as the log says."""
    info = get_model_info(config.model)
    pretrained = config.pretrained
    if pretrained == 'auto':
        pretrained = bool(info.pretrained_tags)
    try:
        net = get_model(config.model, pretrained=pretrained, classes=classes,
                        **config.model_kwargs)
    except CheckpointError as e:
        if pretrained is True:
            raise CheckpointError('%s; or use --pretrained false (the original\'s '
                                  'initialisation)' % str(e).split(' Pass pretrained=')[0])
        raise
    if pretrained is True:
        logger.info('started from the released checkpoint %s', net.checkpoint.file)
    elif pretrained:
        logger.info('started from %s', pretrained)
    else:
        logger.info("started from the original's initialisation (%s)%s", info.init,
                    '' if info.pretrained_tags else ': %s has no released weights' % info.name)
    # the fixed input BatchNorm of the CIFAR hosts (never updated in MXNet, where no gradient
    # reaches it) learns the new images' statistics
    for m in net.modules():
        if isinstance(m, BatchNorm2d) and not m.update_stats:
            m.update_stats = True
    net = net.to(device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def optimisation(config, net, steps):
    """(optimizer, scheduler, gradient scaler): SGD with Nesterov momentum (the original's
    'nag'), a linear warm-up and a cosine decay per step; a scaler for fp16 autocast."""
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.wd, nesterov=config.momentum > 0)
    warmup, total = config.warmup_epochs * steps, config.epochs * steps

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    scaler = None
    if config.amp == 'fp16':
        if not torch.cuda.is_available():
            raise ValueError('--amp fp16 needs a CUDA device (its gradient scaler); use '
                             '--amp bf16 on a CPU')
        scaler = torch.amp.GradScaler('cuda')
    return optimizer, scheduler, scaler


def _parallel(config, net, device, world):
    model = net
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else None)
    if config.compile:
        model = torch.compile(model, backend=config.compile)
    return model


def _progress(config, rank):
    if rank != 0 or config.progress == 'off':
        return False
    return config.progress == 'on' or sys.stderr.isatty()


def run(config):
    """Fine-tune as ``config`` says; returns a ``FinetuneResult`` (on every process).

    Ctrl-C and SIGTERM save ``interrupted.safetensors`` and propagate; a loss that stops
    being finite stops the run naming the last good checkpoint. Errors reach
    ``finetune.log`` as well."""
    config.check()
    rank, world, device = processes()
    setup_logging(os.path.join(config.out_dir, 'finetune.log'), rank, world)
    try:
        return _run(config, rank, world, device)
    except (ValueError, IOError, CheckpointError) as e:
        log_to_file('error: %s' % e)
        raise
    finally:
        close_logging()


def _run(config, rank, world, device):
    files = RunFiles(config, config.recipe(world), writes=rank == 0)
    files.prepare()
    seed_everything(config.seed)            # the same initial weights on every process
    train_folder, val_folder = open_folders(config.data_dir, config.skip_bad_images)
    classes = train_folder.classes
    net = network(config, len(classes), device)
    train_folder.transform, val_folder.transform = transforms(net, config.auto_augment,
                                                              config.hflip)
    loaders = Loaders(train_folder, val_folder, config.batch_size, config.workers, config.seed,
                      rank, world)
    model = _parallel(config, net, device, world)
    optimizer, scheduler, scaler = optimisation(config, net, loaders.steps)
    objective = Objective(config, len(classes))
    metadata = {'model': config.model, 'class_names': json.dumps(classes),
                'model_args': json.dumps(config.model_kwargs)}
    history, best, start = [], dict(top1=-1.0, epoch=-1), 0
    resumed = files.resumable() if config.auto_resume else None
    if resumed is not None:
        start = files.restore(resumed, net, optimizer, scheduler, scaler, rank)
        history, best = resumed['history'], resumed['best']
    elif config.auto_resume:
        logger.info('--auto-resume: no checkpoint of this run in %s; starting at epoch 0',
                    config.out_dir)
    logger.info('fine-tuning %s on %s: %d training images, %d validation, %d classes, %d '
                'process(es), %d steps per epoch, epochs %d..%d', config.model,
                config.data_dir, len(train_folder), len(val_folder), len(classes), world,
                loaders.steps, start, config.epochs - 1)
    epoch = start
    try:
        for epoch in range(start, config.epochs):
            seed_everything(epoch_seed(config.seed, epoch, rank))
            tic = time.time()
            loss, seen = train_epoch(model, loaders.epoch(epoch), objective, optimizer,
                                     scheduler, scaler, device, epoch, config.amp,
                                     config.channels_last, _progress(config, rank))
            top1, top5, n_val = evaluate(model, loaders.val, device, world, config.amp)
            row = dict(epoch=epoch, train_loss=loss / seen, val_top1=top1, val_top5=top5,
                       lr=scheduler.get_last_lr()[0],
                       images_per_s=seen * world / (time.time() - tic), val_images=n_val)
            history.append(row)
            logger.info('[Epoch %d] loss=%.4f | val top1=%.4f top5=%.4f | lr=%.5f | %.1f img/s',
                        epoch, row['train_loss'], top1, top5, row['lr'], row['images_per_s'])
            improved = top1 > best['top1']
            if improved:
                best = dict(top1=top1, epoch=epoch)
            files.save_epoch(net, epoch, best, history, optimizer, scheduler, scaler, metadata,
                             improved)
            if rank == 0:
                write_atomically(os.path.join(config.out_dir, 'history.json'),
                                 json.dumps(history, indent=1).encode())
                plot_history(history, os.path.join(config.out_dir, 'history.png'),
                             'fine-tuning %s' % config.model)
    except TrainingDiverged as e:
        raise TrainingDiverged('%s; %s' % (e, files.last_good())) from None
    except KeyboardInterrupt:
        path = files.save_interrupted(net, epoch, metadata)
        if path:
            logger.warning('interrupted in epoch %d; saved %s. Rerun the same command with '
                           '--auto-resume to continue from the last complete epoch', epoch,
                           path)
        raise
    files.finish(net, config.epochs - 1, metadata)
    logger.info('best validation top-1 %.4f at epoch %d: %s', best['top1'], best['epoch'],
                files.paths['best'])
    return FinetuneResult(best_acc=best['top1'], best_epoch=best['epoch'],
                          best=files.paths['best'], last=files.paths['last'], history=history,
                          classes=classes, world_size=world, start_epoch=start, net=net)
