"""Command-line options of train_cifar.py and train_imagenet.py.

Every flag of the original scripts is here with its meaning and default; flags
the original parsed and ignored now do what their names say. New flags are
marked (new) in their help.
"""
import argparse
import signal
import sys
import threading

from ..nn.attention_norm import ATTENTION_NORMS

__all__ = ['cifar_parser', 'imagenet_parser', 'explicit_options', 'run_script', 'PLACEHOLDER']

PLACEHOLDER = 'xxx'   # the original's default for --model and --askc-type


def _common(p):
    """Flags both scripts share, with the same defaults in both originals."""
    p.add_argument('--model', type=str, default=PLACEHOLDER,
                   help='resnet or resnext (the original host families), or any zoo name '
                        '(`gluon-aff list`)')
    p.add_argument('--askc-type', type=str, default=PLACEHOLDER,
                   help='fusion type: DirectAdd/ASKCFuse/ResGlobLocaforGlobLocaCha or '
                        'add/aff/iaff (and any registered fusion)')
    p.add_argument('--summary', action='store_true', help='print the network\'s layers and '
                   'parameter count before training')
    p.add_argument('-j', '--num-data-workers', dest='num_workers', default=96, type=int,
                   help='data-loading worker processes (0: load in the main process)')
    p.add_argument('--momentum', type=float, default=0.9, help='momentum of NAG')
    p.add_argument('--wd', type=float, default=0.0001, help='weight decay')
    p.add_argument('--lr-decay', type=float, default=0.1, help='step decay factor')
    p.add_argument('--lr-decay-period', type=int, default=0,
                   help='decay every this many epochs (0: use --lr-decay-epoch)')
    p.add_argument('--mode', type=str, default='hybrid', help='hybrid or imperative')
    p.add_argument('--mixup', action='store_true', help='train with mixup')
    p.add_argument('--auto_aug', action='store_true', help='AutoAugment (built in; CIFAR-10 '
                   'policy for CIFAR, ImageNet policy for ImageNet)')
    p.add_argument('--label-smoothing', action='store_true', help='label smoothing 0.1')
    p.add_argument('--no-wd', action='store_true',
                   help='no weight decay on BN gamma/beta and biases')
    p.add_argument('--warmup-lr', type=float, default=0.0,
                   help='learning rate at the start of the linear warm-up')
    p.add_argument('--start-layer', type=int, default=None,
                   help='stages below this use plain addition (CIFAR default 1, ImageNet 3)')
    p.add_argument('--r', type=int, default=None,
                   help='reduction ratio of the attention (default: 4 in CIFAR ResNet blocks, '
                        '16 in bottleneck/ResNeXt blocks). Other values build networks that no '
                        'longer load the released weights.')
    p.add_argument('--seed', type=int, default=None,
                   help='(new) seed Python, NumPy and MXNet; with -j 0 CPU runs repeat exactly')
    p.add_argument('--no-augment', action='store_true',
                   help='(new) no random crop/flip/colour augmentation (for debugging)')
    p.add_argument('--use-pretrained', action='store_true',
                   help='start from the released checkpoint of the chosen network')
    p.add_argument('--progress', choices=('auto', 'on', 'off'), default='auto',
                   help='(new) batch progress bars; auto = only on a terminal')
    # testing aid: stop every training epoch after N batches (smoke runs of the recipes)
    p.add_argument('--test-max-batches', type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument('--attention-norm', choices=ATTENTION_NORMS, default='batch',
                   help='(new) how the attention modules\' BatchNorms run: batch (as released), global_stats or frozen (for 1 image per device; see gluon_aff.nn.set_attention_norm)')
    p.add_argument('--auto-resume', action='store_true',
                   help='(new) continue from the newest complete checkpoint in --save-dir that '
                        'a run with the same options wrote (start fresh when there is none); '
                        'rerun the same command after a kill or preemption')
    p.add_argument('--kvstore', default='device',
                   choices=('device', 'local', 'dist_sync', 'dist_device_sync', 'dist_async'),
                   help='(new) gradient aggregation; dist_* train on several machines, started '
                        'by `python -m gluon_aff.launch`')


def cifar_parser():
    p = argparse.ArgumentParser(
        prog='train_cifar.py',
        description='Train AFF/iAFF CIFAR networks (also on the offline digits set).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _common(p)
    p.add_argument('--dataset', type=str, default='cifar100',
                   help='cifar100, cifar10 or digits (offline, scikit-learn\'s digits)')
    p.add_argument('--data-dir', type=str, default=None,
                   help='(new) folder of a local CIFAR copy (gluon\'s file layout); default '
                        '~/.mxnet/datasets/<dataset>')
    p.add_argument('--coarse-label', action='store_true',
                   help='(new) CIFAR-100 with the 20 superclass labels on the 100-way head: the '
                        'paper\'s and the released "superclass" files\' setting')
    p.add_argument('--batch-size', type=int, default=128, help='batch size per device')
    p.add_argument('--channel-times', type=int, default=4, help='width multiplier')
    p.add_argument('--blocks', type=int, default=1, help='blocks per stage')
    p.add_argument('--gpus', type=str, default='0,1,2,3',
                   help="GPU ids, comma separated; '' trains on the CPU")
    p.add_argument('--num-epochs', type=int, default=640)
    p.add_argument('--lr', type=float, default=0.2)
    p.add_argument('--lr-decay-epoch', type=str, default='300,450',
                   help='step-decay epochs (the schedule applies them minus --warmup-epochs, '
                        'as the original)')
    p.add_argument('--drop-rate', type=float, default=0.0, help='dropout before the classifier')
    p.add_argument('--save-period', type=int, default=10,
                   help='save params every this many epochs (0: only best and final)')
    p.add_argument('--save-dir', type=str, default='params')
    p.add_argument('--logging-dir', type=str, default='logs')
    p.add_argument('--resume-from', type=str, default=None,
                   help='params file to resume from; its .states and .json siblings, when '
                        'present, restore the optimizer and the epoch')
    p.add_argument('--resume-states', type=str, default=None, help='(new) trainer states file')
    p.add_argument('--resume-epoch', type=int, default=None,
                   help='(new) epoch to resume at (default: from the .json sibling, else 0)')
    p.add_argument('--save-plot-dir', type=str, default='.')
    p.add_argument('--mixup-alpha', type=float, default=1.0)
    p.add_argument('--mixup-off-epoch', type=int, default=40)
    p.add_argument('--cosine', action='store_true',
                   help='linear warm-up then cosine decay (else constant with step decay)')
    p.add_argument('--warmup-epochs', type=int, default=10)
    p.add_argument('--deep-stem', action='store_true', help='three 3x3 stem convolutions')
    return p


def imagenet_parser():
    p = argparse.ArgumentParser(
        prog='train_imagenet.py',
        description='Train AFF/iAFF ImageNet networks.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _common(p)
    p.add_argument('--data-dir', type=str, default='~/.mxnet/datasets/imagenet',
                   help='image folder with train/ and val/ (one sub-folder per class)')
    p.add_argument('--rec-train', type=str, default='~/.mxnet/datasets/imagenet/rec/train.rec')
    p.add_argument('--rec-train-idx', type=str,
                   default='~/.mxnet/datasets/imagenet/rec/train.idx')
    p.add_argument('--rec-val', type=str, default='~/.mxnet/datasets/imagenet/rec/val.rec')
    p.add_argument('--rec-val-idx', type=str, default='~/.mxnet/datasets/imagenet/rec/val.idx')
    p.add_argument('--use-rec', action='store_true', help='read .rec files (ImageRecordIter)')
    p.add_argument('--ignore-auto-aug-with-rec', action='store_true',
                   help='(new) with --use-rec, ignore --auto_aug as the original did (its .rec '
                        'iterator never applied AutoAugment, so the released ImageNet weights '
                        'were trained without it); otherwise the training .rec is read with '
                        'Python transforms so that AutoAugment applies')
    p.add_argument('--batch-size', type=int, default=128, help='batch size per device')
    p.add_argument('--dtype', type=str, default='float16',
                   help='float16 (GPUs, with multi-precision) or float32')
    p.add_argument('--num-gpus', type=int, default=4, help='0 trains on the CPU')
    p.add_argument('--num-epochs', type=int, default=240)
    p.add_argument('--lr', type=float, default=0.075)
    p.add_argument('--lr-mode', type=str, default='cosine', help='cosine, step or poly')
    p.add_argument('--lr-decay-epoch', type=str, default='40,60')
    p.add_argument('--warmup-epochs', type=int, default=5)
    p.add_argument('--last-gamma', action='store_true',
                   help='zero-initialise the last BN gamma of every block')
    p.add_argument('--input-size', type=int, default=224,
                   help='>= 320 uses EfficientNet-style crops and bicubic resizing (image '
                        'folder input)')
    p.add_argument('--crop-ratio', type=float, default=0.875,
                   help='validation: resize to ceil(input-size / crop-ratio), centre crop')
    p.add_argument('--use-se', action='store_true', help='SE in ResNeXt blocks')
    p.add_argument('--mixup-alpha', type=float, default=0.2)
    p.add_argument('--mixup-off-epoch', type=int, default=5)
    p.add_argument('--teacher', type=str, default=None,
                   help='distil from this zoo or gluoncv model (released/pretrained weights, '
                        'or --teacher-params)')
    p.add_argument('--teacher-params', type=str, default=None,
                   help='(new) params file for --teacher')
    p.add_argument('--temperature', type=float, default=20)
    p.add_argument('--hard-weight', type=float, default=0.5)
    p.add_argument('--batch-norm', action='store_true',
                   help='BatchNorm in VGG models (gluoncv); no effect on the AFF families')
    p.add_argument('--save-frequency', type=int, default=10,
                   help='save params/states every this many epochs (0: only best and final)')
    p.add_argument('--save-dir', type=str, default='params')
    p.add_argument('--resume-epoch', type=int, default=0)
    p.add_argument('--resume-params', type=str, default='')
    p.add_argument('--resume-states', type=str, default='')
    p.add_argument('--log-interval', type=int, default=50)
    p.add_argument('--logging-file', type=str, default='train_imagenet.log')
    p.add_argument('--use-gn', action='store_true', help='GroupNorm (32 groups) in the host')
    p.add_argument('--num-layer', type=int, default=50, help='50, 101 or 152')
    # testing aid: N blocks in every stage of the ImageNet ResNet/ResNeXt (names unchanged)
    p.add_argument('--test-layers', type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument('--classes', type=int, default=1000,
                   help='(new) classifier size (labels must be below it)')
    return p


def explicit_options(parser, argv):
    """Names of the options given on the command line (not left at their defaults)."""
    probe = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:
        if action.option_strings and action.dest != 'help':
            kwargs = dict(dest=action.dest, default=argparse.SUPPRESS)
            if action.nargs == 0:
                kwargs['action'] = 'store_const'
                kwargs['const'] = True
            probe.add_argument(*action.option_strings, **kwargs)
    known, _ = probe.parse_known_args(argv)
    return set(vars(known))


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers send before they kill a job), handled as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated()


def run_script(parser, run, argv=None):
    """Parse ``argv`` with ``parser`` and call ``run(opt, explicit_options)``; bad input
    prints one error line (exit code 2). Ctrl-C exits with 130 and SIGTERM with 143, each
    after ``run`` saved what resuming needs."""
    from ..model_zoo.pretrained import CheckpointError
    from .loop import close_logging
    argv = sys.argv[1:] if argv is None else list(argv)
    opt = parser.parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        run(opt, explicit_options(parser, argv))
    except (ValueError, IOError, CheckpointError) as e:
        print('%s: error: %s' % (parser.prog, e), file=sys.stderr)
        return 2
    except Terminated:
        print('%s: stopped by SIGTERM' % parser.prog, file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        close_logging()
    return 0
