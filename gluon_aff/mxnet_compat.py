"""What MXNet 1.9.1 and gluoncv 0.10.5 need from numpy, Python and onnx that newer
releases removed.

MXNet 1.9.1 (the last 1.x release) was written against numpy 1.x before 1.24, Python
before 3.12 and onnx before 1.16; its metadata says ``numpy<2``. It runs on numpy 2 and
Python 3.13 once the few names it still touches are back. This module puts back exactly
those, each where numpy lacks it (on numpy 1.26 most of them still exist and are left
alone), and nothing else. ``import gluon_aff`` applies it before it imports mxnet.

Names MXNet reads while it is imported (``import mxnet`` fails without them):

- ``PZERO NZERO PINF NINF NAN NaN``: ``mxnet/numpy/utils.py`` copies them; ``Inf``:
  default arguments in ``mxnet/gluon/contrib/estimator/event_handler.py``.
- ``alltrue in1d msort trapz`` and numpy 1.x's stubs of the financial functions
  ``mirr npv pmt ppmt pv rate`` (which raised when called since numpy 1.20):
  ``mxnet/numpy/fallback.py`` binds them as ``mx.np`` functions.
- ``sometrue round_ product``: ``mxnet/numpy_dispatch_protocol.py`` registers its
  ``mx.np`` operators for numpy's functions by looking these names up with ``getattr``
  (a search for ``np.NAME`` does not find them). Each gets a function of its own, so that
  ``np.any``, ``np.round`` and ``np.prod`` keep their own registration.
- ``bool`` (numpy 1.24-1.26 only; numpy 2 has ``np.bool`` again): ``mxnet/numpy/utils.py``.

Names read only when the code using them runs:

- ``int``, ``float`` (the builtins, as before numpy 1.24): gluoncv's anchor generators,
  COCO metric and HRNet, and ``mxnet.test_utils``.
- ``compat.basestring``: ``mx.np.pad`` and ``mx.sym.np.pad`` (``numpy.compat`` is gone in
  numpy 2).

Behaviour rather than names (patched in mxnet once it is imported):

- ``ndarray.tostring()``, removed in numpy 2.3: ``mxnet.recordio.pack`` and ``pack_img``
  call it, so packing a ``.rec`` failed; both are replaced by equals that call
  ``tobytes()`` (the same bytes).
- numpy 2 prints scalars as ``np.int64(8)`` inside containers (NEP 51), and MXNet hands
  operator arguments to its C++ parser as ``str(value)``: ``shape=(np.int64(8), -1)``
  became ``"(np.int64(8), -1)"``, "Invalid Parameter format for shape". MXNet's two
  call sites (the generated ``mx.nd``/``mx.sym`` operator functions) now convert numpy
  scalars inside argument values to Python numbers first. numpy's print options are not
  touched.

Start-up time (not a repair): scikit-learn is hidden while MXNet imports, which
``mxnet/model.py`` imports (0.4 s) only for a legacy class's base; see
``_import_mxnet_without_sklearn``.

Python and onnx:

- ``distutils`` (removed in Python 3.12; MXNet and gluoncv import ``distutils.version``):
  setuptools provides it; this module checks that it is importable and says what to
  install when it is not.
- ``onnx.mapping`` (removed in onnx 1.16; MXNet's ONNX exporter reads its two dtype
  tables), rebuilt from ``onnx.helper`` when the exporter is used.

``import gluon_aff`` imports neither MXNet nor anything else heavy: it installs an import
hook (``install_import_hooks``) that applies the above when MXNet is imported, by gluon_aff
or by the program, and makes gluoncv's table bring in the zoo's names when it is first
read. A
program that imports mxnet itself must import gluon_aff first::

    import gluon_aff
    import mxnet as mx

Importing mxnet first fails with an ``AttributeError`` naming one of the numpy names above;
the import must then be redone in a new process.
"""
import builtins
import contextlib
import importlib
import importlib.util
import math
import struct
import sys
import types

__all__ = ['apply', 'patch_mxnet', 'patch_onnx_mapping', 'mxnet_installed', 'require_mxnet',
           'missing_mxnet_message', 'install_import_hooks', 'MXNET_INSTALL']

# the command that installs the MXNet gluon-aff is tested with: MXNet's metadata pins
# numpy<2, so it goes in without its dependencies, and these are the two it really has
MXNET_INSTALL = ("pip install --no-deps mxnet==1.9.1 && "
                 "pip install 'graphviz>=0.8.1,<0.9' 'requests>=2.20,<3'")


def mxnet_installed():
    """Whether ``import mxnet`` can find MXNet (without importing it)."""
    try:
        return importlib.util.find_spec('mxnet') is not None
    except ValueError:      # sys.modules['mxnet'] is None: made absent on purpose
        return False


def missing_mxnet_message(what):
    return ("%s needs MXNet, which is not installed: %s, then pip install 'gluon-aff[mxnet]' "
            '(the MXNet side\'s other dependencies)' % (what, MXNET_INSTALL))


def require_mxnet(what):
    """Raise ModuleNotFoundError with the install command when MXNet is missing."""
    if not mxnet_installed():
        raise ModuleNotFoundError(missing_mxnet_message(what), name='mxnet')


def _financial_stub(name):
    def stub(*args, **kwargs):
        raise RuntimeError('numpy.%s was removed in numpy 1.20; the numpy_financial '
                           'package has it' % name)
    stub.__name__ = name
    return stub


def _numpy_names(np):
    """name -> value for every name above, built on this numpy."""
    def alltrue(a, axis=None, out=None, keepdims=False):
        return np.all(a, axis=axis, out=out, keepdims=keepdims)

    def sometrue(a, axis=None, out=None, keepdims=False):
        return np.any(a, axis=axis, out=out, keepdims=keepdims)

    def round_(a, decimals=0, out=None):
        return np.round(a, decimals=decimals, out=out)

    def product(a, axis=None, dtype=None, out=None, keepdims=False):
        return np.prod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def in1d(ar1, ar2, assume_unique=False, invert=False):
        return np.isin(ar1, ar2, assume_unique=assume_unique, invert=invert).ravel()

    def msort(a):
        return np.sort(a, axis=0)

    def trapz(y, x=None, dx=1.0, axis=-1):
        return np.trapezoid(y, x=x, dx=dx, axis=axis)

    compat = types.ModuleType('numpy.compat', 'numpy 1.x compat names MXNet reads')
    compat.basestring = str
    names = {'PZERO': 0.0, 'NZERO': -0.0, 'PINF': math.inf, 'NINF': -math.inf,
             'NAN': math.nan, 'NaN': math.nan, 'Inf': math.inf,
             'alltrue': alltrue, 'sometrue': sometrue, 'round_': round_,
             'product': product, 'in1d': in1d, 'msort': msort, 'trapz': trapz,
             'bool': builtins.bool, 'int': builtins.int, 'float': builtins.float,
             'compat': compat}
    for name in ('mirr', 'npv', 'pmt', 'ppmt', 'pv', 'rate'):
        names[name] = _financial_stub(name)
    return names


def _restore_numpy_names():
    import numpy as np
    restored = []
    for name, value in _numpy_names(np).items():
        # numpy's own names first (vars: getattr would raise or warn for removed ones)
        if name not in vars(np):
            setattr(np, name, value)
            restored.append(name)
    return restored


def _check_distutils():
    try:
        importlib.import_module('distutils.version')
    except ImportError:
        raise ImportError(
            'MXNet 1.9.1 and gluoncv import distutils, which Python %d.%d no longer ships; '
            'install setuptools into this environment (pip install setuptools), which '
            'provides it' % sys.version_info[:2])


def _plain(value):
    """numpy scalars inside an operator argument as Python numbers, so that str() gives
    what MXNet's parser reads ('(8, -1)', not '(np.int64(8), np.int64(-1))')."""
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _plain_arguments(invoke, vals_index):
    def wrapper(*args, **kwargs):
        args = list(args)
        args[vals_index] = [_plain(v) for v in args[vals_index]]
        return invoke(*args, **kwargs)
    wrapper.__wrapped__ = invoke
    wrapper.__name__ = invoke.__name__
    return wrapper


def _pack(header, s):
    """``mxnet.recordio.pack`` with ``tobytes`` (numpy 2.3 removed ``tostring``)."""
    import numbers

    import numpy as np
    from mxnet import recordio
    header = recordio.IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + s
    return struct.pack(recordio._IR_FORMAT, *header) + s


def _pack_img(header, img, quality=95, img_fmt='.jpg'):
    """``mxnet.recordio.pack_img`` with ``tobytes`` (numpy 2.3 removed ``tostring``)."""
    import cv2
    fmt = img_fmt.upper()
    if fmt in ('.JPG', '.JPEG'):
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif fmt == '.PNG':
        params = [cv2.IMWRITE_PNG_COMPRESSION, quality]
    else:
        params = None
    ok, buf = cv2.imencode(img_fmt, img, params)
    if not ok:
        raise ValueError('OpenCV could not encode the image as %s' % img_fmt)
    return _pack(header, buf.tobytes())


def _default_thread_count():
    """MXNet's default OpenMP thread count oversubscribes small CPU machines: on 2 cores,
    one thread per available core trains a CIFAR AFF network 2x faster. Set before MXNet
    loads; an explicit OMP_NUM_THREADS wins."""
    import os
    if hasattr(os, 'sched_getaffinity'):
        os.environ.setdefault('OMP_NUM_THREADS', str(len(os.sched_getaffinity(0))))


class _ZooTable(dict):
    """gluoncv's table of networks, which brings in the zoo's names (imports
    ``gluon_aff.model_zoo``) the first time it is read, not while gluoncv imports."""

    def _fill(self):
        if 'gluon_aff.model_zoo' not in sys.modules:
            importlib.import_module('gluon_aff.model_zoo')

    def __contains__(self, name):
        self._fill()
        return dict.__contains__(self, name)

    def __getitem__(self, name):
        self._fill()
        return dict.__getitem__(self, name)

    def keys(self):
        self._fill()
        return dict.keys(self)


class _ImportHooks(object):
    """A ``sys.meta_path`` finder that adds work around the import of two packages,
    found and loaded as usual otherwise: before ``mxnet`` executes, ``apply()`` and the
    thread count (scikit-learn hidden meanwhile); after it, ``patch_mxnet()``; after
    ``gluoncv``, its table of networks becomes one that brings in the zoo's names when
    first read (``_ZooTable``): no import of the zoo runs inside gluoncv's."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ('mxnet', 'gluoncv'):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            apply()
            if fullname == 'mxnet':
                _default_thread_count()
                with _sklearn_hidden():
                    execute(module)
                patch_mxnet()
            else:
                execute(module)
                table = sys.modules.get('gluoncv.model_zoo.model_zoo')
                if table is not None:       # (absent where gluoncv found no MXNet)
                    table._models = _ZooTable(table._models)
        spec.loader.exec_module = exec_module
        return spec


def install_import_hooks():
    """What ``import gluon_aff`` does: MXNet and gluoncv get their repairs when (and only
    when) they are imported; safe to call repeatedly."""
    if any(isinstance(f, _ImportHooks) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _ImportHooks())
    if sys.modules.get('mxnet') is not None:     # imported before gluon_aff: mend what can be
        patch_mxnet()


def _import_mxnet_without_sklearn():
    """``import mxnet`` with scikit-learn hidden, unless something imported it already.

    ``mxnet/model.py`` imports scikit-learn (0.4 s of every start, with the scipy.stats
    and pandas it pulls in) only to give the legacy ``mx.model.FeedForward`` the base class
    ``sklearn.base.BaseEstimator``; hidden, FeedForward is a plain class, as MXNet makes it
    where scikit-learn is not installed. ``import sklearn`` works as usual afterwards."""
    with _sklearn_hidden():
        import mxnet
    return mxnet


@contextlib.contextmanager
def _sklearn_hidden():
    """``import sklearn`` raises ImportError inside, unless it was imported before."""
    hide = 'sklearn' not in sys.modules
    if hide:
        sys.modules['sklearn'] = None
    try:
        yield
    finally:
        if hide and sys.modules.get('sklearn', 0) is None:
            del sys.modules['sklearn']


def patch_mxnet():
    """Import mxnet and mend the behaviour numpy 2 changed under it (record packing,
    numpy scalars in operator arguments); safe to call repeatedly."""
    mxnet = _import_mxnet_without_sklearn()
    from mxnet import recordio
    from mxnet.ndarray import register as nd_register
    from mxnet.symbol import register as sym_register
    recordio.pack, recordio.pack_img = _pack, _pack_img
    # the generated operator functions look these names up in their module's globals
    for module, name, vals_index in ((nd_register, '_imperative_invoke', 3),
                                     (sym_register, '_symbol_creator', 4)):
        invoke = getattr(module, name)
        if not hasattr(invoke, '__wrapped__'):
            setattr(module, name, _plain_arguments(invoke, vals_index))
    return mxnet


def apply():
    """Make ``import mxnet`` work on this numpy and Python; safe to call repeatedly.
    Returns the numpy names it had to put back."""
    restored = _restore_numpy_names()
    _check_distutils()
    _let_gluoncv_import_beside_torch()
    return restored


def _let_gluoncv_import_beside_torch():
    """gluoncv 0.10.5 raises RuntimeError on import ("Legacy torch==2.x detected") whenever
    PyTorch 2 is installed, though its MXNet half does not use PyTorch. Its check module is
    loaded here first with that check reporting PyTorch as absent (an ImportError, which
    gluoncv takes as "no PyTorch"), so that gluoncv imports for MXNet beside any torch.
    Where torch is not imported yet, the check does not import it just to refuse it: that
    import costs 1.5 s in every process that builds an MXNet network."""
    if 'gluoncv.check' in sys.modules:     # gluoncv (being) imported: too late, or done
        return
    try:
        spec = importlib.util.find_spec('gluoncv')
    except ValueError:
        return
    if spec is None or not spec.submodule_search_locations:
        return
    import os
    path = os.path.join(list(spec.submodule_search_locations)[0], 'check.py')
    if not os.path.exists(path):
        return
    check_spec = importlib.util.spec_from_file_location('gluoncv.check', path)
    check = importlib.util.module_from_spec(check_spec)
    check_spec.loader.exec_module(check)
    original = getattr(check, '_require_pytorch_version', None)
    if original is None:
        return

    def require_pytorch_version(*args, **kwargs):
        if 'torch' not in sys.modules:
            raise ImportError('gluon_aff uses only the MXNet half of gluoncv')
        try:
            return original(*args, **kwargs)
        except RuntimeError as e:
            raise ImportError(str(e))
    check._require_pytorch_version = require_pytorch_version
    sys.modules['gluoncv.check'] = check


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
