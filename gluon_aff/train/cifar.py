"""train_cifar.py: the CIFAR recipe (also runs offline on --dataset digits)."""
import logging
import os
import socket

import mxnet as mx

from ..data.cifar import DATASET_CLASSES, cifar_loaders
from .config import CifarConfig
from .devices import parse_gpus
from ..core.runlog import closes_log
from .loop import ClassificationValidation, Objective
from .network import build_cifar_network, disable_wd_on_norm_and_bias
from .options import cifar_parser, run_script
from .report import plot_history, print_summary
from .runner import CheckpointNames, Run
from .schedule import cifar_schedule

__all__ = ['main', 'run']

logger = logging.getLogger('gluon_aff')


@closes_log
def run(config):
    """Train as ``train_cifar.py`` does with the flags ``config`` holds (a ``CifarConfig``);
    returns a ``TrainResult``."""
    if not isinstance(config, CifarConfig):
        raise TypeError('run() takes a CifarConfig, got %s' % type(config).__name__)
    gpus = parse_gpus(config.gpus)
    session = Run(config, gpus, 'train_cifar.py')
    ctx, dist = session.ctx, session.dist
    classes = DATASET_CLASSES[config.dataset]
    net, model_name, _ = build_cifar_network(config, classes, ctx)
    session.log_to(os.path.join(config.logging_dir, 'train_%s.log' % model_name))
    if config.coarse_label:
        logger.warning('*** --coarse-label: CIFAR-100 with the 20 SUPERCLASS labels on a '
                       '100-way head (the paper\'s and the released "superclass" setting); '
                       'accuracies are not comparable with 100-class results ***')
    if not config.use_pretrained:
        net.initialize(mx.init.Xavier(), ctx=ctx)
    if config.summary:
        print_summary(net, (1, 3, 32, 32), ctx[0])
    if config.mode == 'hybrid':
        net.hybridize(static_alloc=True, static_shape=True)

    batch_size = config.batch_size * len(ctx)
    train, val, num_train = cifar_loaders(config.dataset, batch_size, config.data_dir,
                                          config.coarse_label, config.auto_aug,
                                          not config.no_augment, dist.num_workers, dist.rank)
    iters_per_epoch = num_train // batch_size
    if iters_per_epoch < 1:
        raise ValueError('--batch-size %d x %d device(s) is larger than the %d training images'
                         % (config.batch_size, len(ctx), num_train))
    schedule = cifar_schedule(config.cosine, config.lr, config.num_epochs, config.warmup_epochs,
                              iters_per_epoch, config.warmup_lr, config.lr_decay,
                              config.lr_decay_epoch, config.lr_decay_period)
    if config.no_wd:
        disable_wd_on_norm_and_bias(net)
    trainer = dist.trainer(net.collect_params(), 'nag', {
        'wd': config.wd, 'momentum': config.momentum, 'lr_scheduler': schedule})
    session.plan(model_name, config.resume_from, config.resume_states, config.resume_epoch)
    names = CheckpointNames(
        best=lambda value, epoch: '%.4f-%s-best' % (value, model_name),
        periodic=lambda epoch: '%s-%d' % (model_name, epoch), period=config.save_period,
        final='%s-%d' % (model_name, config.num_epochs - 1),
        interrupted='%s-interrupted' % model_name, resume_flag='--resume-from')
    plot = os.path.join(config.save_plot_dir, '%s_history.png' % model_name)
    result = session.fit(
        net, trainer, train, ClassificationValidation(val),
        Objective(classes, mixup=config.mixup, mixup_alpha=config.mixup_alpha,
                  mixup_off_epoch=config.mixup_off_epoch,
                  label_smoothing=config.label_smoothing), model_name, names,
        after_epoch=lambda epoch, stats, history: plot_history(history, plot, model_name),
        iters_per_epoch=iters_per_epoch)
    if dist.writes_files:
        host_log = os.path.join(config.logging_dir, '%s_%s_GPU_%s_best_Acc.log' % (
            config.dataset, socket.gethostname(), config.gpus.replace(',', '') or 'cpu'))
        with open(host_log, 'a') as f:
            f.write('%s: %.4f\n' % (model_name, result.best))
    return result


def main(argv=None):
    return run_script(cifar_parser(), run, argv)
