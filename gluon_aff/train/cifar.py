"""train_cifar.py: the CIFAR recipe (also runs offline on --dataset digits)."""
import logging
import os
import socket
import sys

import mxnet as mx

from ..data.pipelines import DATASET_CLASSES, cifar_loaders
from .loop import (Checkpointer, Distributed, TrainingDiverged, auto_resume, contexts,
                   first_batches, fit, parameters_digest, prefer_sync_engine_on_cpu, recipe_of,
                   resume, seed_everything, setup_logging, warn_if_overwriting)
from .network import build_cifar_network, disable_wd_on_norm_and_bias
from .options import cifar_parser, run_script
from .report import plot_history, print_summary

__all__ = ['main', 'run']

logger = logging.getLogger('gluon_aff')


def _check(opt):
    for flag, value in (('--batch-size', opt.batch_size), ('--num-epochs', opt.num_epochs),
                        ('--blocks', opt.blocks), ('--channel-times', opt.channel_times)):
        if value < 1:
            raise ValueError('%s must be at least 1, got %d' % (flag, value))
    if opt.mode not in ('hybrid', 'imperative'):
        raise ValueError("--mode must be hybrid or imperative, got '%s'" % opt.mode)


def run(opt, explicit=()):
    _check(opt)
    gpus = [int(g) for g in opt.gpus.split(',') if g.strip()]
    ctx = contexts(gpus)
    engine = prefer_sync_engine_on_cpu(ctx)
    dist = Distributed(opt.kvstore)
    if dist.dist and opt.seed is None:
        opt.seed = 0     # workers must draw the same permutation to shard it
    if opt.seed is not None:
        seed_everything(opt.seed)
    classes = DATASET_CLASSES.get(opt.dataset)
    if classes is None:
        raise ValueError("unknown --dataset '%s'; use cifar100, cifar10 or digits" % opt.dataset)
    net, model_name, _ = build_cifar_network(opt, classes, explicit, ctx)
    setup_logging(os.path.join(opt.logging_dir, 'train_%s.log' % model_name), dist.rank,
                  dist.num_workers)
    logger.info('train_cifar.py %s', ' '.join(sys.argv[1:]))
    logger.info('options: %s', vars(opt))
    logger.info('devices: %s; MXNet engine: %s; kvstore %s (%d worker(s))', ctx, engine,
                opt.kvstore, dist.num_workers)
    if opt.coarse_label:
        logger.warning('*** --coarse-label: CIFAR-100 with the 20 SUPERCLASS labels on a '
                       '100-way head (the paper\'s and the released "superclass" setting); '
                       'accuracies are not comparable with 100-class results ***')
    if not opt.use_pretrained:
        net.initialize(mx.init.Xavier(), ctx=ctx)
    if opt.summary:
        print_summary(net, (1, 3, 32, 32), ctx[0])
    if opt.mode == 'hybrid':
        net.hybridize(static_alloc=True, static_shape=True)

    batch_size = opt.batch_size * len(ctx)
    train, val, num_train = cifar_loaders(opt.dataset, batch_size, opt.data_dir, opt.coarse_label,
                                          opt.auto_aug, not opt.no_augment, dist.num_workers,
                                          dist.rank)
    iters_per_epoch = num_train // batch_size
    if iters_per_epoch < 1:
        raise ValueError('--batch-size %d x %d device(s) is larger than the %d training images'
                         % (opt.batch_size, len(ctx), num_train))
    from .schedule import cifar_schedule
    schedule = cifar_schedule(opt.cosine, opt.lr, opt.num_epochs, opt.warmup_epochs,
                              iters_per_epoch, opt.warmup_lr, opt.lr_decay, opt.lr_decay_epoch,
                              opt.lr_decay_period)
    if opt.no_wd:
        disable_wd_on_norm_and_bias(net)
    trainer = dist.trainer(net.collect_params(), 'nag', {
        'wd': opt.wd, 'momentum': opt.momentum, 'lr_scheduler': schedule})
    start_epoch, history, best = 0, [], {'top1': -1.0, 'path': None}
    recipe = recipe_of(opt)
    if opt.auto_resume:
        start_epoch = auto_resume(opt, dist, net, trainer, ctx, model_name, recipe,
                                  cifar_parser(), best, history)
    elif opt.resume_from:
        start_epoch = resume(net, trainer, opt.resume_from, opt.resume_states,
                             opt.resume_epoch, ctx)
    elif dist.writes_files:
        warn_if_overwriting(opt.save_dir, model_name)

    ckpt = Checkpointer(net, trainer, opt.save_dir, enabled=dist.writes_files,
                        states=not dist.update_on_kvstore)

    def record(kind):
        """What resuming needs beside the files: the run, the best so far, the history."""
        return dict(kind=kind, model=model_name, recipe=recipe, best=dict(best),
                    history=history)

    def on_epoch_end(epoch, stats):
        history.append(stats)
        if not dist.writes_files:
            return
        if stats['val_top1'] > best['top1']:
            best['top1'] = stats['val_top1']
            best['path'] = os.path.join(opt.save_dir, '%.4f-%s-best.params'
                                        % (stats['val_top1'], model_name))
            ckpt.save(os.path.basename(best['path'])[:-len('.params')], epoch + 1,
                      record('epoch'))
        if opt.save_period and (epoch + 1) % opt.save_period == 0:
            ckpt.save('%s-%d' % (model_name, epoch), epoch + 1, record('epoch'))
        plot_history(history, os.path.join(opt.save_plot_dir, '%s_history.png' % model_name),
                     model_name)

    def on_interrupt(epoch):
        path = ckpt.save('%s-interrupted' % model_name, epoch, record('interrupted'))
        logger.warning('interrupted in epoch %d; saved %s (+ .states). Resume with '
                       '--resume-from %s', epoch, path, path)

    try:
        fit(net, trainer, ctx, first_batches(train, opt.test_max_batches), val, classes,
            opt.num_epochs, start_epoch=start_epoch,
            mixup=opt.mixup, mixup_alpha=opt.mixup_alpha, mixup_off_epoch=opt.mixup_off_epoch,
            label_smoothing=opt.label_smoothing, seed=opt.seed, iters_per_epoch=iters_per_epoch,
            progress=opt.progress,
            on_epoch_end=on_epoch_end, on_interrupt=on_interrupt, num_workers=dist.num_workers)
    except TrainingDiverged as e:
        raise TrainingDiverged('%s; %s' % (e, ckpt.last_saved())) from None
    logger.info('trainable parameters sha1 %s', parameters_digest(net))
    final = ckpt.save('%s-%d' % (model_name, opt.num_epochs - 1), opt.num_epochs,
                      record('epoch'))
    if not dist.writes_files:
        return best
    logger.info('best validation accuracy %.4f (%s); final parameters %s', best['top1'],
                best['path'], final)
    host_log = os.path.join(opt.logging_dir, '%s_%s_GPU_%s_best_Acc.log' % (
        opt.dataset, socket.gethostname(), opt.gpus.replace(',', '') or 'cpu'))
    with open(host_log, 'a') as f:
        f.write('%s: %.4f\n' % (model_name, best['top1']))
    return best


def main(argv=None):
    return run_script(cifar_parser(), run, argv)
