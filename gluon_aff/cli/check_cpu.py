"""``gluon-aff check-cpu``: one training step per zoo family at every oneDNN level here."""
import sys

from . import register_command
from ..tools.isa_check import CHECKS, check_levels, failures, format_matrix


def configure(p):
    p.add_argument('--only', nargs='+', metavar='CHECK', default=None,
                   help='run only these rows (labels as printed)')
    p.add_argument('--levels', nargs='+', default=None,
                   choices=('SSE41', 'AVX2', 'AVX512_CORE', 'default'),
                   help='oneDNN levels to run (default: all this CPU offers)')


def run(args):
    table = check_levels(args.only, args.levels,
                         progress=lambda level: print('running level %s ...' % level,
                                                      file=sys.stderr, flush=True))
    print(format_matrix(table))
    bad = failures(table)
    if bad:
        print('\n%d failure(s); rerun one with DNNL_MAX_CPU_ISA=<level> and report it with '
              'the table above' % len(bad))
    return 1 if bad else 0


register_command('check-cpu', 'Train one step of one network per zoo family (%d checks) at '
                 'each oneDNN instruction-set level this CPU offers, each level in its own '
                 'process, and print which trained, failed or crashed.' % len(CHECKS),
                 configure, run, example='gluon-aff check-cpu --levels AVX2 default')
