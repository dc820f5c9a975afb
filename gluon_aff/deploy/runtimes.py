"""Serve an exported network without MXNet: ONNX Runtime or OpenVINO, at a chosen precision,
with the zoo's preprocessing.

Nothing here imports MXNet or the rest of gluon_aff but ``signal_stack``: serving needs
numpy, OpenCV and the runtime (``gluon-aff bench`` times it in a worker of its own,
``gluon_aff.tools.bench.runtime_worker``, so that the peak memory it reports is the
runtime's)::

    from gluon_aff.deploy.runtimes import Classifier
    clf = Classifier('deploy/iaff_resnet50.xml', precision='int8')   # or .onnx
    clf.predict('photo.jpg')          # [(class index, name, probability), ...] top 5

Precisions: ``'f32'`` (exact; ONNX Runtime and OpenVINO), ``'bf16'`` (OpenVINO, on CPUs
whose kernels have bfloat16: AVX512_BF16 or AMX) and ``'int8'`` (OpenVINO, a model
quantised at export: ``gluon-aff export --format openvino --precision int8``).
Exports write a ``.json`` beside the model with the preprocessing (input size, crop
ratio, interpolation, mean/std) and, for ImageNet models, the class names.
"""
import contextlib
import json
import math
import os
import sys
import threading
import time

import numpy as np

from .signal_stack import signal_stack_kept

__all__ = ['RUNTIMES', 'PRECISIONS', 'PrecisionUnavailable', 'available_precisions',
           'onnx_session', 'run_onnx', 'Runner', 'Classifier', 'preprocess', 'read_meta',
           'in_batches', 'telemetry_sent', 'signal_stack_kept']

RUNTIMES = ('onnxruntime', 'openvino')
PRECISIONS = {'onnxruntime': ('f32',), 'openvino': ('f32', 'bf16', 'int8')}


class PrecisionUnavailable(RuntimeError):
    """The runtime or this CPU cannot run the model at the precision asked for."""


def _require(module, what):
    import importlib
    try:
        with telemetry_sent():                  # importing openvino sends a message
            return importlib.import_module(module)
    except ImportError:
        raise ImportError('%s needs the %s package, which is not installed here: pip install '
                          '%s (the repository\'s requirements.txt pins it)' % (what, module, module))


@contextlib.contextmanager
def telemetry_sent(timeout=30.0):
    """Leave the block only once OpenVINO's telemetry has sent what the calls inside queued.

    OpenVINO's telemetry (on unless the user opted out: ``opt_in_out --opt_out``) sends each
    message from a thread pool, in a process it forks for the purpose. MXNet's fork handler
    waits for MXNet's engine, and a fork from another thread while MXNet computes deadlocks
    the process (reproduced: a thread forking in a loop hung forward passes within a
    second; seen in ``gluon-aff bench``). ``import openvino`` queues one message,
    ``convert_model`` about twenty. Waiting keeps the forks out of the time MXNet computes;
    whether anything is sent stays the user's choice. Gives up after ``timeout`` seconds
    (each message is abandoned after 3 s by the telemetry itself)."""
    try:
        yield
    finally:
        telemetry = sys.modules.get('openvino_telemetry')
        deadline = time.monotonic() + timeout
        while telemetry is not None and _sending(telemetry) and time.monotonic() < deadline:
            time.sleep(0.005)


def _sending(telemetry):
    """Whether the telemetry has a message queued or a thread inside its code."""
    try:
        if telemetry.Telemetry().sender.queue_size > 0:      # the configured singleton
            return True
    except Exception:           # not configured yet, or a version laid out otherwise
        pass
    package = os.path.dirname(telemetry.__file__)
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        while frame is not None:
            if frame.f_code.co_filename.startswith(package):
                return True
            frame = frame.f_back
    return False


def _threads(threads):
    return threads or len(os.sched_getaffinity(0))


# -- ONNX Runtime ------------------------------------------------------------------------
def onnx_session(path, threads=None):
    """An ONNX Runtime CPU session with every graph optimisation, ``threads`` intra-op
    threads (default: the cores available to this process)."""
    ort = _require('onnxruntime', 'Running an ONNX file')
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads(threads)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3      # errors only (not the folded constants it drops)
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(path, x, threads=None):
    """The first output of the ONNX file ``path`` on the float32 NCHW batch ``x``."""
    sess = onnx_session(path, threads)
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(x, np.float32)})[0]


# -- OpenVINO ----------------------------------------------------------------------------
def available_precisions(runtime='openvino'):
    """{precision: None if this machine can run it, else the reason it cannot}."""
    if runtime == 'onnxruntime':
        try:
            _require('onnxruntime', 'ONNX Runtime')
        except ImportError as e:
            return {'f32': str(e)}
        return {'f32': None}
    try:
        ov = _require('openvino', 'OpenVINO')
    except ImportError as e:
        return dict.fromkeys(PRECISIONS['openvino'], str(e))
    core = ov.Core()
    with signal_stack_kept():       # the CPU plugin's creation (see signal_stack)
        caps = set(core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))
        cpu = core.get_property('CPU', 'FULL_DEVICE_NAME')
    reasons = {'f32': None}
    reasons['bf16'] = None if 'BF16' in caps else (
        'this CPU (%s) gives OpenVINO no bfloat16 kernels (they need AVX512_BF16 or AMX); '
        'it offers %s' % (cpu, ', '.join(sorted(caps & {'FP32', 'BF16', 'INT8'}))))
    reasons['int8'] = None if 'INT8' in caps else (
        'this CPU (%s) gives OpenVINO no int8 kernels' % cpu)
    return reasons


def _quantized(model):
    return any(op.get_type_name() == 'FakeQuantize' for op in model.get_ops())


@contextlib.contextmanager
def _native_stderr_hidden():
    """Hide what native code writes to file descriptor 2 (Python's own stderr too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Runner(object):
    """``runner(x)`` -> the logits of a float32 NCHW batch, with ``runtime`` ('openvino' or
    'onnxruntime') at ``precision``. OpenVINO models follow the batch size they are given
    (recompiled per shape); ONNX files keep the one they were exported with."""

    def __init__(self, path, runtime=None, precision='f32', threads=None):
        if not os.path.isfile(path):
            raise IOError("model file '%s' does not exist" % path)
        runtime = runtime or ('onnxruntime' if path.endswith('.onnx') and
                              precision == 'f32' else 'openvino')
        if runtime not in RUNTIMES:
            raise ValueError('runtime must be one of %s, got %r' % (', '.join(RUNTIMES), runtime))
        module = _require(runtime, 'Running a model with %s' % runtime)   # ImportError if absent
        if precision not in PRECISIONS[runtime]:
            raise PrecisionUnavailable(
                "%s runs precision %s; %r needs %s" % (
                    runtime, '/'.join(PRECISIONS[runtime]), precision,
                    ' or '.join(r for r in RUNTIMES if precision in PRECISIONS[r])))
        reason = available_precisions(runtime).get(precision)
        if reason:
            raise PrecisionUnavailable(reason)
        self.path, self.runtime, self.precision = path, runtime, precision
        self.threads = _threads(threads)
        self._compiled = {}
        try:
            if runtime == 'onnxruntime':
                self._session = onnx_session(path, threads)
                self._input = self._session.get_inputs()[0].name
            else:
                self._core = module.Core()
                with _native_stderr_hidden():    # its other frontends' parse errors
                    self._model = self._core.read_model(path)
        except Exception as e:      # the runtimes' own exception types, with C++ messages
            lines = [l.strip() for l in str(e).strip().splitlines() if l.strip()] or ['']
            # ONNX Runtime says why on its first line, OpenVINO on its last
            reason = lines[0] if runtime == 'onnxruntime' else lines[-1]
            if reason.startswith('[ONNXRuntimeError]'):     # '... : CODE : NAME : why'
                reason = reason.rsplit(':', 1)[-1].strip()
            raise IOError("cannot load '%s' (%d bytes) with %s: it is damaged or not a model "
                          "file (%s); export it again with gluon-aff export"
                          % (path, os.path.getsize(path), runtime, reason[:200])) from None
        if runtime == 'openvino' and precision == 'int8' and not _quantized(self._model):
            raise PrecisionUnavailable(
                "'%s' is not quantised; export it with --precision int8 (gluon-aff export "
                "NAME --format openvino --precision int8 --calibration FOLDER)" % path)

    def _compile(self, shape):
        if shape not in self._compiled:
            model = self._model.clone()
            if tuple(model.input(0).get_partial_shape().to_shape()) != shape:
                model.reshape({model.input(0).get_any_name(): list(shape)})
            config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': self.threads}
            if self.precision in ('f32', 'bf16'):
                config['INFERENCE_PRECISION_HINT'] = self.precision
            with signal_stack_kept():   # the first creates the CPU plugin (see signal_stack)
                self._compiled[shape] = self._core.compile_model(model, 'CPU', config)
        return self._compiled[shape]

    def __call__(self, x):
        x = np.ascontiguousarray(x, np.float32)
        if self.runtime == 'onnxruntime':
            return self._session.run(None, {self._input: x})[0]
        return self._compile(tuple(x.shape))(x)[0]


# -- preprocessing and prediction ----------------------------------------------------------
def read_meta(path):
    """The preprocessing an export wrote beside ``path`` (``<stem>.json``)."""
    meta = os.path.splitext(path)[0] + '.json'
    if not os.path.isfile(meta):
        raise IOError("'%s' has no preprocessing file %s beside it; export with gluon-aff "
                      "export (it writes one), or pass meta={'input_size': ..., 'mean': ..., "
                      "'std': ..., 'crop_ratio': ..., 'interpolation': ...}" % (path, meta))
    with open(meta) as f:
        return json.load(f)


def _load(image):
    import cv2
    if isinstance(image, str):
        if not os.path.isfile(image):
            raise IOError("image '%s' does not exist" % image)
        bgr = cv2.imread(image, cv2.IMREAD_COLOR)
        if bgr is None:
            raise IOError("cannot decode '%s' as an image" % image)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    array = np.asarray(image)        # PIL images and arrays
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError('expected an RGB HWC uint8 image, got %s %s' % (array.dtype, array.shape))
    return array


def preprocess(image, meta):
    """RGB image (file, PIL image or HWC uint8 array) -> 1x3xSxS float32, as the zoo's
    evaluation: resize the short side to ceil(S / crop_ratio) (OpenCV, as MXNet's
    ``resize_short``), centre-crop S x S, scale to [0, 1], normalise."""
    import cv2
    img = _load(image)
    size = meta['input_size']
    interp = cv2.INTER_CUBIC if meta.get('interpolation') == 'bicubic' else cv2.INTER_LINEAR
    if meta.get('crop_ratio', 1.0) < 1.0 or img.shape[:2] != (size, size):
        short = int(math.ceil(size / meta.get('crop_ratio', 1.0)))
        h, w = img.shape[:2]
        new_h, new_w = (short * h // w, short) if h > w else (short, short * w // h)
        img = cv2.resize(img, (new_w, new_h), interpolation=interp)
        y0, x0 = (new_h - size) // 2, (new_w - size) // 2
        img = img[y0:y0 + size, x0:x0 + size]
    x = img.astype(np.float32) / 255.0
    x = (x - np.asarray(meta['mean'], np.float32)) / np.asarray(meta['std'], np.float32)
    return x.transpose(2, 0, 1)[None]


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class Classifier(object):
    """An exported classifier with its preprocessing: ``predict(image)`` is one call.

    ``path``: an ``.xml`` (OpenVINO) or ``.onnx`` file written by ``gluon-aff export``;
    ``runtime``/``precision`` as for ``Runner``; ``meta`` overrides the ``.json`` beside it.
    """

    def __init__(self, path, runtime=None, precision='f32', threads=None, meta=None):
        self.runner = Runner(path, runtime, precision, threads)    # (names a missing file)
        self.meta = meta or read_meta(path)
        self.class_names = self.meta.get('class_names')

    def probabilities(self, image):
        return _softmax(self.runner(preprocess(image, self.meta)))[0]

    def predict(self, image, topk=5):
        """[(class index, class name or None, probability)], most likely first."""
        prob = self.probabilities(image)
        top = np.argsort(-prob)[:topk]
        return [(int(i), self.class_names[i] if self.class_names else None, float(prob[i]))
                for i in top]


def in_batches(run, x, batch):
    """``run`` (one batch in, one array out) over ``x`` in slices of ``batch``, concatenated
    (models exported with a fixed batch size see only that size)."""
    return np.concatenate([np.asarray(run(x[i:i + batch])) for i in range(0, len(x), batch)])
