"""Export a zoo network to a symbol/params pair or to an ONNX file."""
import contextlib
import io
import os
import tempfile

import mxnet as mx
import numpy as np

from .optimize import inference_form

__all__ = ['export_symbol', 'export_onnx', 'ONNX_OPSET']

# MXNet 1.9.1's exporter stamps the newest opset the installed onnx knows, but its
# converters predate opset 20; 19 is what they were tested against (here with onnx 1.14
# and 1.23, run by ONNX Runtime and OpenVINO).
ONNX_OPSET = 19


def export_symbol(net, prefix, input_shape):
    """Write ``prefix``-symbol.json and ``prefix``-0000.params (``SymbolBlock.imports`` loads
    them with input name 'data'); returns the two paths."""
    folder = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(folder, exist_ok=True)
    net.hybridize()
    net(mx.nd.zeros(input_shape))
    net.export(prefix)
    return prefix + '-symbol.json', prefix + '-0000.params'


def _fix_gamma_to_one(net, params_file):
    """MXNet ignores the stored gamma of a BatchNorm with fix_gamma (the CIFAR ResNet's
    input BN) and uses 1; MXNet's ONNX converter uses the stored value. Write 1 into the
    exported copy so that the ONNX graph computes what the network computes."""
    names = []

    def visit(block):
        if isinstance(block, mx.gluon.nn.BatchNorm) and block._kwargs.get('fix_gamma'):
            names.append(block.gamma.name)
    net.apply(visit)
    if names:
        arrays = mx.nd.load(params_file)
        for name in names:
            key = 'arg:' + name
            arrays[key] = mx.nd.ones_like(arrays[key])
        mx.nd.save(params_file, arrays)


@contextlib.contextmanager
def _exporter_opset(version):
    """Make MXNet's exporter, which asks ``onnx.defs.onnx_opset_version()``, use ``version``."""
    import onnx.defs
    newest = onnx.defs.onnx_opset_version
    onnx.defs.onnx_opset_version = lambda: min(version, newest())
    try:
        yield
    finally:
        onnx.defs.onnx_opset_version = newest


def export_onnx(net, path, input_shape, fast_fusion=True):
    """Write an ONNX model (opset ``ONNX_OPSET``) whose graph inputs are only 'data': the weights are initializers, not inputs, so runtimes
    can fold them as constants. With ``fast_fusion`` the fusion blocks are written in
    their inference form ``X + (Y - X) * W`` (same outputs, fewer element-wise nodes;
    5-10% faster in ONNX Runtime for iaff_resnet50 here). Returns ``path``."""
    try:
        import onnx
    except ImportError:
        raise IOError('ONNX export needs the onnx package (pip install onnx)')
    from ..mxnet_compat import patch_onnx_mapping
    patch_onnx_mapping()
    with tempfile.TemporaryDirectory() as tmp:
        if fast_fusion:
            with inference_form(net):
                sym, params = export_symbol(net, os.path.join(tmp, 'net'), input_shape)
        else:
            sym, params = export_symbol(net, os.path.join(tmp, 'net'), input_shape)
        _fix_gamma_to_one(net, params)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()), _exporter_opset(ONNX_OPSET):
            # (the converter prints node names)
            mx.onnx.export_model(sym, params, [tuple(input_shape)], [np.float32], path)
    model = onnx.load(path)
    # newer onnx stamps its newest IR version, which runtimes of the same age may not read;
    # the oldest one that carries the graph's opsets is what they all read
    model.ir_version = onnx.helper.find_min_ir_version_for(list(model.opset_import))
    weights = {init.name for init in model.graph.initializer}
    kept = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
