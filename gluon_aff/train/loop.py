"""The training loop the three recipes share: ``fit`` runs epochs (``train_epoch``: split
batches over the devices, the NaN check) with a validation after each; ``Objective`` is
what a step minimises (mixup, label smoothing, distillation)."""
import itertools
import logging
import random
import sys
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..core.divergence import check_loss
from .checkpoints import parameters_digest
from .labels import draw_lambda, mixup_batch, smooth_targets

__all__ = ['seed_everything', 'evaluate', 'ClassificationValidation', 'Objective',
           'train_epoch', 'fit', 'first_batches', 'progress_enabled']

logger = logging.getLogger('gluon_aff')


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def progress_enabled(progress):
    """True/False, or 'on'/'off'/'auto' (bars only on a terminal) as a bool."""
    if progress in (None, 'auto'):
        return sys.stderr.isatty()
    if progress in ('on', 'off'):
        return progress == 'on'
    return bool(progress)


def _progress(iterable, enabled, total=None, desc=None):
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, leave=False,
                dynamic_ncols=True)


def first_batches(batches, limit):
    """An epoch callable that stops after ``limit`` batches (None: all of them)."""
    if not limit:
        return batches
    return lambda: itertools.islice(batches(), limit)


def evaluate(net, batches, ctx, dtype='float32', progress=False):
    """(top-1 accuracy, top-5 accuracy) of ``net`` in inference mode."""
    top1 = mx.metric.Accuracy()
    top5 = mx.metric.TopKAccuracy(5)
    for data, label in _progress(batches(), progress, desc='val'):
        data = gluon.utils.split_and_load(data, ctx, even_split=False)
        label = gluon.utils.split_and_load(label, ctx, even_split=False)
        outputs = [net(x.astype(dtype, copy=False)).astype('float32', copy=False) for x in data]
        top1.update(label, outputs)
        if outputs[0].shape[1] > 5:
            top5.update(label, outputs)
    # with 5 classes or fewer every label is in the top 5
    return top1.get()[1], (top5.get()[1] if top5.num_inst else 1.0)


class ClassificationValidation(object):
    """Top-1 and top-5 accuracy on ``batches`` (an epoch callable) after every epoch."""
    metric = 'val_top1'

    def __init__(self, batches):
        self.batches = batches

    def __call__(self, net, ctx, dtype='float32', progress=False):
        top1, top5 = evaluate(net, self.batches, ctx, dtype, progress)
        return dict(val_top1=top1, val_top5=top5)

    @staticmethod
    def describe(stats):
        return 'val top1=%.4f top5=%.4f' % (stats['val_top1'], stats['val_top5'])


class Objective(object):
    """What a step minimises and reports: the loss (softmax cross entropy, against mixed or
    smoothed targets when those are on; distillation with a ``teacher``), the training
    metric (accuracy; RMSE against dense targets), and the targets of a batch.

    ``loss_fn`` and ``train_metric`` (a factory) replace the defaults (segmentation)."""

    def __init__(self, classes, mixup=False, mixup_alpha=1.0, mixup_off_epoch=0,
                 label_smoothing=False, teacher=None, temperature=20.0, hard_weight=0.5,
                 loss_fn=None, train_metric=None):
        self.classes, self.teacher, self.temperature = classes, teacher, temperature
        self.mixup, self.mixup_alpha, self.mixup_off_epoch = mixup, mixup_alpha, mixup_off_epoch
        self.label_smoothing = label_smoothing
        self.eta = 0.1 if label_smoothing else 0.0
        self.dense = mixup or label_smoothing
        if loss_fn is None and teacher is not None:
            from gluoncv.loss import DistillationSoftmaxCrossEntropyLoss
            loss_fn = DistillationSoftmaxCrossEntropyLoss(temperature=temperature,
                                                          hard_weight=hard_weight,
                                                          sparse_label=not self.dense)
        elif loss_fn is None:
            loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=not self.dense)
        self.loss_fn = loss_fn
        self.train_metric = train_metric or (mx.metric.RMSE if self.dense else
                                             mx.metric.Accuracy)

    def targets(self, data, label, epoch, num_epochs):
        """``(data, targets)`` of a split batch: mixed, smoothed or the labels."""
        if self.mixup:
            lam = draw_lambda(self.mixup_alpha, epoch, num_epochs, self.mixup_off_epoch)
            return mixup_batch(data, label, self.classes, lam, self.eta)
        if self.label_smoothing:
            return data, [smooth_targets(y, self.classes, self.eta) for y in label]
        return data, label

    def soft_targets(self, data):
        """The teacher's softened outputs (None without a teacher). They run in the data's
        dtype; the loss gets float32, as the original cast outputs, labels and soft
        targets."""
        if self.teacher is None:
            return None
        return [mx.nd.softmax(self.teacher(x) / self.temperature).astype('float32', copy=False)
                for x in data]

    def losses(self, outs, targets, soft):
        if soft is not None:
            return [self.loss_fn(o, t, s) for o, t, s in zip(outs, targets, soft)]
        return [self.loss_fn(o, t) for o, t in zip(outs, targets)]

    def update(self, metric, targets, outs):
        metric.update(targets, [mx.nd.softmax(o) for o in outs] if self.dense else outs)


def train_epoch(net, trainer, ctx, batches, objective, epoch, num_epochs, dtype='float32',
                num_workers=1, progress=False, iters_per_epoch=None, log_interval=0):
    """One epoch of steps; returns ``(loss sum, samples, batches, metric)``. A loss that is
    not finite stops before the update (``TrainingDiverged``)."""
    metric = objective.train_metric()
    tic, seen, loss_sum, nbatch = time.time(), 0, 0.0, 0
    for i, (data, label) in enumerate(_progress(batches(), progress, total=iters_per_epoch,
                                                 desc='epoch %d' % epoch)):
        data = gluon.utils.split_and_load(data, ctx, even_split=False)
        label = gluon.utils.split_and_load(label, ctx, even_split=False)
        batch_size = sum(x.shape[0] for x in data)
        data, targets = objective.targets(data, label, epoch, num_epochs)
        data = [x.astype(dtype, copy=False) for x in data]
        soft = objective.soft_targets(data)
        for x in data:
            if x.context.device_type == 'cpu':
                # On MXNet's CPU (oneDNN) build BatchNorm updates its moving statistics in
                # backward, and only where a gradient flows: without an input gradient the
                # CIFAR stem's data BatchNorm would never update. GPUs (cuDNN) need no such
                # gradient, and the original had none.
                x.attach_grad()
        targets = [t.astype('float32', copy=False) for t in targets]
        with autograd.record():
            outs = [net(x).astype('float32', copy=False) for x in data]
            losses = objective.losses(outs, targets, soft)
        autograd.backward(losses)
        batch_loss = sum(l.sum().asscalar() for l in losses)
        check_loss(batch_loss, epoch, i, trainer.learning_rate,
                   'lower --lr (or raise --warmup-epochs) and resume from a good checkpoint')
        trainer.step(batch_size * num_workers)
        loss_sum += batch_loss
        seen += batch_size
        nbatch += 1
        objective.update(metric, targets, outs)
        if log_interval and (i + 1) % log_interval == 0:
            # the original's line: 0-based batch index, rate after this update
            logger.info('Epoch[%d] Batch [%d]\tSpeed: %f samples/sec\t%s=%f\tlr=%f',
                        epoch, i, seen / (time.time() - tic), *metric.get(),
                        trainer.learning_rate)
    return loss_sum, seen, nbatch, metric


def fit(net, trainer, ctx, train_batches, validation, objective, num_epochs, start_epoch=0,
        dtype='float32', seed=None, iters_per_epoch=None, progress=None, on_epoch_end=None,
        on_interrupt=None, log_interval=0, num_workers=1):
    """Train ``net`` from ``start_epoch`` to ``num_epochs`` epochs of ``train_epoch``.

    ``train_batches``: an epoch callable of (data, label) batches, split over ``ctx``.
    ``validation``: called as ``validation(net, ctx, dtype, progress)`` after every epoch,
    returns a dict of statistics and describes it in the epoch's log line
    (``ClassificationValidation``, or an epoch callable of batches for it).
    ``objective``: the loss, metric and targets (``Objective``).
    ``progress``: True/False, or 'on'/'off'/'auto' (bars only on a terminal).
    ``on_epoch_end(epoch, stats)`` receives a dict (epoch, train_loss, train_metric name
    and value, the validation's statistics, lr, img_per_s, seconds, batches). On Ctrl-C,
    ``on_interrupt(epoch)`` saves what is needed to resume, then KeyboardInterrupt
    propagates. With ``num_workers`` > 1 (a dist kvstore) gradients are normalised by the
    global batch.
    """
    if not hasattr(validation, 'describe'):
        validation = ClassificationValidation(validation)
    progress = progress_enabled(progress)
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, num_epochs):
            if seed is not None:
                seed_everything(seed + epoch)
            tic = time.time()
            loss_sum, seen, nbatch, metric = train_epoch(
                net, trainer, ctx, train_batches, objective, epoch, num_epochs, dtype,
                num_workers, progress, iters_per_epoch, log_interval)
            elapsed = time.time() - tic
            name, value = metric.get()
            stats = dict(epoch=epoch, train_loss=loss_sum / max(seen, 1), train_metric=name,
                         train_value=value)
            stats.update(validation(net, ctx, dtype, progress))
            stats.update(lr=trainer.learning_rate, img_per_s=seen / max(elapsed, 1e-9),
                         seconds=elapsed, batches=nbatch)
            logger.info('[Epoch %d] loss=%.4f %s=%.4f | %s | lr=%.6f | %.1f img/s | %d samples '
                        '| %.1fs', epoch, stats['train_loss'], name, value,
                        validation.describe(stats), stats['lr'], stats['img_per_s'], seen,
                        elapsed)
            if on_epoch_end is not None:
                on_epoch_end(epoch, stats)
            if num_workers > 1:     # synchronous workers must agree, epoch by epoch
                logger.info('[Epoch %d] trainable parameters sha1 %s', epoch,
                            parameters_digest(net))
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt(epoch)
        raise
