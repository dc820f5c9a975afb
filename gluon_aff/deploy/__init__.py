"""Deployment: export to MXNet symbol files, ONNX and OpenVINO, the optimised inference
form, and serving exported files without MXNet (ONNX Runtime, OpenVINO).

``gluon_aff.deploy.runtimes`` needs no MXNet; without MXNet the export and optimisation
names raise an ImportError that gives the command installing it.
"""
from ..mxnet_compat import require_mxnet
from .runtimes import Classifier, Runner, onnx_session, run_onnx

__all__ = ['export_symbol', 'export_onnx', 'export_openvino', 'optimize', 'inference_form',
           'inference_symbol', 'fold_batchnorm', 'onnx_session', 'run_onnx', 'Runner',
           'Classifier']

_MXNET_SIDE = {'export_symbol': 'export', 'export_onnx': 'export', 'export_openvino': 'export',
               'optimize': 'optimized_form', 'inference_form': 'optimized_form',
               'inference_symbol': 'optimized_form', 'fold_batchnorm': 'optimized_form'}


def __getattr__(name):
    """The export and optimisation names load MXNet on first use (serving needs none)."""
    if name in _MXNET_SIDE:
        import importlib
        require_mxnet('gluon_aff.deploy.' + name)
        return getattr(importlib.import_module('.' + _MXNET_SIDE[name], __name__), name)
    raise AttributeError("module 'gluon_aff.deploy' has no attribute %r" % name)
