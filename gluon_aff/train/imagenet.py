"""train_imagenet.py: the ImageNet recipe (.rec files or an image folder)."""
import logging

import mxnet as mx

from ..data.imagenet import imagenet_folder_loaders, imagenet_rec_loaders
from .config import ImageNetConfig
from ..core.runlog import closes_log
from .loop import ClassificationValidation, Objective
from .network import build_imagenet_network, disable_wd_on_norm_and_bias
from .options import imagenet_parser, run_script
from .report import print_summary
from .runner import CheckpointNames, Run
from .schedule import imagenet_schedule

__all__ = ['main', 'run', 'build_teacher']

logger = logging.getLogger('gluon_aff')


def _check(config, ctx):
    if config.dtype == 'float16' and ctx[0].device_type == 'cpu':
        raise ValueError('--dtype float16 needs GPUs (MXNet has no float16 GEMM on the CPU); '
                         'pass --dtype float32 with --num-gpus 0')
    if config.batch_norm:
        logger.warning('--batch-norm only changes gluoncv VGG models; it has no effect here')


def build_teacher(config, ctx):
    """The distillation teacher: a zoo name or any gluoncv model, with --teacher-params or
    its released/pretrained weights."""
    from ..model_zoo import get_model, list_models
    name = config.teacher.lower()
    pretrained = config.teacher_params or True
    if name in list_models():
        teacher = get_model(name, pretrained=pretrained, ctx=ctx)
    else:
        import gluoncv
        try:
            teacher = gluoncv.model_zoo.get_model(name, pretrained=not config.teacher_params,
                                                  ctx=ctx)
        except ValueError as e:
            raise ValueError('--teacher %s is neither a gluon-aff nor a gluoncv model: %s'
                             % (config.teacher, str(e).splitlines()[0]))
        if config.teacher_params:
            teacher.load_parameters(config.teacher_params, ctx=ctx, cast_dtype=True)
    teacher.cast(config.dtype)
    teacher.hybridize(static_alloc=True, static_shape=True)
    return teacher


@closes_log
def run(config):
    """Train as ``train_imagenet.py`` does with the flags ``config`` holds (an
    ``ImageNetConfig``); returns a ``TrainResult``."""
    if not isinstance(config, ImageNetConfig):
        raise TypeError('run() takes an ImageNetConfig, got %s' % type(config).__name__)
    session = Run(config, list(range(config.num_gpus)), 'train_imagenet.py')
    ctx, dist = session.ctx, session.dist
    _check(config, ctx)
    net, model_name, _ = build_imagenet_network(config, config.classes, ctx)
    session.log_to(config.logging_file)
    if not config.use_pretrained:
        net.initialize(mx.init.MSRAPrelu(), ctx=ctx)
    if config.summary:
        print_summary(net, (1, 3, config.input_size, config.input_size), ctx[0])
    if config.no_wd:
        disable_wd_on_norm_and_bias(net)
    if config.dtype != 'float32':
        net.cast(config.dtype)
    if config.mode == 'hybrid':
        net.hybridize(static_alloc=True, static_shape=True)

    batch_size = config.batch_size * len(ctx)
    augment = not config.no_augment
    plan = session.plan(model_name, config.resume_params, config.resume_states or None,
                        config.resume_epoch)
    if config.use_rec:
        auto_aug = config.auto_aug and not config.ignore_auto_aug_with_rec
        if config.auto_aug and not auto_aug:
            logger.info('--auto_aug is ignored with --use-rec (--ignore-auto-aug-with-rec), as '
                        'in the original training of the released weights')
        train, val, num_train = imagenet_rec_loaders(
            config.rec_train, config.rec_train_idx, config.rec_val, config.rec_val_idx,
            config.input_size, config.crop_ratio, batch_size, config.num_workers, auto_aug,
            augment, dist.num_workers, dist.rank, plan.start_epoch)
    else:
        train, val, num_train = imagenet_folder_loaders(
            config.data_dir, config.input_size, config.crop_ratio, batch_size,
            config.num_workers, config.auto_aug, augment, dist.num_workers, dist.rank,
            skip_bad=config.skip_bad_images)
    iters_per_epoch = max(1, num_train // batch_size)
    schedule = imagenet_schedule(config.lr_mode, config.lr, config.num_epochs,
                                 config.warmup_epochs, iters_per_epoch, config.warmup_lr,
                                 config.lr_decay, config.lr_decay_epoch,
                                 config.lr_decay_period)
    optimizer_params = {'wd': config.wd, 'momentum': config.momentum, 'lr_scheduler': schedule}
    if config.dtype != 'float32':
        optimizer_params['multi_precision'] = True
    trainer = dist.trainer(net.collect_params(), 'nag', optimizer_params)
    teacher = build_teacher(config, ctx) if config.teacher else None
    names = CheckpointNames(
        best=lambda value, epoch: '%.4f-imagenet-%s-%d-best' % (1 - value, model_name, epoch),
        periodic=lambda epoch: 'imagenet-%s-%d' % (model_name, epoch),
        period=config.save_frequency,
        final='imagenet-%s-%d' % (model_name, config.num_epochs - 1),
        interrupted='imagenet-%s-interrupted' % model_name, resume_flag='--resume-params')
    return session.fit(
        net, trainer, train, ClassificationValidation(val),
        Objective(net.classes, mixup=config.mixup, mixup_alpha=config.mixup_alpha,
                  mixup_off_epoch=config.mixup_off_epoch,
                  label_smoothing=config.label_smoothing, teacher=teacher,
                  temperature=config.temperature, hard_weight=config.hard_weight),
        model_name, names, dtype=config.dtype, iters_per_epoch=iters_per_epoch,
        log_interval=config.log_interval)


def main(argv=None):
    return run_script(imagenet_parser(), run, argv)
