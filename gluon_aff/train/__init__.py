"""Training: the CIFAR, ImageNet and StopSign recipes as a Python API.

    from gluon_aff.train import CifarConfig, run
    result = run(CifarConfig(model='cifar_aff_resnet20', dataset='digits', gpus='',
                             num_epochs=2, num_workers=0))
    result.best, result.best_path, result.history

``train_cifar.py``, ``train_imagenet.py`` and ``train_seg.py`` at the repository root parse
their flags into these configurations and call the same ``run``.
"""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.train')
from .config import (CifarConfig, ImageNetConfig, SegConfig, TrainResult,  # noqa: E402
                     RunConfig)

__all__ = ['CifarConfig', 'ImageNetConfig', 'SegConfig', 'RunConfig', 'TrainResult', 'run']


def run(config):
    """Train the recipe of ``config`` (a ``CifarConfig``, ``ImageNetConfig`` or
    ``SegConfig``); returns a ``TrainResult``. Ctrl-C saves an interrupted checkpoint and
    re-raises KeyboardInterrupt."""
    from . import cifar, imagenet, seg
    recipes = {CifarConfig: cifar.run, ImageNetConfig: imagenet.run, SegConfig: seg.run}
    if type(config) not in recipes:
        raise TypeError('run() takes a CifarConfig, ImageNetConfig or SegConfig, got %s'
                        % type(config).__name__)
    return recipes[type(config)](config)
