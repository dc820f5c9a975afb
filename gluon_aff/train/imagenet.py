"""train_imagenet.py: the ImageNet recipe (.rec files or an image folder)."""
import logging
import os
import sys

import mxnet as mx

from ..data.pipelines import imagenet_folder_loaders, imagenet_rec_loaders
from .loop import (Checkpointer, Distributed, TrainingDiverged, contexts, first_batches, fit,
                   parameters_digest, prefer_sync_engine_on_cpu, recipe_of, resume,
                   resume_epoch, seed_everything, setup_logging, check_auto_resume,
                   find_resumable, warn_if_overwriting)
from .network import build_imagenet_network, disable_wd_on_norm_and_bias
from .options import imagenet_parser, run_script
from .report import print_summary
from .schedule import imagenet_schedule

__all__ = ['main', 'run', 'build_teacher']

logger = logging.getLogger('gluon_aff')


def _check(opt, ctx):
    for flag, value in (('--batch-size', opt.batch_size), ('--num-epochs', opt.num_epochs),
                        ('--input-size', opt.input_size)):
        if value < 1:
            raise ValueError('%s must be at least 1, got %d' % (flag, value))
    if opt.dtype not in ('float32', 'float16'):
        raise ValueError("--dtype must be float32 or float16, got '%s'" % opt.dtype)
    if opt.dtype == 'float16' and ctx[0].device_type == 'cpu':
        raise ValueError('--dtype float16 needs GPUs (MXNet has no float16 GEMM on the CPU); '
                         'pass --dtype float32 with --num-gpus 0')
    if opt.mode not in ('hybrid', 'imperative'):
        raise ValueError("--mode must be hybrid or imperative, got '%s'" % opt.mode)
    if opt.batch_norm:
        logger.warning('--batch-norm only changes gluoncv VGG models; it has no effect here')


def build_teacher(opt, ctx):
    """The distillation teacher: a zoo name or any gluoncv model, with --teacher-params or
    its released/pretrained weights."""
    from ..model_zoo import get_model, list_models
    name = opt.teacher.lower()
    pretrained = opt.teacher_params or True
    if name in list_models():
        teacher = get_model(name, pretrained=pretrained, ctx=ctx)
    else:
        import gluoncv
        try:
            teacher = gluoncv.model_zoo.get_model(name, pretrained=not opt.teacher_params,
                                                  ctx=ctx)
        except ValueError as e:
            raise ValueError('--teacher %s is neither a gluon-aff nor a gluoncv model: %s'
                             % (opt.teacher, str(e).splitlines()[0]))
        if opt.teacher_params:
            teacher.load_parameters(opt.teacher_params, ctx=ctx, cast_dtype=True)
    teacher.cast(opt.dtype)
    teacher.hybridize(static_alloc=True, static_shape=True)
    return teacher


def run(opt, explicit=()):
    ctx = contexts(list(range(opt.num_gpus)) if opt.num_gpus > 0 else [])
    _check(opt, ctx)
    engine = prefer_sync_engine_on_cpu(ctx)
    dist = Distributed(opt.kvstore)
    if opt.seed is not None:
        seed_everything(opt.seed)
    net, model_name, _ = build_imagenet_network(opt, opt.classes, explicit, ctx)
    setup_logging(opt.logging_file, dist.rank, dist.num_workers)
    logger.info('train_imagenet.py %s', ' '.join(sys.argv[1:]))
    logger.info('options: %s', vars(opt))
    logger.info('devices: %s; MXNet engine: %s; kvstore %s (%d worker(s))', ctx, engine,
                opt.kvstore, dist.num_workers)
    if not opt.use_pretrained:
        net.initialize(mx.init.MSRAPrelu(), ctx=ctx)
    if opt.summary:
        print_summary(net, (1, 3, opt.input_size, opt.input_size), ctx[0])
    if opt.no_wd:
        disable_wd_on_norm_and_bias(net)
    if opt.dtype != 'float32':
        net.cast(opt.dtype)
    if opt.mode == 'hybrid':
        net.hybridize(static_alloc=True, static_shape=True)

    batch_size = opt.batch_size * len(ctx)
    augment = not opt.no_augment
    start_epoch = opt.resume_epoch
    resumable = None
    if opt.auto_resume:
        check_auto_resume(opt, dist)
        resumable = find_resumable(opt.save_dir, model_name, recipe_of(opt), imagenet_parser())
        start_epoch = resumable['next_epoch'] if resumable else 0
    elif opt.resume_params:
        start_epoch = resume_epoch(opt.resume_params,
                                   opt.resume_epoch if 'resume_epoch' in explicit else None)
    if opt.use_rec:
        auto_aug = opt.auto_aug and not opt.ignore_auto_aug_with_rec
        if opt.auto_aug and not auto_aug:
            logger.info('--auto_aug is ignored with --use-rec (--ignore-auto-aug-with-rec), as '
                        'in the original training of the released weights')
        train, val, num_train = imagenet_rec_loaders(opt, batch_size, opt.num_workers,
                                                     auto_aug, augment, dist.num_workers,
                                                     dist.rank, start_epoch)
    else:
        train, val, num_train = imagenet_folder_loaders(opt, batch_size, opt.num_workers,
                                                        opt.auto_aug, augment,
                                                        dist.num_workers, dist.rank)
    iters_per_epoch = max(1, num_train // batch_size)
    schedule = imagenet_schedule(opt.lr_mode, opt.lr, opt.num_epochs, opt.warmup_epochs,
                                 iters_per_epoch, opt.warmup_lr, opt.lr_decay,
                                 opt.lr_decay_epoch, opt.lr_decay_period)
    optimizer_params = {'wd': opt.wd, 'momentum': opt.momentum, 'lr_scheduler': schedule}
    if opt.dtype != 'float32':
        optimizer_params['multi_precision'] = True
    trainer = dist.trainer(net.collect_params(), 'nag', optimizer_params)
    best = {'err': float('inf'), 'path': None}
    if resumable:
        resume(net, trainer, resumable['params'], None, start_epoch, ctx)
        best.update(resumable.get('best') or {})
    elif opt.auto_resume:
        logger.info('--auto-resume: no checkpoint of this run in %s; starting at epoch 0',
                    opt.save_dir)
    elif opt.resume_params:
        resume(net, trainer, opt.resume_params, opt.resume_states or None, start_epoch, ctx)
    elif dist.writes_files:
        warn_if_overwriting(opt.save_dir, model_name)
    teacher = build_teacher(opt, ctx) if opt.teacher else None

    ckpt = Checkpointer(net, trainer, opt.save_dir, enabled=dist.writes_files,
                        states=not dist.update_on_kvstore)
    recipe = recipe_of(opt)

    def record(kind):
        return dict(kind=kind, model=model_name, recipe=recipe, best=dict(best))

    def on_epoch_end(epoch, stats):
        if not dist.writes_files:
            return
        err = 1 - stats['val_top1']
        if err < best['err']:
            best['err'] = err
            name = '%.4f-imagenet-%s-%d-best' % (err, model_name, epoch)
            best['path'] = os.path.join(opt.save_dir, name + '.params')
            ckpt.save(name, epoch + 1, record('epoch'))
        if opt.save_frequency and (epoch + 1) % opt.save_frequency == 0:
            ckpt.save('imagenet-%s-%d' % (model_name, epoch), epoch + 1, record('epoch'))

    def on_interrupt(epoch):
        path = ckpt.save('imagenet-%s-interrupted' % model_name, epoch, record('interrupted'))
        logger.warning('interrupted in epoch %d; saved %s (+ .states). Resume with '
                       '--resume-params %s', epoch, path, path)

    try:
        fit(net, trainer, ctx, first_batches(train, opt.test_max_batches), val, net.classes,
            opt.num_epochs, start_epoch=start_epoch,
            mixup=opt.mixup, mixup_alpha=opt.mixup_alpha, mixup_off_epoch=opt.mixup_off_epoch,
            label_smoothing=opt.label_smoothing, teacher=teacher, temperature=opt.temperature,
            hard_weight=opt.hard_weight, dtype=opt.dtype, seed=opt.seed,
            iters_per_epoch=iters_per_epoch, log_interval=opt.log_interval,
            progress=opt.progress,
            on_epoch_end=on_epoch_end, on_interrupt=on_interrupt, num_workers=dist.num_workers)
    except TrainingDiverged as e:
        raise TrainingDiverged('%s; %s' % (e, ckpt.last_saved())) from None
    logger.info('trainable parameters sha1 %s', parameters_digest(net))
    final = ckpt.save('imagenet-%s-%d' % (model_name, opt.num_epochs - 1), opt.num_epochs,
                      record('epoch'))
    logger.info('best validation top-1 error %.4f (%s); final parameters %s', best['err'],
                best['path'], final)
    return best


def main(argv=None):
    return run_script(imagenet_parser(), run, argv)
