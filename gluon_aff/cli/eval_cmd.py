"""``gluon-aff eval NAME --params FILE ...``: top-1/top-5 of a checkpoint on a data set."""
import os
import sys

import mxnet as mx

from . import register_command
from .args import positive_int
from .common import add_arg_option, load_checkpoint_network, parse_kwargs
from ..data.evaluation import dataset_batches, folder_batches, rec_batches
from ..core import released


def configure(p):
    p.add_argument('name', help='zoo name of the network the file was saved from')
    p.add_argument('--params', required=True, help='.params file (released or your own)')
    p.add_argument('--rec-val', help='validation .rec (with --rec-val-idx)')
    p.add_argument('--rec-val-idx', help='its .idx')
    p.add_argument('--data-dir', help='image folder (its val/ sub-folder if present), one '
                   'sub-folder per class')
    p.add_argument('--dataset', choices=('cifar100', 'cifar10', 'digits'))
    p.add_argument('--coarse-label', action='store_true',
                   help='CIFAR-100 with the 20 superclass labels (the released superclass files)')
    add_arg_option(p)
    p.add_argument('--batch-size', type=positive_int, default=64)
    p.add_argument('-j', '--num-workers', type=int, default=4)
    p.add_argument('--progress', choices=('auto', 'on', 'off'), default='auto')


def run(args):
    from ..train.loop import evaluate
    sources = [bool(args.rec_val or args.rec_val_idx), bool(args.data_dir), bool(args.dataset)]
    if sum(sources) != 1:
        raise ValueError('give exactly one data source: --rec-val/--rec-val-idx, --data-dir '
                         'or --dataset')
    info, net = load_checkpoint_network(args.name, args.params, parse_kwargs(
        args.arg, sets={'classes': "from the checkpoint's head"}))
    net.hybridize()
    if args.rec_val or args.rec_val_idx:
        batches = rec_batches(os.path.expanduser(args.rec_val or ''),
                               os.path.expanduser(args.rec_val_idx or ''), info,
                               args.batch_size, args.num_workers)
        source = args.rec_val
    elif args.data_dir:
        batches = folder_batches(os.path.expanduser(args.data_dir), info, args.batch_size,
                                  args.num_workers)
        source = args.data_dir
    else:
        batches = dataset_batches(args.dataset, args.coarse_label, None, info, args.batch_size)
        source = args.dataset + (' (coarse labels)' if args.coarse_label else '')
    progress = {'auto': sys.stderr.isatty(), 'on': True, 'off': False}[args.progress]
    top1, top5 = evaluate(net, batches, [mx.cpu()], progress=progress)
    print('%s on %s: top-1 accuracy %.4f (error %.4f), top-5 accuracy %.4f (error %.4f)'
          % (os.path.basename(args.params), source, top1, 1 - top1, top5, 1 - top5))
    matches = [c for c in released.CHECKPOINTS if c.file == os.path.basename(args.params)]
    if matches:
        c = matches[0]
        reported = 1 - c.value if c.metric == 'top1_err' else c.value
        paper = (', paper %s %s' % (c.paper['where'], c.paper['value'])) if c.paper else ''
        print('released file: its name reports %s %.4f (top-1 accuracy %.4f%s); measured here '
              '%.4f, difference %+.4f' % (c.metric, c.value, reported, paper, top1,
                                          top1 - reported))
    return 0


register_command('eval', 'Top-1/top-5 of a checkpoint with the original preprocessing (resize '
                 'ceil(size/0.875), centre crop, the model\'s mean/std).', configure, run,
                 example='gluon-aff eval aff_resnet50 --params ~/.mxnet/models/0.2028-imagenet-'
                         'ImageNet-ASKCFuse-resnet--50-s-3-235-best.params --rec-val '
                         '~/.mxnet/datasets/imagenet/rec/val.rec --rec-val-idx '
                         '~/.mxnet/datasets/imagenet/rec/val.idx')
