"""The training scripts' command lines, built from their configurations (``config.py``).

Every flag of the original scripts is there with its meaning and default; flags the
original parsed and ignored now do what their names say. New flags are marked (new) in
their help.
"""
import argparse
import dataclasses
import signal
import sys
import threading
import typing

from .config import CifarConfig, ImageNetConfig, SegConfig

__all__ = ['build_parser', 'cifar_parser', 'imagenet_parser', 'seg_parser', 'parse_config',
           'run_script', 'Terminated']


def _value_type(annotation):
    """int for ``int`` and ``Optional[int]``."""
    if typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def build_parser(config_class, prog):
    """An ``argparse`` parser with one flag per field of ``config_class``; its defaults
    are the class's."""
    doc = config_class.__doc__.strip().split('\n')[0].split(': ', 1)[-1]
    p = argparse.ArgumentParser(prog=prog, description=doc[0].upper() + doc[1:],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(config_class):
        meta = f.metadata
        flags = meta.get('flags') or ('--' + f.name.replace('_', '-'),)
        kwargs = dict(dest=f.name, default=f.default,
                      help=argparse.SUPPRESS if meta.get('hidden') else meta['help'])
        kind = _value_type(f.type)
        if kind is bool:
            kwargs['action'] = 'store_true'
        else:
            kwargs['type'] = kind
            if meta.get('choices'):
                kwargs['choices'] = meta['choices']
        p.add_argument(*flags, **kwargs)
    p.set_defaults(config_class=config_class)
    return p


def cifar_parser():
    return build_parser(CifarConfig, 'train_cifar.py')


def imagenet_parser():
    return build_parser(ImageNetConfig, 'train_imagenet.py')


def seg_parser():
    return build_parser(SegConfig, 'train_seg.py')


def parse_config(parser, argv):
    """The configuration ``argv`` describes (``ValueError`` for values out of range)."""
    values = vars(parser.parse_args(argv))
    return values.pop('config_class')(**values)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers send before they kill a job), handled as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated()


def run_script(parser, run, argv=None):
    """Parse ``argv`` into a configuration and call ``run(config)``; bad input prints one
    error line (exit code 2). Ctrl-C exits with 130 and SIGTERM with 143, each after
    ``run`` saved what resuming needs."""
    from ..model_zoo.pretrained import CheckpointError
    from .logs import close_logging
    argv = sys.argv[1:] if argv is None else list(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        run(parse_config(parser, argv))
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
