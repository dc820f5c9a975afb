"""Deployment: export to MXNet symbol files, ONNX and OpenVINO, the optimised inference
form, and serving exported files without MXNet (ONNX Runtime, OpenVINO)."""
from .export import export_symbol, export_onnx, export_openvino
from .optimize import optimize, inference_form, inference_symbol, fold_batchnorm
from .runtimes import Classifier, Runner, onnx_session, run_onnx

__all__ = ['export_symbol', 'export_onnx', 'export_openvino', 'optimize', 'inference_form',
           'inference_symbol', 'fold_batchnorm', 'onnx_session', 'run_onnx', 'Runner',
           'Classifier']
