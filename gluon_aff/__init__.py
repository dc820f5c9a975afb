"""gluon-aff: Attentional Feature Fusion (AFF, iAFF, MS-CAM) for MXNet/Gluon and PyTorch.

``import gluon_aff`` loads neither framework. The MXNet zoo (``gluon_aff.get_model``,
``gluon_aff.model_zoo``, ``gluon_aff.nn``) loads MXNet on first use; the PyTorch twin is
``gluon_aff.torch``; ``gluon_aff.list_models`` and ``gluon_aff.get_model_info`` answer for
both (``gluon_aff.core.zoo``, the one declaration). Once MXNet and gluoncv are imported,
after ``import gluon_aff``, MXNet runs on numpy 2 (``gluon_aff.mxnet_compat``) and
``gluoncv.model_zoo.get_model('iaff_resnet50')`` works. Without MXNet the zoo's MXNet names
raise an ImportError that gives the command installing it.
"""
__version__ = '0.3.0'

from . import mxnet_compat as _mxnet_compat
from .core.zoo import get_model_info, list_models  # noqa: F401

# MXNet 1.9.1 needs numpy names and distutils that numpy 2 and Python >= 3.12 removed, and
# gluoncv a table entry per zoo name: both are done when (and if) they are imported.
_mxnet_compat.install_import_hooks()

_MXNET_SIDE = {'nn': 'gluon_aff.nn', 'model_zoo': 'gluon_aff.model_zoo',
               'get_model': 'gluon_aff.model_zoo'}


def __getattr__(name):
    """The MXNet side on first use: ``gluon_aff.get_model``, ``gluon_aff.nn``,
    ``gluon_aff.model_zoo``."""
    if name in _MXNET_SIDE:
        import importlib
        _mxnet_compat.require_mxnet('gluon_aff.' + name)
        module = importlib.import_module(_MXNET_SIDE[name])
        return getattr(module, name) if name == 'get_model' else module
    raise AttributeError("module 'gluon_aff' has no attribute %r" % name)
