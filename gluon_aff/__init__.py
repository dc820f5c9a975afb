"""gluon-aff: Attentional Feature Fusion (AFF, iAFF, MS-CAM) for MXNet/Gluon.

Importing the package registers every zoo name in gluoncv's model table, so
``gluoncv.model_zoo.get_model('iaff_resnet50')`` works after ``import gluon_aff``.
Without MXNet the package still imports, for serving exported files
(``gluon_aff.deploy.runtimes``); the zoo's names then raise an ImportError that gives the
command installing MXNet.
"""
__version__ = '0.2.0'

import os as _os
import sys as _sys

from . import mxnet_compat as _mxnet_compat

# Before anything imports mxnet: MXNet 1.9.1 needs numpy names and distutils that numpy 2
# and Python >= 3.12 removed (see gluon_aff/mxnet_compat.py).
_mxnet_compat.apply()

if _mxnet_compat.mxnet_installed():
    if 'mxnet' not in _sys.modules and hasattr(_os, 'sched_getaffinity'):
        # MXNet's default OpenMP thread count oversubscribes small CPU machines: on 2
        # cores, one thread per available core trains a CIFAR AFF network 2x faster. Set
        # before MXNet loads; an explicit OMP_NUM_THREADS wins.
        _os.environ.setdefault('OMP_NUM_THREADS', str(len(_os.sched_getaffinity(0))))
    _mxnet_compat.patch_mxnet()

    from . import nn  # noqa: F401
    from . import model_zoo  # noqa: F401
    from .model_zoo import get_model, list_models, get_model_info  # noqa: F401
else:
    def __getattr__(name):
        if name in ('nn', 'model_zoo', 'get_model', 'list_models', 'get_model_info'):
            raise ImportError(_mxnet_compat.missing_mxnet_message('gluon_aff.' + name),
                              name='mxnet')
        raise AttributeError("module 'gluon_aff' has no attribute %r" % name)
