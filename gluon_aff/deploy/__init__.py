"""Deployment: export to MXNet symbol files and to ONNX."""
from .export import export_symbol, export_onnx

__all__ = ['export_symbol', 'export_onnx']
