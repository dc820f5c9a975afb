"""Run an exported ONNX file with ONNX Runtime: outputs and timings.

This file imports neither MXNet nor gluon_aff: it is run by path with the Python
of the ONNX Runtime environment (``.venv-ort``, numpy >= 1.24), which cannot share
an environment with MXNet 1.9.1 (numpy 1.23). It is also the smallest example of
serving an exported network without MXNet::

    .venv-ort/bin/python gluon_aff/deploy/ort_worker.py net.onnx --input x.npy --output y.npy

Prints one JSON object: img_per_s, p50_ms, p90_ms, peak_rss_mb (when --iters > 0).
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np


def session(path, threads=None):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


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
    sess = session(args.onnx, args.threads)
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
