"""The training loop both scripts share."""
import glob
import json
import logging
import os
import random
import sys
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..atomic import atomic_path, describe_write_error, write_atomically
from ..params_file import read_params
from .labels import draw_lambda, mixup_batch, smooth_targets

__all__ = ['contexts', 'prefer_sync_engine_on_cpu', 'Distributed', 'parameters_digest',
           'seed_everything', 'setup_logging', 'close_logging', 'evaluate', 'fit',
           'Checkpointer', 'save_params', 'TrainingDiverged', 'non_finite_parameters',
           'recipe_of', 'find_resumable', 'warn_if_overwriting', 'auto_resume',
           'check_auto_resume', 'sidecar', 'resume', 'resume_epoch', 'first_batches']

logger = logging.getLogger('gluon_aff')


# Testing aid: with GLUON_AFF_GPUS_AS_CPUS=1, GPU ids name CPU contexts (mx.cpu(i)), so
# that the multi-device code paths (per-device split, mixup, aggregation) run without GPUs.
GPUS_AS_CPUS = 'GLUON_AFF_GPUS_AS_CPUS'


def contexts(gpus):
    """[mx.gpu(i) ...] for a list of ids, [mx.cpu()] for none; a clear error when the
    machine has fewer GPUs. With GLUON_AFF_GPUS_AS_CPUS=1, [mx.cpu(i) ...] instead."""
    if not gpus:
        return [mx.cpu()]
    if os.environ.get(GPUS_AS_CPUS) == '1':
        return [mx.cpu(g) for g in gpus]
    available = mx.context.num_gpus()
    missing = [g for g in gpus if g >= available]
    if missing:
        raise ValueError('GPU %s requested but this machine has %d GPU(s)%s; train on the CPU '
                         "with --gpus '' (train_cifar.py) or --num-gpus 0 (train_imagenet.py)"
                         % (','.join(map(str, missing)), available,
                            '' if available else ' (or MXNet is a CPU build)'))
    return [mx.gpu(g) for g in gpus]


def prefer_sync_engine_on_cpu(ctx):
    """Train on the CPU with MXNet's synchronous NaiveEngine unless MXNET_ENGINE_TYPE is set.

    Measured here (2 cores, MXNet 1.9.1 oneDNN build): with the default threaded engine a
    run that evaluated and saved after epoch 0 continued differently from the same state
    trained without those steps, while with NaiveEngine both agree exactly, so seeded CPU
    runs repeat and resume exactly; NaiveEngine was also not slower (about 205 vs 170 img/s
    on a small AFF network). MXNet reads the variable at its first operation, so this must
    run before any NDArray is created; returns the engine in use.
    """
    if all(c.device_type == 'cpu' for c in ctx):
        os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')
    return os.environ.get('MXNET_ENGINE_TYPE', 'ThreadedEnginePerDevice')


class Distributed(object):
    """The kvstore of a run and what follows from it: rank, number of workers, whether
    the trainer updates on the kvstore, whether this process writes files."""

    def __init__(self, kind):
        self.kind = kind
        self.kv = mx.kv.create(kind)
        self.rank, self.num_workers = self.kv.rank, self.kv.num_workers
        self.dist = kind.startswith('dist')
        # Synchronous runs update on each worker from the aggregated gradients, so trainer
        # states can be saved and resumed; MXNet's asynchronous mode updates on the servers.
        self.update_on_kvstore = kind == 'dist_async'
        self.writes_files = self.rank == 0

    def trainer(self, params, optimizer, optimizer_params):
        return gluon.Trainer(params, optimizer, optimizer_params, kvstore=self.kv,
                             update_on_kvstore=self.update_on_kvstore if self.dist else None)


def parameters_digest(net):
    """SHA-1 of the trainable parameters (sorted by key): equal on synchronised workers."""
    import hashlib
    sha = hashlib.sha1()
    for key, p in sorted(net._collect_params_with_prefix().items()):
        if p.grad_req != 'null':
            sha.update(key.encode())
            sha.update(p.data().asnumpy().tobytes())
    return sha.hexdigest()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def setup_logging(path=None, rank=0, num_workers=1):
    """Log INFO to stderr and, if given and on rank 0, to ``path`` (its folder is created).
    With several workers every line carries the worker's rank."""
    close_logging()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s ' + ('[rank %d/%d] ' % (rank, num_workers)
                                              if num_workers > 1 else '') + '%(message)s')
    stream = logging.StreamHandler()
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if path and rank == 0:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        handler = logging.FileHandler(path)
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def close_logging():
    """Detach and close the handlers ``setup_logging`` added (the run's log file)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


def _progress(iterable, enabled, total=None, desc=None):
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, leave=False,
                dynamic_ncols=True)


def first_batches(batches, limit):
    """An epoch callable that stops after ``limit`` batches (None: all of them)."""
    if not limit:
        return batches
    import itertools
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


def sidecar(params_path):
    return os.path.splitext(params_path)[0] + '.json'


class TrainingDiverged(ValueError):
    """The loss or the weights stopped being finite: the run stops, nothing is saved."""


def non_finite_parameters(net):
    """Names of the parameters holding NaN or infinite values."""
    return [name for name, p in net._collect_params_with_prefix().items()
            if not np.isfinite(p.data().asnumpy()).all()]


def save_params(net, path):
    """``net.save_parameters(path)`` that is never half-written (see ``Checkpointer``)."""
    with atomic_path(path) as tmp:
        net.save_parameters(tmp)
        read_params(tmp)        # complete: MXNet once left a cut file without raising
    return path


class Checkpointer(object):
    """Writes params (+ trainer states + a small JSON with the next epoch) under the
    original names; a no-op unless ``enabled`` (only rank 0 writes in distributed runs).

    A checkpoint is never half-written: each file goes to a temporary name, is fsynced and
    renamed into place (``gluon_aff.atomic``), the parameters are read back before they
    take their name, and the JSON, naming the files of the set, comes last."""

    def __init__(self, net, trainer, save_dir, enabled=True, states=True):
        self.net, self.trainer, self.save_dir = net, trainer, save_dir
        self.enabled, self.states = enabled, states
        if enabled:
            try:
                os.makedirs(save_dir, exist_ok=True)
            except OSError as e:
                raise OSError(e.errno, describe_write_error(save_dir, e)) from e

    def save(self, name, next_epoch, extra=None):
        path = os.path.join(self.save_dir, name + '.params')
        if not self.enabled:
            return path
        bad = non_finite_parameters(self.net)
        if bad:
            raise TrainingDiverged('not saving %s: %d parameters hold NaN or infinite values '
                                   '(%s); %s' % (path, len(bad), ', '.join(bad[:3]),
                                                 self.last_saved()))
        save_params(self.net, path)
        states = os.path.splitext(path)[0] + '.states' if self.states else None
        if states:
            with atomic_path(states) as tmp:
                self.trainer.save_states(tmp)
        info = {'next_epoch': next_epoch, 'params': os.path.basename(path),
                'states': os.path.basename(states) if states else None}
        info.update(extra or {})
        # numpy scalars (metric values in the history) as the numbers they hold
        write_atomically(sidecar(path), json.dumps(info, default=lambda v: v.item()))
        self.last = path
        return path

    last = None

    def last_saved(self):
        """Where the last good checkpoint of this run is, as a sentence part."""
        return ('the last good checkpoint is %s' % self.last if self.last else
                'no checkpoint was saved in this run')


# options that change where a run writes, what it shows or how it resumes, not what it
# computes: a run may continue another that differs only in these
NOT_RECIPE = frozenset({
    'resume_from', 'resume_states', 'resume_epoch', 'resume_params', 'auto_resume',
    'num_workers', 'progress', 'save_dir', 'logging_dir', 'logging_file', 'save_plot_dir',
    'summary', 'save_period', 'save_frequency', 'log_interval', 'data_dir', 'rec_train',
    'rec_train_idx', 'rec_val', 'rec_val_idx'})


def recipe_of(opt):
    """The options that decide what a run computes, as plain data (saved with every
    checkpoint so that ``--auto-resume`` continues only the same run)."""
    return {k: v for k, v in sorted(vars(opt).items()) if k not in NOT_RECIPE}


def _flag(parser, dest):
    for action in parser._actions:
        if action.dest == dest and action.option_strings:
            return max(action.option_strings, key=len)
    return '--' + dest.replace('_', '-')


def find_resumable(save_dir, model, recipe, parser):
    """The newest complete epoch-boundary checkpoint of this run in ``save_dir`` (its JSON
    present and every file it names), or None. A checkpoint of this model written with
    another recipe is refused, naming the flag that differs."""
    found, other = [], None
    for meta_path in sorted(glob.glob(os.path.join(save_dir, '*.json'))):
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get('kind') != 'epoch' or \
                meta.get('model') != model:
            continue
        files = [meta.get('params'), meta.get('states')]
        if not all(f is None or os.path.isfile(os.path.join(save_dir, f)) for f in files) or \
                not meta.get('params'):
            continue
        if meta.get('recipe') != recipe:
            other = other or (meta_path, meta.get('recipe') or {})
            continue
        found.append((meta['next_epoch'], meta_path, meta))
    if found:
        _, meta_path, meta = max(found, key=lambda f: (f[0], f[1]))
        meta['params'] = os.path.join(save_dir, meta['params'])
        return meta
    if other:
        meta_path, saved = other
        differ = sorted(k for k in set(saved) | set(recipe) if saved.get(k) != recipe.get(k))
        key = differ[0]
        raise ValueError('--auto-resume: %s was written by a run of %s with %s %r, this run has '
                         '%r%s; give the same options, or another --save-dir to start afresh'
                         % (meta_path, model, _flag(parser, key), saved.get(key),
                            recipe.get(key), ' (and %d more)' % (len(differ) - 1)
                            if len(differ) > 1 else ''))
    return None


def warn_if_overwriting(save_dir, model):
    """A fresh run into a folder holding checkpoints of the same model says so."""
    saved = [p for p in glob.glob(os.path.join(save_dir, '*.json'))
             if os.path.basename(p).find(model) >= 0]
    if saved:
        logger.warning('%s already holds %d checkpoint(s) of %s; this run starts at epoch 0 '
                       'and may overwrite them (--auto-resume continues the newest)',
                       save_dir, len(saved), model)


def check_auto_resume(opt, dist):
    """``--auto-resume`` goes alone, on one machine."""
    explicit = [f for f, v in (('--resume-from', getattr(opt, 'resume_from', None)),
                               ('--resume-params', getattr(opt, 'resume_params', None))) if v]
    if explicit:
        raise ValueError('give --auto-resume or %s, not both' % explicit[0])
    if dist.dist:
        raise ValueError('--auto-resume is for single-machine runs; resume distributed '
                         'runs with --resume-from/--resume-params')


def auto_resume(opt, dist, net, trainer, ctx, model, recipe, parser, best, history):
    """``--auto-resume``: load the newest complete checkpoint of this run from
    ``opt.save_dir`` (the best-accuracy record and history into ``best``/``history``);
    returns the epoch to start at (0 when there is none)."""
    check_auto_resume(opt, dist)
    meta = find_resumable(opt.save_dir, model, recipe, parser)
    if meta is None:
        logger.info('--auto-resume: no checkpoint of this run in %s; starting at epoch 0',
                    opt.save_dir)
        return 0
    best.update(meta.get('best') or {})
    history[:] = meta.get('history') or []
    return resume(net, trainer, meta['params'], None, meta['next_epoch'], ctx)


def resume_epoch(params, epoch=None):
    """The epoch a run resumed from ``params`` starts at: ``epoch`` if given, else the one
    recorded beside the params, else 0."""
    if epoch is None:
        meta = sidecar(params)
        epoch = json.load(open(meta)).get('next_epoch', 0) if os.path.isfile(meta) else 0
    return epoch


def resume(net, trainer, params, states, epoch, ctx):
    """Load params (and states) to continue training; returns the epoch to start at
    (``resume_epoch``)."""
    from ..model_zoo.pretrained import load_params
    load_params(net, params, ctx=ctx)
    states = states or (os.path.splitext(params)[0] + '.states')
    if os.path.isfile(states):
        try:
            trainer.load_states(states)
        except Exception as e:      # pickle and MXNet errors of a damaged file
            from ..model_zoo.pretrained import CheckpointError
            raise CheckpointError("cannot read the trainer states '%s' (%s: %s); resume from "
                                  'an earlier checkpoint, or pass --resume-states with another '
                                  'file' % (states, type(e).__name__, e))
        logger.info('resumed trainer states from %s', states)
    else:
        logger.warning('no trainer states at %s: momentum and schedule restart', states)
    epoch = resume_epoch(params, epoch)
    logger.info('resumed %s; continuing at epoch %d', params, epoch)
    return epoch


def fit(net, trainer, ctx, train_batches, val_batches, classes, num_epochs, start_epoch=0,
        mixup=False, mixup_alpha=1.0, mixup_off_epoch=0, label_smoothing=False,
        teacher=None, temperature=20.0, hard_weight=0.5, dtype='float32', seed=None,
        iters_per_epoch=None, progress=None, on_epoch_end=None, on_interrupt=None,
        log_interval=0, num_workers=1):
    """Train ``net`` from ``start_epoch`` to ``num_epochs``.

    ``progress``: True/False, or 'on'/'off'/'auto' (bars only on a terminal).
    ``on_epoch_end(epoch, stats)`` receives a dict (train_loss, train_metric name and
    value, val_top1, val_top5, lr, img_per_s, seconds). On Ctrl-C, ``on_interrupt(epoch)``
    saves what is needed to resume, then KeyboardInterrupt propagates. With
    ``num_workers`` > 1 (a dist kvstore) gradients are normalised by the global batch.
    """
    eta = 0.1 if label_smoothing else 0.0
    dense = mixup or label_smoothing
    if teacher is not None:
        from gluoncv.loss import DistillationSoftmaxCrossEntropyLoss
        loss_fn = DistillationSoftmaxCrossEntropyLoss(temperature=temperature,
                                                      hard_weight=hard_weight,
                                                      sparse_label=not dense)
    else:
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=not dense)
    if progress in (None, 'auto'):
        progress = sys.stderr.isatty()
    elif progress in ('on', 'off'):
        progress = progress == 'on'
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, num_epochs):
            if seed is not None:
                seed_everything(seed + epoch)
            metric = mx.metric.RMSE() if dense else mx.metric.Accuracy()
            tic, seen, loss_sum, nbatch = time.time(), 0, 0.0, 0
            for i, (data, label) in enumerate(_progress(train_batches(), progress,
                                                         total=iters_per_epoch,
                                                         desc='epoch %d' % epoch)):
                data = gluon.utils.split_and_load(data, ctx, even_split=False)
                label = gluon.utils.split_and_load(label, ctx, even_split=False)
                batch_size = sum(x.shape[0] for x in data)
                if mixup:
                    lam = draw_lambda(mixup_alpha, epoch, num_epochs, mixup_off_epoch)
                    data, targets = mixup_batch(data, label, classes, lam, eta)
                elif label_smoothing:
                    targets = [smooth_targets(y, classes, eta) for y in label]
                else:
                    targets = label
                data = [x.astype(dtype, copy=False) for x in data]
                soft = None
                if teacher is not None:
                    # the teacher's softmax runs in --dtype; the loss gets float32, as the
                    # original cast outputs, labels and soft targets
                    soft = [mx.nd.softmax(teacher(x) / temperature).astype('float32', copy=False)
                            for x in data]
                for x in data:
                    if x.context.device_type == 'cpu':
                        # On MXNet's CPU (oneDNN) build BatchNorm updates its moving statistics
                        # in backward, and only where a gradient flows: without an input
                        # gradient the CIFAR stem's data BatchNorm would never update. GPUs
                        # (cuDNN) need no such gradient, and the original had none.
                        x.attach_grad()
                targets = [t.astype('float32', copy=False) for t in targets]
                with autograd.record():
                    outs = [net(x).astype('float32', copy=False) for x in data]
                    if soft is not None:
                        losses = [loss_fn(o, t, s) for o, t, s in zip(outs, targets, soft)]
                    else:
                        losses = [loss_fn(o, t) for o, t in zip(outs, targets)]
                autograd.backward(losses)
                batch_loss = sum(l.sum().asscalar() for l in losses)
                if not np.isfinite(batch_loss):     # before the update reaches the weights
                    raise TrainingDiverged(
                        'the training loss became %s in epoch %d, batch %d, at learning rate '
                        '%g; lower --lr (or raise --warmup-epochs) and resume from a good '
                        'checkpoint' % (batch_loss, epoch, i, trainer.learning_rate))
                trainer.step(batch_size * num_workers)
                loss_sum += batch_loss
                seen += batch_size
                nbatch += 1
                if dense:
                    metric.update(targets, [mx.nd.softmax(o) for o in outs])
                else:
                    metric.update(targets, outs)
                if log_interval and (i + 1) % log_interval == 0:
                    # the original's line: 0-based batch index, rate after this update
                    logger.info('Epoch[%d] Batch [%d]\tSpeed: %f samples/sec\t%s=%f\tlr=%f',
                                epoch, i, seen / (time.time() - tic), *metric.get(),
                                trainer.learning_rate)
            elapsed = time.time() - tic
            name, value = metric.get()
            top1, top5 = evaluate(net, val_batches, ctx, dtype, progress)
            stats = dict(epoch=epoch, train_loss=loss_sum / max(seen, 1), train_metric=name,
                         train_value=value, val_top1=top1, val_top5=top5,
                         lr=trainer.learning_rate, img_per_s=seen / max(elapsed, 1e-9),
                         seconds=elapsed, batches=nbatch)
            logger.info('[Epoch %d] loss=%.4f %s=%.4f | val top1=%.4f top5=%.4f | lr=%.6f | '
                        '%.1f img/s | %d samples | %.1fs', epoch, stats['train_loss'], name,
                        value, top1, top5, stats['lr'], stats['img_per_s'], seen, elapsed)
            if on_epoch_end is not None:
                on_epoch_end(epoch, stats)
            if num_workers > 1:     # synchronous workers must agree, epoch by epoch
                logger.info('[Epoch %d] trainable parameters sha1 %s', epoch,
                            parameters_digest(net))
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt(epoch)
        raise
