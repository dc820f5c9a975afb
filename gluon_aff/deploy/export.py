"""Export a zoo network: MXNet symbol/params pair, ONNX, OpenVINO (float32 or int8, quantised
with NNCF), and the preprocessing file ONNX and OpenVINO exports carry, so that
``runtimes.Classifier`` needs no MXNet."""
import contextlib
import io
import json
import os
import tempfile

import mxnet as mx
import numpy as np

from ..core.atomic import atomic_files, atomic_path, write_atomically
from .optimized_form import inference_form

__all__ = ['export_symbol', 'export_onnx', 'export_openvino', 'write_meta',
           'calibration_batch', 'labelled_batch', 'stratified_quotas', 'ONNX_OPSET']

# MXNet 1.9.1's exporter stamps the newest opset the installed onnx knows, but its
# converters predate opset 20; 19 is what they were tested against (here with onnx 1.14
# and 1.23, run by ONNX Runtime and OpenVINO).
ONNX_OPSET = 19


def export_symbol(net, prefix, input_shape):
    """Write ``prefix``-symbol.json and ``prefix``-0000.params (``SymbolBlock.imports`` loads
    them with input name 'data'); returns the two paths."""
    net.hybridize()
    net(mx.nd.zeros(input_shape))
    paths = [prefix + '-0000.params', prefix + '-symbol.json']
    with atomic_files(paths) as (tmp_params, _):
        net.export(tmp_params[:-len('-0000.params')])
    return paths[1], paths[0]


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
def _raw_initializers():
    """Make MXNet's exporter store each weight as raw little-endian bytes: it hands
    ``onnx.helper.make_tensor`` a Python list of every value (``raw=False``), which protobuf
    copies value by value (5 of the 6 s of exporting a small ResNet-50, measured). The
    tensors are the same; only their encoding in the file differs (``raw_data``)."""
    import onnx.helper
    make_tensor = onnx.helper.make_tensor
    plain = {onnx.TensorProto.FLOAT: '<f4', onnx.TensorProto.DOUBLE: '<f8',
             onnx.TensorProto.FLOAT16: '<f2', onnx.TensorProto.INT32: '<i4',
             onnx.TensorProto.INT64: '<i8'}

    def as_raw(name, data_type, dims, vals, raw=False, **kwargs):
        if raw or data_type not in plain or kwargs:
            return make_tensor(name, data_type, dims, vals, raw, **kwargs)
        values = np.asarray(vals, dtype=plain[data_type])
        return make_tensor(name, data_type, dims, values.tobytes(), raw=True)
    onnx.helper.make_tensor = as_raw
    try:
        yield
    finally:
        onnx.helper.make_tensor = make_tensor


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
    """Write an ONNX model (opset ``ONNX_OPSET``) whose graph inputs are only 'data': the
    weights are initializers, not inputs, so runtimes can fold them as constants. With
    ``fast_fusion`` the fusion blocks are written in their inference form
    ``X + (Y - X) * W`` (same outputs, fewer element-wise nodes; 5-10% faster in ONNX
    Runtime for iaff_resnet50 here). Returns ``path``."""
    try:
        import onnx
    except ImportError:
        raise IOError('ONNX export needs the onnx package (pip install onnx)')
    from ..mxnet_compat import patch_onnx_mapping
    patch_onnx_mapping()
    fixed = getattr(net, 'fixed_input_size', None)      # networks that resize "like"
    with tempfile.TemporaryDirectory() as tmp, \
            (fixed(input_shape) if fixed else contextlib.nullcontext()), \
            (inference_form(net) if fast_fusion else contextlib.nullcontext()):
        sym, params = export_symbol(net, os.path.join(tmp, 'net'), input_shape)
        _fix_gamma_to_one(net, params)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()), _exporter_opset(ONNX_OPSET), \
                _raw_initializers():
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
    with atomic_path(path) as tmp:
        onnx.save(model, tmp)
    return path


def write_meta(info, model_path):
    """Write ``<stem>.json`` beside ``model_path``: the zoo entry's name, input size,
    crop ratio, interpolation, mean/std, classes and (ImageNet) class names."""
    meta = dict(model=info.name, classes=info.classes, **info.preprocessing())
    if info.class_names:
        meta['class_names'] = info.class_names
    path = os.path.splitext(model_path)[0] + '.json'
    write_atomically(path, json.dumps(meta))
    return path


def _image_files(folder):
    return sorted(os.path.join(root, f) for root, _, names in os.walk(folder) for f in names
                  if f.lower().endswith(('.jpg', '.jpeg', '.png', '.bmp')))


def _preprocessed(files, info):
    from .runtimes import preprocess
    meta = info.preprocessing()
    return np.concatenate([preprocess(f, meta) for f in files])


def calibration_batch(folder, info, limit=300):
    """Preprocessed images (N x 3 x S x S float32) of the image files under ``folder``, for
    int8 calibration; at most ``limit``, in sorted order."""
    if not os.path.isdir(folder):
        raise IOError("calibration folder '%s' does not exist" % folder)
    files = _image_files(folder)[:limit]
    if not files:
        raise IOError("calibration folder '%s' holds no .jpg/.png/.bmp images" % folder)
    return _preprocessed(files, info)


def stratified_quotas(counts, limit):
    """How many images to take of each class (``counts`` images each) for at most
    ``limit`` in all: every class as many as an equal share allows, the share of classes
    with fewer images passed on to the others."""
    quotas = [0] * len(counts)
    left, open_ = limit, sorted(range(len(counts)), key=lambda i: counts[i])
    while open_ and left > 0:
        share = max(left // len(open_), 1)
        i = open_.pop(0)
        quotas[i] = min(counts[i], share)
        left -= quotas[i]
    return quotas


def labelled_batch(folder, info, limit=1000):
    """(inputs, labels) of an image folder with one sub-folder per class (labels in sorted
    folder order, as ImageFolderDataset), preprocessed as in evaluation: at most ``limit``
    images, stratified (every class gets an equal share where it has the images, spread
    evenly over its sorted files), so that the accuracy checked is every class's."""
    if not os.path.isdir(folder):
        raise IOError("validation folder '%s' does not exist" % folder)
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise IOError("validation folder '%s' has no class sub-folders" % folder)
    files = [_image_files(os.path.join(folder, name)) for name in classes]
    empty = [name for name, f in zip(classes, files) if not f]
    if empty:
        raise IOError("validation folder '%s': class folder(s) %s hold no .jpg/.png/.bmp "
                      "images" % (folder, ', '.join(empty)))
    if limit < len(classes):
        raise ValueError('a validation subset of %d images cannot hold one image of each of '
                         'the %d classes in %s' % (limit, len(classes), folder))
    picked, labels = [], []
    for label, (class_files, quota) in enumerate(zip(files, stratified_quotas(
            [len(f) for f in files], limit))):
        index = np.linspace(0, len(class_files) - 1, quota).round().astype(int)
        picked += [class_files[i] for i in index]
        labels += [label] * quota
    return _preprocessed(picked, info), np.asarray(labels)


def export_openvino(net, path, input_shape, precision='f32', calibration=None,
                    validation=None, max_drop=0.005):
    """Write ``net`` as OpenVINO IR (``path``, .xml + .bin), through its ONNX export (the
    fusion blocks in their inference form). ``precision='int8'`` quantises the model with
    NNCF's post-training quantisation on ``calibration`` (N x 3 x S x S float32 inputs,
    preprocessed as in evaluation; a few hundred to a few thousand representative images),
    the first convolution and the classifier kept in float. 'f32' models
    also run at bf16 where the CPU has it (a runtime choice, ``Runner(precision='bf16')``).
    With ``validation`` (inputs, labels), NNCF's accuracy-controlled quantisation keeps
    layers in float until the top-1 accuracy on it is within ``max_drop`` of float32's
    (use labelled images other than those you evaluate on). Returns ``path``."""
    from .runtimes import _require, signal_stack_kept, telemetry_sent
    ov = _require('openvino', 'Export to OpenVINO')
    if precision not in ('f32', 'int8'):
        raise ValueError("OpenVINO export precision must be 'f32' or 'int8' (bf16 is chosen "
                         "when running an f32 model), got %r" % (precision,))
    if precision == 'int8' and (calibration is None or len(calibration) == 0):
        raise ValueError('int8 quantisation needs a calibration set: representative images, '
                         'preprocessed (--calibration FOLDER on the command line)')
    if not path.endswith('.xml'):
        raise ValueError("OpenVINO models are written as NAME.xml (+ NAME.bin), got '%s'" % path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(net, os.path.join(tmp, 'net.onnx'), input_shape)
        with telemetry_sent():      # before MXNet computes again (see telemetry_sent)
            model = ov.convert_model(onnx_path)
    if precision == 'int8':
        nncf = _require('nncf', 'int8 quantisation')
        batch = input_shape[0]
        data = np.asarray(calibration, np.float32)
        items = [data[i:i + batch] for i in range(0, len(data) - batch + 1, batch)]
        if not items:
            raise ValueError('the calibration set has %d images, fewer than the batch size %d'
                             % (len(data), batch))
        import logging
        nncf.set_log_level(logging.WARNING)
        # the first convolution and the classifier stay in float, activations get
        # asymmetric ranges, biases are corrected on the calibration set (measured on the
        # digits network: 0.28 points below float32 instead of 1.7 with NNCF's defaults)
        ops = model.get_ordered_ops()
        keep = ([op.get_friendly_name() for op in ops if op.get_type_name() == 'Convolution'][:1]
                + [op.get_friendly_name() for op in ops if op.get_type_name() == 'MatMul'])
        options = dict(subset_size=len(items), preset=nncf.QuantizationPreset.MIXED,
                       fast_bias_correction=False, ignored_scope=nncf.IgnoredScope(names=keep))
        # (redirected: its progress bars; NNCF compiles on OpenVINO's CPU plugin)
        with contextlib.redirect_stdout(io.StringIO()), telemetry_sent(), signal_stack_kept():
            if validation is None:
                model = nncf.quantize(model, nncf.Dataset(items), **options)
            else:
                vx, vy = validation
                pairs = [(vx[i:i + batch], vy[i:i + batch])
                         for i in range(0, len(vx) - batch + 1, batch)]
                top1 = lambda compiled, data: float(np.mean(np.concatenate(  # noqa: E731
                    [compiled(x)[0].argmax(axis=1) == y for x, y in data])))
                model = nncf.quantize_with_accuracy_control(
                    model, nncf.Dataset(items), nncf.Dataset(pairs), validation_fn=top1,
                    max_drop=max_drop, **options)
    # the .xml names no file: OpenVINO reads the .bin beside it with the same stem
    paths = [path[:-len('.xml')] + '.bin', path]
    with atomic_files(paths) as (_, tmp_xml):
        ov.save_model(model, tmp_xml, compress_to_fp16=False)
    return path
