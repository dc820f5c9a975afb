"""Deployment: export to MXNet symbol files, ONNX and OpenVINO, the optimised inference
form, and serving exported files without MXNet (ONNX Runtime, OpenVINO).

``gluon_aff.deploy.runtimes`` needs no MXNet; without MXNet the export and optimisation
names raise an ImportError that gives the command installing it.
"""
from ..mxnet_compat import missing_mxnet_message, mxnet_installed
from .runtimes import Classifier, Runner, onnx_session, run_onnx

__all__ = ['export_symbol', 'export_onnx', 'export_openvino', 'optimize', 'inference_form',
           'inference_symbol', 'fold_batchnorm', 'onnx_session', 'run_onnx', 'Runner',
           'Classifier']

if mxnet_installed():
    from .export import export_symbol, export_onnx, export_openvino
    from .optimize import optimize, inference_form, inference_symbol, fold_batchnorm
else:
    def __getattr__(name):
        if name in __all__:
            raise ImportError(missing_mxnet_message('gluon_aff.deploy.' + name), name='mxnet')
        raise AttributeError("module 'gluon_aff.deploy' has no attribute %r" % name)
