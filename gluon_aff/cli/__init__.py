"""The ``gluon-aff`` command and its subcommand registry.

A subcommand is a module that calls ``register_command`` at import time; its name and
module path are listed in ``COMMAND_MODULES`` (later subcommands add a line). Without
MXNet, the commands that need it are listed and answer with the command installing it;
``list``, ``summary`` and ``convert`` work with the PyTorch twin alone, ``predict``
(serving exported files) with ONNX Runtime or OpenVINO alone.
"""
import argparse
import importlib
import logging
import sys
from collections import OrderedDict

from ..mxnet_compat import missing_mxnet_message

__all__ = ['register_command', 'main', 'COMMAND_MODULES']

COMMAND_MODULES = OrderedDict([
    ('list', 'gluon_aff.cli.list_cmd'),
    ('demo', 'gluon_aff.cli.demo'),
    ('pack-rec', 'gluon_aff.cli.pack_rec'),
    ('summary', 'gluon_aff.cli.summary'),
    ('eval', 'gluon_aff.cli.eval_cmd'),
    ('gradcam', 'gluon_aff.cli.gradcam'),
    ('export', 'gluon_aff.cli.export'),
    ('convert', 'gluon_aff.cli.convert'),
    ('predict', 'gluon_aff.cli.predict'),
    ('bench', 'gluon_aff.cli.bench'),
    ('ablate', 'gluon_aff.cli.ablate'),
    ('check-cpu', 'gluon_aff.cli.check_cpu'),
])

_COMMANDS = OrderedDict()


def register_command(name, help, configure, run, example=None):
    """Add subcommand ``name``: ``configure(parser)`` adds its arguments,
    ``run(args)`` does the work and returns an exit code (None = 0)."""
    if name in _COMMANDS:
        raise ValueError('gluon-aff subcommand %s is registered twice' % name)
    _COMMANDS[name] = (help, configure, run, example)


def _needs_mxnet(name):
    message = missing_mxnet_message('gluon-aff ' + name)

    def configure(p):
        p.add_argument('args', nargs=argparse.REMAINDER)

    def run(args):
        print(message, file=sys.stderr)
        return 2
    register_command(name, '(needs MXNet) ' + message, configure, run)


def build_parser():
    for name, module in COMMAND_MODULES.items():
        if name in _COMMANDS:
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != 'mxnet':
                raise
            _needs_mxnet(name)
    parser = argparse.ArgumentParser(
        prog='gluon-aff',
        description='Attentional Feature Fusion model zoo for MXNet/Gluon.')
    parser.add_argument('-v', '--verbose', action='store_true', help='log more')
    from .. import __version__
    parser.add_argument('--version', action='version', version='gluon-aff %s' % __version__)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (help_text, configure, run, example) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog=('example:\n  %s' % example) if example else None,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        configure(p)
        p.set_defaults(_run=run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    if not getattr(args, '_run', None):
        parser.print_help()
        return 2
    try:
        return args._run(args) or 0
    except (ValueError, IOError) as e:
        print('gluon-aff %s: error: %s' % (args.command, e), file=sys.stderr)
        return 2
    except Exception as e:  # CheckpointError and friends: say it, no traceback
        from ..core.released import CheckpointError
        if isinstance(e, (CheckpointError, ImportError)):
            print('gluon-aff %s: error: %s' % (args.command, e), file=sys.stderr)
            return 2
        raise
