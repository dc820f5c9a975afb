"""What the three recipes share around the loop: devices and engine, the kvstore, seeding,
the log, where the run starts, checkpoints under the recipe's names, the best value, and
the ``TrainResult``."""
import collections
import logging
import os
import sys

from ..core.divergence import TrainingDiverged
from .checkpoints import Checkpointer, parameters_digest
from .config import TrainResult
from .devices import Distributed, contexts, prefer_sync_engine_on_cpu
from ..core.runlog import setup_logging
from .loop import ClassificationValidation, fit, first_batches, seed_everything
from .resume import ResumePlan

__all__ = ['Run', 'CheckpointNames']

logger = logging.getLogger('gluon_aff')

# A recipe's checkpoint names (without .params), as the original scripts wrote them:
# best(value, epoch) when validation improves, periodic(epoch) every ``period`` epochs
# (0: never), final after the last epoch, interrupted on Ctrl-C/SIGTERM; ``resume_flag``
# is the flag that continues from a saved file.
CheckpointNames = collections.namedtuple(
    'CheckpointNames', 'best periodic period final interrupted resume_flag')


def _best_record(saved):
    """The best-so-far record of a checkpoint; earlier releases saved ``top1`` (CIFAR) or
    ``err`` (ImageNet) instead of ``value``."""
    best = {'value': -1.0, 'path': None}
    if 'value' in saved:
        best['value'] = saved['value']
    elif 'top1' in saved:
        best['value'] = saved['top1']
    elif 'err' in saved:
        best['value'] = 1 - saved['err']
    best['path'] = saved.get('path')
    return best


class Run(object):
    """One training run of ``config`` on the devices ``gpus`` (ids; none: the CPU).

    Made before the network (it seeds and picks MXNet's engine, which must happen before
    any NDArray exists); then ``log_to``, ``plan``, and ``fit``, which trains, saves and
    returns the ``TrainResult``."""

    def __init__(self, config, gpus, script):
        self.config, self.script = config, script
        self.ctx = contexts(gpus)
        self.engine = prefer_sync_engine_on_cpu(self.ctx)
        self.dist = Distributed(getattr(config, 'kvstore', 'device'))
        if self.dist.dist and config.seed is None:
            config.seed = 0     # workers must draw the same permutation to shard it
        if config.seed is not None:
            seed_everything(config.seed)
        self.log_file = None

    def log_to(self, path):
        self.log_file = path if self.dist.rank == 0 else None
        setup_logging(path, self.dist.rank, self.dist.num_workers)
        logger.info('%s %s', self.script, ' '.join(sys.argv[1:]))
        logger.info('options: %s', self.config)
        logger.info('devices: %s; MXNet engine: %s; kvstore %s (%d worker(s))', self.ctx,
                    self.engine, self.dist.kind, self.dist.num_workers)

    def plan(self, model_name, params=None, states=None, epoch=None):
        """Where the run starts (``ResumePlan``); keep it for ``fit``."""
        self.resume = ResumePlan(self.config, self.dist, model_name, params, states, epoch)
        return self.resume

    def fit(self, net, trainer, train, validation, objective, model_name, names,
            after_epoch=None, **fit_kwargs):
        """Train from the planned epoch to the end (``objective``: a ``loop.Objective``),
        saving the best, periodic, final and (on Ctrl-C/SIGTERM) interrupted checkpoints
        under ``names``; ``after_epoch(epoch, stats, history)`` runs after each epoch's
        saves. Returns a ``TrainResult``."""
        config, dist = self.config, self.dist
        self.resume.load(net, trainer, self.ctx)
        dist.start(trainer)
        best = _best_record(self.resume.best)
        history = list(self.resume.history)
        recipe = config.recipe()
        written = []
        ckpt = Checkpointer(net, trainer, config.save_dir, enabled=dist.writes_files,
                            states=not dist.update_on_kvstore)

        def save(name, next_epoch, kind='epoch'):
            path = ckpt.save(name, next_epoch, dict(
                kind=kind, model=model_name, recipe=recipe, best=dict(best),
                history=history))
            written.append(path)
            return path

        def on_epoch_end(epoch, stats):
            history.append(stats)
            if not dist.writes_files:
                return
            value = stats[validation.metric]
            if value > best['value']:
                best['value'] = value
                best['path'] = os.path.join(config.save_dir,
                                            names.best(value, epoch) + '.params')
                save(names.best(value, epoch), epoch + 1)
            if names.period and (epoch + 1) % names.period == 0:
                save(names.periodic(epoch), epoch + 1)
            if after_epoch is not None:
                after_epoch(epoch, stats, history)

        def on_interrupt(epoch):
            path = save(names.interrupted, epoch, 'interrupted')
            logger.warning('interrupted in epoch %d; saved %s (+ .states). Resume with '
                           '%s %s', epoch, path, names.resume_flag, path)

        if config.test_max_batches and isinstance(validation, ClassificationValidation):
            validation = ClassificationValidation(first_batches(validation.batches,
                                                                config.test_max_batches))
        try:
            fit(net, trainer, self.ctx, first_batches(train, config.test_max_batches),
                validation, objective, config.num_epochs, start_epoch=self.resume.start_epoch,
                seed=config.seed, progress=config.progress, on_epoch_end=on_epoch_end,
                on_interrupt=on_interrupt, num_workers=dist.num_workers, **fit_kwargs)
            logger.info('trainable parameters sha1 %s', parameters_digest(net))
            final = save(names.final, config.num_epochs)
        except TrainingDiverged as e:
            raise TrainingDiverged('%s; %s' % (e, ckpt.last_saved())) from None
        if dist.writes_files:
            logger.info('best validation %s %.4f (%s); final parameters %s',
                        validation.metric, best['value'], best['path'], final)
        return TrainResult(model_name=model_name, metric=validation.metric,
                           best=best['value'], best_path=best['path'], final_path=final,
                           checkpoints=written if dist.writes_files else [],
                           history=history, log_file=self.log_file)
