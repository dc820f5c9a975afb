"""What MXNet 1.9.1 needs from numpy, Python and onnx that their newer releases removed.

MXNet 1.9.1 (the last 1.x release) was written against numpy < 1.24, Python < 3.12 and
onnx < 1.16. This module puts back exactly what it uses, and nothing else:

- the numpy aliases ``np.bool``, ``np.int``, ``np.float``, ``np.complex``, ``np.object``,
  ``np.str`` (removed in numpy 1.24; MXNet reads them while it is imported). They are set
  to the Python builtins they always were, and only where numpy lacks them: numpy 2
  has ``np.bool`` again (as ``np.bool_``) and keeps it.
- ``distutils`` (removed in Python 3.12; MXNet and gluoncv import ``distutils.version``):
  setuptools provides it (the environment installs setuptools); this module only checks
  that it is importable and says what to install when it is not.
- ``onnx.mapping`` (removed in onnx 1.16; MXNet's ONNX exporter reads its two dtype
  tables), rebuilt from ``onnx.helper`` when the exporter is used.

``import gluon_aff`` applies the numpy and distutils parts before it imports mxnet. A
program that imports mxnet itself must import gluon_aff (or this module) first::

    import gluon_aff          # or: import gluon_aff.mxnet_compat
    import mxnet as mx

Importing mxnet first fails on numpy >= 1.24 with ``AttributeError: module 'numpy' has
no attribute 'bool'``; there is nothing to repair afterwards, the import must be redone
in a new process.
"""
import builtins
import importlib
import sys
import types

__all__ = ['apply', 'patch_onnx_mapping', 'NUMPY_ALIASES']

# alias -> the builtin it named before numpy 1.24
NUMPY_ALIASES = {'bool': 'bool', 'int': 'int', 'float': 'float', 'complex': 'complex',
                 'object': 'object', 'str': 'str'}


def _restore_numpy_aliases():
    import numpy as np
    restored = []
    for alias, builtin in NUMPY_ALIASES.items():
        # look in the module's own names: getattr would trigger numpy's FutureWarning
        if alias not in vars(np):
            setattr(np, alias, getattr(builtins, builtin))
            restored.append(alias)
    return restored


def _check_distutils():
    try:
        importlib.import_module('distutils.version')
    except ImportError:
        raise ImportError(
            'MXNet 1.9.1 and gluoncv import distutils, which Python %d.%d no longer ships; '
            'install setuptools into this environment (pip install setuptools), which '
            'provides it' % sys.version_info[:2])


def apply():
    """Make ``import mxnet`` work on this numpy and Python; safe to call repeatedly.
    Returns the numpy aliases it had to restore."""
    restored = _restore_numpy_aliases()
    _check_distutils()
    return restored


def patch_onnx_mapping():
    """Give ``onnx`` the ``onnx.mapping`` module MXNet's exporter reads (removed in onnx
    1.16), built from ``onnx.helper``; a no-op where onnx still has it."""
    import onnx
    try:
        from onnx import mapping  # noqa: F401
        return
    except ImportError:
        pass
    import numpy as np
    from onnx import TensorProto, helper
    np_to_tensor, tensor_to_np = {}, {}
    for name, code in TensorProto.DataType.items():
        if name == 'UNDEFINED':
            continue
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(code))
        except (KeyError, TypeError, ValueError):
            continue
        tensor_to_np[code] = dtype
        if dtype.kind != 'V' and dtype not in np_to_tensor:
            np_to_tensor[dtype] = code
    # the exporter looks types up by numpy dtype; float16/bool/etc. map one to one
    np_to_tensor[np.dtype('float32')] = TensorProto.FLOAT
    np_to_tensor[np.dtype('float16')] = TensorProto.FLOAT16
    module = types.ModuleType('onnx.mapping')
    module.NP_TYPE_TO_TENSOR_TYPE = np_to_tensor
    module.TENSOR_TYPE_TO_NP_TYPE = tensor_to_np
    onnx.mapping = module
    sys.modules['onnx.mapping'] = module
