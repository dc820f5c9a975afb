"""train_seg.py: the AFF paper's StopSign segmentation recipe (ResNet-20-b + FPN).

Cross entropy per pixel, AdaGrad (lr 0.01), poly schedule, 300 epochs, batch 32 by
default; pixel accuracy, mIoU and foreground (stop sign) IoU on the held-out images
after every epoch; the parameters with the best foreground IoU are kept. The run shares
the classification recipes' loop, devices (``--gpus``), checkpoints and resuming.
"""
import json
import logging
import os

import mxnet as mx
import numpy as np

from ..core.atomic import write_atomically
from ..data.stopsign import find_image_dir, load_stopsign
from ..model_zoo import get_model, get_model_info, list_models
from .config import SegConfig
from .devices import parse_gpus
from ..core.runlog import closes_log
from .options import run_script, seg_parser
from .report import print_summary
from .loop import Objective
from .runner import CheckpointNames, Run

__all__ = ['seg_parser', 'main', 'run', 'confusion', 'scores', 'SegmentationBatches',
           'SegmentationValidation']

logger = logging.getLogger('gluon_aff')


def confusion(pred, label, classes=2):
    """classes x classes counts, rows = truth."""
    idx = label.astype(np.int64) * classes + pred.astype(np.int64)
    return np.bincount(idx.ravel(), minlength=classes * classes).reshape(classes, classes)


def scores(conf):
    """pixel accuracy, mIoU and foreground IoU (class 1) of a confusion matrix."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return dict(pixel_acc=float(tp.sum() / max(conf.sum(), 1)),
                miou=float(np.nanmean(iou)), fg_iou=float(iou[1]) if conf.shape[0] > 1 else 0.0)


def _normalise(images, mean, std):
    x = images.astype(np.float32) / 255.0
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x.transpose(0, 3, 1, 2)


def _split(n, fraction, seed):
    order = np.random.RandomState(seed).permutation(n)
    held = max(1, int(round(n * fraction))) if n > 1 else 0
    return order[held:], order[:held]


class SegmentationBatches(object):
    """Epoch callable over in-memory images (N x 3 x S x S, normalised) and masks: training
    shuffles with ``np.random`` and flips half the pairs horizontally; validation keeps
    the order and the last partial batch."""

    def __init__(self, x, masks, batch_size, train):
        self.x, self.masks = x, masks.astype(np.float32)
        self.batch_size, self.train = batch_size, train

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __call__(self):
        order = np.random.permutation(len(self.x)) if self.train else np.arange(len(self.x))
        for i in range(0, len(order), self.batch_size):
            batch = order[i:i + self.batch_size]
            xb, yb = self.x[batch], self.masks[batch]
            if self.train:
                flip = np.random.rand(len(batch)) < 0.5
                xb[flip], yb[flip] = xb[flip][..., ::-1], yb[flip][..., ::-1]
            yield mx.nd.array(xb), mx.nd.array(yb)


class SegmentationValidation(object):
    """Pixel accuracy, mIoU and stop-sign IoU (``fg_iou``, the kept metric) of the
    held-out images, after every epoch."""
    metric = 'fg_iou'

    def __init__(self, batches):
        self.batches = batches

    def __call__(self, net, ctx, dtype='float32', progress=False):
        if not len(self.batches):
            return dict(pixel_acc=float('nan'), miou=float('nan'), fg_iou=float('nan'))
        conf = np.zeros((2, 2), dtype=np.int64)
        for data, label in self.batches():
            data = mx.gluon.utils.split_and_load(data, ctx, even_split=False)
            label = mx.gluon.utils.split_and_load(label, ctx, even_split=False)
            for x, y in zip(data, label):
                conf += confusion(net(x).argmax(axis=1).asnumpy(), y.asnumpy())
        return scores(conf)

    @staticmethod
    def describe(stats):
        return 'val pixel acc=%.4f mIoU=%.4f stop-sign IoU=%.4f' % (
            stats['pixel_acc'], stats['miou'], stats['fg_iou'])


def _build(config):
    if config.model not in list_models('fpn_*'):
        from ..core.zoo import unknown_model_error
        if config.model in list_models():
            raise ValueError('--model %s is not a segmentation network; use one of %s'
                             % (config.model, ', '.join(list_models('fpn_*')[:4]) + ', ...'))
        raise unknown_model_error(config.model)
    kwargs = dict(classes=2, attention_norm=config.attention_norm)
    if config.askc_type:
        kwargs['fusion'] = config.askc_type
    if config.blocks:
        kwargs['blocks'] = config.blocks
    return get_model(config.model, **kwargs)


@closes_log
def run(config):
    """Train as ``train_seg.py`` does with the flags ``config`` holds (a ``SegConfig``);
    returns a ``TrainResult`` (its metric: the stop-sign IoU)."""
    if not isinstance(config, SegConfig):
        raise TypeError('run() takes a SegConfig, got %s' % type(config).__name__)
    if not config.ann_file and not config.coco_root:
        raise ValueError('give --coco-root (a COCO folder) or --ann-file (a COCO instances '
                         'json with a "stop sign" category)')
    ann_file = config.ann_file or os.path.join(config.coco_root, 'annotations',
                                               'instances_train2017.json')
    image_dir = find_image_dir(config.coco_root or os.path.dirname(ann_file), ann_file,
                               config.image_dir)
    session = Run(config, parse_gpus(config.gpus), 'train_seg.py')
    ctx = session.ctx
    net = _build(config)
    name = 'stopsign-%s' % config.model
    session.log_to(os.path.join(config.logging_dir, 'train_%s.log' % name))
    images, masks, ids = load_stopsign(ann_file, image_dir, config.input_size, config.limit)
    train_idx, val_idx = _split(len(ids), config.val_fraction, config.seed or 0)
    info = get_model_info(config.model)
    x = _normalise(images, info.mean, info.std)
    logger.info('%d images with a stop sign (%d train, %d validation), %dx%d, foreground '
                '%.1f%% of pixels', len(ids), len(train_idx), len(val_idx), config.input_size,
                config.input_size, 100.0 * masks.mean())
    net.initialize(mx.init.MSRAPrelu(), ctx=ctx)       # Kaiming, as the paper's Table 2
    if config.summary:
        print_summary(net, (1, 3, config.input_size, config.input_size), ctx[0])
    if config.mode == 'hybrid':
        net.hybridize(static_alloc=True)
    batch_size = config.batch_size * len(ctx)
    train = SegmentationBatches(x[train_idx], masks[train_idx], batch_size, True)
    val = SegmentationBatches(x[val_idx], masks[val_idx], batch_size, False)
    steps = config.num_epochs * len(train)
    schedule = mx.lr_scheduler.PolyScheduler(max_update=max(steps, 1), base_lr=config.lr,
                                             pwr=config.power)
    trainer = session.dist.trainer(net.collect_params(), 'adagrad',
                                   dict(learning_rate=config.lr, lr_scheduler=schedule))
    session.plan(name, config.resume_from)
    names = CheckpointNames(best=lambda value, epoch: '%s-best' % name,
                            periodic=lambda epoch: '%s-%d' % (name, epoch),
                            period=config.save_period,
                            final='%s-%d' % (name, config.num_epochs - 1),
                            interrupted='%s-interrupted' % name, resume_flag='--resume-from')
    history_file = os.path.join(config.save_dir, '%s-history.json' % name)

    def write_history(epoch, stats, history):
        write_atomically(history_file, json.dumps(history, indent=1,
                                                  default=lambda v: v.item()))

    objective = Objective(2, loss_fn=mx.gluon.loss.SoftmaxCrossEntropyLoss(axis=1),
                          train_metric=lambda: mx.metric.Accuracy(axis=1))
    return session.fit(net, trainer, train, SegmentationValidation(val), objective, name,
                       names, after_epoch=write_history, iters_per_epoch=len(train))


def main(argv=None):
    return run_script(seg_parser(), run, argv)
