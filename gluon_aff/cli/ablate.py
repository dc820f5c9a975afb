"""``gluon-aff ablate``: rerun one of the AFF paper's ablation tables."""
import os

from . import register_command
from .args import positive_int
from ..tools.ablate import HOSTS, TABLES, format_summary, plot_summary, run_ablation


def configure(p):
    p.add_argument('--table', choices=sorted(TABLES), default='4',
                   help='3: context scales, 4: fusion strategies, 6: local/global fusion')
    p.add_argument('--host', choices=sorted(HOSTS), default='resnet')
    p.add_argument('--blocks', type=positive_int, nargs='+', default=[1], metavar='B',
                   help='blocks per stage to run (default: 1)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=positive_int, default=6)
    p.add_argument('--dataset', default='digits',
                   help='classification hosts: digits (default), cifar10, cifar100')
    p.add_argument('--channel-times', type=positive_int, default=1,
                   help='width multiplier of the classification hosts (default 1)')
    p.add_argument('--out', default='ablation', help='folder for runs, CSV and PNG')
    p.add_argument('--progress', choices=('on', 'off'), default='on')


def run(args):
    if args.epochs < 1 or min(args.blocks) < 1:
        raise ValueError('--epochs and --blocks must be at least 1')
    rows = run_ablation(args.table, args.host, args.blocks, args.seeds, args.epochs, args.out,
                        args.dataset, args.channel_times, args.progress == 'on')
    metric = 'best stop-sign IoU' if args.host == 'fpn' else 'best validation accuracy'
    print(format_summary(rows, metric))
    png = plot_summary(rows, os.path.join(args.out, 'ablation_table%s_%s.png'
                                          % (args.table, args.host)), metric)
    print('wrote %s and %s' % (os.path.join(args.out, 'ablation_table%s_%s.csv'
                                            % (args.table, args.host)), png))
    return 0


register_command('ablate', "Rerun the AFF paper's Table 3, 4 or 6 on a host (resnet, "
                 'inception, fpn) and depth range, several seeds: table, CSV, PNG.',
                 configure, run,
                 example='gluon-aff ablate --table 4 --host resnet --blocks 1 2 --seeds 0 1 2')
