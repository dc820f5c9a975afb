"""Where the ONNX Runtime environment is, and running an ONNX file in it.

ONNX Runtime lives in its own virtual environment (see the README; ``make
venv-ort`` creates ``.venv-ort`` beside the repository's ``.venv``), because every
onnxruntime wheel for Python 3.11 needs numpy >= 1.24.2 and MXNet 1.9.1 breaks
with it. ``$GLUON_AFF_ORT_PYTHON`` points at another interpreter that has
onnxruntime.
"""
import json
import os
import subprocess
import tempfile

import numpy as np

__all__ = ['ort_python', 'require_ort_python', 'run_onnx', 'WORKER']

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ort_worker.py')
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ort_python():
    """Path of the Python that has onnxruntime, or None."""
    candidates = [os.environ.get('GLUON_AFF_ORT_PYTHON'),
                  os.path.join(_REPO, '.venv-ort', 'bin', 'python')]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def require_ort_python():
    path = ort_python()
    if path is None:
        raise RuntimeError(
            'no ONNX Runtime environment: run `make venv-ort` in the repository (creates '
            '.venv-ort from requirements-ort.txt) or set GLUON_AFF_ORT_PYTHON to a Python '
            'that has onnxruntime')
    return path


def run_onnx(onnx_path, x, iters=0, warmup=3):
    """Run ``onnx_path`` on the batch ``x`` in the ONNX Runtime environment.

    Returns ``(output, timings)``; ``timings`` is empty unless ``iters`` > 0.
    """
    python = require_ort_python()
    with tempfile.TemporaryDirectory() as tmp:
        x_path, y_path = os.path.join(tmp, 'x.npy'), os.path.join(tmp, 'y.npy')
        np.save(x_path, np.asarray(x, dtype=np.float32))
        cmd = [python, WORKER, onnx_path, '--input', x_path, '--output', y_path,
               '--iters', str(iters), '--warmup', str(warmup)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError('ONNX Runtime failed on %s:\n%s' % (onnx_path, proc.stderr[-2000:]))
        return np.load(y_path), json.loads(proc.stdout.strip().splitlines()[-1])
