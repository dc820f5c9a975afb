"""Learning-rate schedules of the two recipes, as functions of the optimizer's update count
``n`` (1 for the first update), which is what MXNet's optimizers pass to a scheduler.

Cosine, poly and the ImageNet step mode are gluoncv's ``LRSequential``/``LRScheduler``,
as in the originals. CIFAR's step mode is the original's epoch loop: a constant rate
multiplied by the decay factor at the start of each step epoch (``EpochStepLR``).
"""
import logging

from gluoncv.utils import LRScheduler, LRSequential
from mxnet.lr_scheduler import LRScheduler as _MXNetScheduler

logger = logging.getLogger('gluon_aff')

__all__ = ['decay_epochs', 'imagenet_schedule', 'cifar_schedule', 'EpochStepLR']


class EpochStepLR(_MXNetScheduler):
    """Constant ``lr``, multiplied by ``factor`` when an epoch listed in ``steps`` (0-based)
    begins: every update of that epoch uses the decayed rate. Update ``n`` belongs to
    epoch ``(n - 1) // iters_per_epoch``. The multiplications are done one after the
    other, as the original's ``trainer.set_learning_rate(trainer.learning_rate * decay)``
    at the top of its epoch loop."""

    def __init__(self, lr, steps, factor, iters_per_epoch):
        super(EpochStepLR, self).__init__(base_lr=lr)
        self.lr, self.steps = lr, sorted(steps)
        self.factor, self.iters_per_epoch = factor, iters_per_epoch

    def __call__(self, num_update):
        epoch = max(num_update - 1, 0) // self.iters_per_epoch
        lr = self.lr
        for step in self.steps:
            if step <= epoch:
                lr *= self.factor
        return lr


def decay_epochs(lr_decay_epoch, lr_decay_period, num_epochs, warmup_epochs):
    """The step epochs as both originals compute them: every ``lr_decay_period`` epochs,
    else the listed ones, each minus the warm-up epochs (the second scheduler's clock
    starts after warm-up)."""
    if lr_decay_period > 0:
        epochs = list(range(lr_decay_period, num_epochs, lr_decay_period))
    else:
        epochs = [int(e) for e in str(lr_decay_epoch).split(',') if e.strip()]
    return [e - warmup_epochs for e in epochs]


def imagenet_schedule(mode, lr, num_epochs, warmup_epochs, iters_per_epoch, warmup_lr=0.0,
                      lr_decay=0.1, lr_decay_epoch='40,60', lr_decay_period=0):
    """Linear warm-up from ``warmup_lr`` to ``lr`` over ``warmup_epochs``, then
    ``mode`` (cosine, step or poly with power 2) down to 0."""
    if mode not in ('cosine', 'step', 'poly', 'linear', 'constant'):
        raise ValueError("--lr-mode must be cosine, step or poly, got '%s'" % mode)
    steps = decay_epochs(lr_decay_epoch, lr_decay_period, num_epochs, warmup_epochs)
    return _warmup_then(warmup_lr, lr, warmup_epochs, num_epochs, iters_per_epoch,
                        LRScheduler(mode, base_lr=lr, target_lr=0,
                                    nepochs=num_epochs - warmup_epochs,
                                    iters_per_epoch=iters_per_epoch, step_epoch=steps,
                                    step_factor=lr_decay, power=2))


def _warmup_then(warmup_lr, lr, warmup_epochs, num_epochs, iters_per_epoch, main):
    """Linear warm-up, then ``main``; a run shorter than its warm-up (a smoke test) ends
    inside the warm-up."""
    warmup = LRScheduler('linear', base_lr=warmup_lr, target_lr=lr, nepochs=warmup_epochs,
                         iters_per_epoch=iters_per_epoch)
    if warmup_epochs >= num_epochs:
        logger.warning('the warm-up (%d epochs) is not shorter than the run (%d epochs): the '
                       'learning rate never leaves it', warmup_epochs, num_epochs)
        return LRSequential([warmup])
    return LRSequential(([warmup] if warmup_epochs > 0 else []) + [main])


def cifar_schedule(cosine, lr, num_epochs, warmup_epochs, iters_per_epoch, warmup_lr=0.0,
                   lr_decay=0.1, lr_decay_epoch='300,450', lr_decay_period=0):
    """``cosine``: linear warm-up from ``warmup_lr``, then cosine to 0. Otherwise, as the
    original: no warm-up, constant ``lr`` decayed by ``lr_decay`` from the start of the step
    epochs minus the warm-up epochs (300,450 with 10 warm-up epochs: epochs 290 and 440)."""
    if cosine:
        return _warmup_then(warmup_lr, lr, warmup_epochs, num_epochs, iters_per_epoch,
                            LRScheduler('cosine', base_lr=lr, target_lr=0,
                                        nepochs=num_epochs - warmup_epochs,
                                        iters_per_epoch=iters_per_epoch))
    steps = decay_epochs(lr_decay_epoch, lr_decay_period, num_epochs, warmup_epochs)
    return EpochStepLR(lr, steps, lr_decay, iters_per_epoch)
