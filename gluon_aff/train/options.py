"""The training scripts' command lines, built from their configurations (``config.py``).

Every flag of the original scripts is there with its meaning and default; flags the
original parsed and ignored now do what their names say. New flags are marked (new) in
their help.
"""
from ..core.commandline import (Terminated, build_parser, parse_config,  # noqa: F401
                                run_script as _run_script)
from .config import CifarConfig, ImageNetConfig, SegConfig

__all__ = ['build_parser', 'cifar_parser', 'imagenet_parser', 'seg_parser', 'parse_config',
           'run_script', 'Terminated']


def cifar_parser():
    return build_parser(CifarConfig, 'train_cifar.py')


def imagenet_parser():
    return build_parser(ImageNetConfig, 'train_imagenet.py')


def seg_parser():
    return build_parser(SegConfig, 'train_seg.py')


def run_script(parser, run, argv=None):
    """``gluon_aff.core.commandline.run_script`` with the training log closed however the
    run ends."""
    from ..core.runlog import close_logging
    return _run_script(parser, run, argv, finish=close_logging)
