"""Run an exported network without MXNet: ONNX Runtime sessions, timings, peak memory.

Nothing here imports MXNet or the rest of gluon_aff, so that serving needs only numpy
and the runtime, and so that ``gluon-aff bench`` can run this file by path, one process
per path, and measure the runtime's own peak memory::

    python gluon_aff/deploy/runtimes.py net.onnx --input x.npy --output y.npy --iters 30

prints one JSON object: img_per_s, p50_ms, p90_ms, peak_rss_mb (when --iters > 0).
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np


__all__ = ['onnx_session', 'run_onnx', 'timings', 'peak_rss_mb']


def _require(module, what):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError('%s needs the %s package, which is not installed here: pip install '
                          '%s (the repository\'s requirements.txt pins it)' % (what, module, module))


def onnx_session(path, threads=None):
    """An ONNX Runtime CPU session with every graph optimisation, ``threads`` intra-op
    threads (default: the cores available to this process)."""
    ort = _require('onnxruntime', 'Running an ONNX file')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(path, x, threads=None):
    """The first output of the ONNX file ``path`` on the float32 NCHW batch ``x``."""
    sess = onnx_session(path, threads)
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(x, np.float32)})[0]


def peak_rss_mb():
    """This process's peak resident memory in MB. VmHWM, not ru_maxrss: Linux carries
    the parent's peak across fork+exec into ru_maxrss, VmHWM starts anew at exec."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timings(run, batch, iters, warmup):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    times = np.array(times)
    return dict(img_per_s=batch * len(times) / times.sum(),
                p50_ms=float(np.percentile(times, 50) * 1e3),
                p90_ms=float(np.percentile(times, 90) * 1e3))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('onnx')
    p.add_argument('--input', required=True, help='.npy batch (float32, NCHW)')
    p.add_argument('--output', default=None, help='write the first output here (.npy)')
    p.add_argument('--iters', type=int, default=0, help='timed runs (0: no timing)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    args = p.parse_args(argv)
    sess = onnx_session(args.onnx, args.threads)
    x = np.load(args.input).astype(np.float32)
    feed = {sess.get_inputs()[0].name: x}
    out = sess.run(None, feed)[0]
    if args.output:
        np.save(args.output, out)
    result = {}
    if args.iters:
        result = timings(lambda: sess.run(None, feed), x.shape[0], args.iters, args.warmup)
        result['peak_rss_mb'] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
