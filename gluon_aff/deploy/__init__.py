"""Deployment: export to MXNet symbol files and ONNX, and the optimised inference form."""
from .export import export_symbol, export_onnx
from .optimize import optimize, inference_form, inference_symbol, fold_batchnorm

__all__ = ['export_symbol', 'export_onnx', 'optimize', 'inference_form', 'inference_symbol',
           'fold_batchnorm']
