"""Deployment: export to MXNet symbol files and ONNX, the optimised inference form, and
running exported files (ONNX Runtime)."""
from .export import export_symbol, export_onnx
from .optimize import optimize, inference_form, inference_symbol, fold_batchnorm
from .runtimes import onnx_session, run_onnx

__all__ = ['export_symbol', 'export_onnx', 'optimize', 'inference_form', 'inference_symbol',
           'fold_batchnorm', 'onnx_session', 'run_onnx']
