"""train_seg.py: the AFF paper's StopSign segmentation recipe (ResNet-20-b + FPN).

Cross entropy per pixel, AdaGrad (lr 0.01), poly schedule, 300 epochs, batch 32 by
default; pixel accuracy, mIoU and foreground (stop sign) IoU on the held-out images
after every epoch; the parameters with the best foreground IoU are kept.
"""
import argparse
import json
import logging
import os
import sys
import time

import mxnet as mx
import numpy as np

from ..atomic import write_atomically
from ..data.stopsign import find_image_dir, load_stopsign
from ..model_zoo import get_model, get_model_info, list_models
from ..nn.attention_norm import ATTENTION_NORMS
from .loop import (contexts, prefer_sync_engine_on_cpu, save_params, seed_everything,
                   setup_logging)
from .options import run_script

__all__ = ['seg_parser', 'main', 'run', 'confusion', 'scores']

logger = logging.getLogger('gluon_aff')


def seg_parser():
    p = argparse.ArgumentParser(prog='train_seg.py', description=__doc__.split('\n')[0])
    p.add_argument('--coco-root', default=None,
                   help='COCO folder (annotations/instances_train2017.json, train2017/)')
    p.add_argument('--ann-file', default=None,
                   help='COCO instances json (default: COCO_ROOT/annotations/'
                        'instances_train2017.json)')
    p.add_argument('--image-dir', default=None,
                   help="folder of the annotation file's images (default: found under "
                        "--coco-root)")
    p.add_argument('--val-fraction', type=float, default=0.2,
                   help='share of the stop-sign images held out for validation (default 0.2)')
    p.add_argument('--model', default='fpn_resnet20_aff_b1', help='an fpn_resnet20_* zoo name')
    p.add_argument('--askc-type', default=None, help='override the merges\' fusion type')
    p.add_argument('--blocks', type=int, default=None, help='blocks per stage (b)')
    p.add_argument('--attention-norm', choices=ATTENTION_NORMS, default='batch',
                   help='(new) how the attention modules\' BatchNorms run: batch (as released), global_stats or frozen (for 1 image per device; see gluon_aff.nn.set_attention_norm)')
    p.add_argument('--input-size', type=int, default=128)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-epochs', type=int, default=300)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--power', type=float, default=0.9, help='poly schedule power')
    p.add_argument('--gpus', default='', help="GPU ids, e.g. '0,1' (default: CPU)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--limit', type=int, default=None, help='use at most this many images')
    p.add_argument('--save-dir', default='params')
    p.add_argument('--logging-dir', default='logs')
    p.add_argument('--progress', choices=('on', 'off'), default='on')
    return p


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


def evaluate(net, x, y, batch_size, ctx):
    conf = np.zeros((2, 2), dtype=np.int64)
    for i in range(0, len(x), batch_size):
        out = net(mx.nd.array(x[i:i + batch_size], ctx=ctx))
        pred = out.argmax(axis=1).asnumpy()
        conf += confusion(pred, y[i:i + batch_size])
    return scores(conf)


def _build(opt):
    if opt.model not in list_models('fpn_*'):
        from ..model_zoo.registry import _unknown
        if opt.model in list_models():
            raise ValueError('--model %s is not a segmentation network; use one of %s'
                             % (opt.model, ', '.join(list_models('fpn_*')[:4]) + ', ...'))
        raise ValueError(_unknown(opt.model))
    kwargs = dict(classes=2, attention_norm=opt.attention_norm)
    if opt.askc_type:
        kwargs['fusion'] = opt.askc_type
    if opt.blocks:
        kwargs['blocks'] = opt.blocks
    return get_model(opt.model, **kwargs)


def run(opt, explicit=()):
    for flag, value in (('--batch-size', opt.batch_size), ('--num-epochs', opt.num_epochs),
                        ('--input-size', opt.input_size)):
        if value < 1:
            raise ValueError('%s must be at least 1, got %d' % (flag, value))
    if not opt.ann_file and not opt.coco_root:
        raise ValueError('give --coco-root (a COCO folder) or --ann-file (a COCO instances '
                         'json with a "stop sign" category)')
    ann_file = opt.ann_file or os.path.join(opt.coco_root, 'annotations',
                                            'instances_train2017.json')
    image_dir = find_image_dir(opt.coco_root or os.path.dirname(ann_file), ann_file,
                               opt.image_dir)
    ctx = contexts([int(g) for g in opt.gpus.split(',') if g.strip()])
    prefer_sync_engine_on_cpu(ctx)
    seed_everything(opt.seed)
    net = _build(opt)
    name = 'stopsign-%s' % opt.model
    setup_logging(os.path.join(opt.logging_dir, 'train_%s.log' % name))
    logger.info('train_seg.py %s', ' '.join(sys.argv[1:]))
    images, masks, ids = load_stopsign(ann_file, image_dir, opt.input_size, opt.limit)
    train_idx, val_idx = _split(len(ids), opt.val_fraction, opt.seed)
    info = get_model_info(opt.model)
    x = _normalise(images, info.mean, info.std)
    logger.info('%d images with a stop sign (%d train, %d validation), %dx%d, foreground '
                '%.1f%% of pixels', len(ids), len(train_idx), len(val_idx), opt.input_size,
                opt.input_size, 100.0 * masks.mean())
    net.initialize(mx.init.MSRAPrelu(), ctx=ctx)       # Kaiming, as the paper's Table 2
    net.hybridize(static_alloc=True)
    steps = opt.num_epochs * int(np.ceil(len(train_idx) / float(opt.batch_size)))
    schedule = mx.lr_scheduler.PolyScheduler(max_update=max(steps, 1), base_lr=opt.lr,
                                             pwr=opt.power)
    trainer = mx.gluon.Trainer(net.collect_params(), 'adagrad',
                               dict(learning_rate=opt.lr, lr_scheduler=schedule))
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss(axis=1)
    os.makedirs(opt.save_dir, exist_ok=True)
    from tqdm import tqdm
    rng = np.random.RandomState(opt.seed)
    best, history = -1.0, []
    bar = tqdm(range(opt.num_epochs), desc=name, unit='epoch', disable=opt.progress == 'off')
    for epoch in bar:
        start, total, n = time.time(), 0.0, 0
        order = rng.permutation(train_idx)
        for i in range(0, len(order), opt.batch_size):
            batch = order[i:i + opt.batch_size]
            xb = x[batch]
            yb = masks[batch].astype(np.float32)
            flip = rng.rand(len(batch)) < 0.5                 # horizontal flips
            xb[flip], yb[flip] = xb[flip][..., ::-1], yb[flip][..., ::-1]
            data, label = mx.nd.array(xb, ctx=ctx[0]), mx.nd.array(yb, ctx=ctx[0])
            data.attach_grad()     # CPU BatchNorm updates its statistics only with a gradient
            with mx.autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(len(batch))
            total += float(loss.sum().asscalar())
            n += len(batch)
        metrics = evaluate(net, x[val_idx], masks[val_idx], opt.batch_size, ctx[0]) \
            if len(val_idx) else dict(pixel_acc=float('nan'), miou=float('nan'),
                                      fg_iou=float('nan'))
        metrics.update(epoch=epoch, loss=total / max(n, 1), lr=trainer.learning_rate,
                       seconds=time.time() - start)
        history.append(metrics)
        logger.info('[Epoch %d] loss=%.4f | val pixel acc=%.4f mIoU=%.4f stop-sign IoU=%.4f '
                    '| lr=%.5f | %.1fs', epoch, metrics['loss'], metrics['pixel_acc'],
                    metrics['miou'], metrics['fg_iou'], metrics['lr'], metrics['seconds'])
        bar.set_postfix(loss='%.3f' % metrics['loss'], fg_iou='%.3f' % metrics['fg_iou'])
        if metrics['fg_iou'] > best:
            best = metrics['fg_iou']
            save_params(net, os.path.join(opt.save_dir, '%s-best.params' % name))
    save_params(net, os.path.join(opt.save_dir, '%s-%d.params' % (name, opt.num_epochs - 1)))
    write_atomically(os.path.join(opt.save_dir, '%s-history.json' % name),
                     json.dumps(history, indent=1))
    logger.info('best stop-sign IoU %.4f (%s)', best,
                os.path.join(opt.save_dir, '%s-best.params' % name))
    return best


def main(argv=None):
    return run_script(seg_parser(), run, argv)
