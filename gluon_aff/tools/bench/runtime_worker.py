"""One serving path of ``gluon-aff bench``, in its own process so that the peak memory it
reports is the runtime's (it imports no MXNet)::

    python -m gluon_aff.tools.bench.runtime_worker MODEL --runtime openvino \\
        --precision f32 --input x.npy --output y.npy --iters 30

reports one result (``gluon_aff.core.workers``): img_per_s, p50_ms, p90_ms, peak_rss_mb (when
--iters > 0); exit code 3 when the precision is not available on this CPU.
"""
import argparse
import sys

import numpy as np

from ...core.workers import report
from ...deploy.runtimes import PRECISIONS, RUNTIMES, PrecisionUnavailable, Runner, in_batches
from .timing import peak_rss_mb, timings


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('model', help='.onnx or OpenVINO .xml file')
    p.add_argument('--runtime', choices=RUNTIMES, default=None)
    p.add_argument('--precision', choices=PRECISIONS['openvino'], default='f32')
    p.add_argument('--input', required=True, help='.npy batch (float32, NCHW)')
    p.add_argument('--output', default=None, help='write the first output here (.npy)')
    p.add_argument('--extra', default=None,
                   help='.npy batch whose outputs go to --extra-output (accuracy checks)')
    p.add_argument('--extra-output', default=None)
    p.add_argument('--iters', type=int, default=0, help='timed runs (0: no timing)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    args = p.parse_args(argv)
    try:
        runner = Runner(args.model, args.runtime, args.precision, args.threads)
    except PrecisionUnavailable as e:
        print('unavailable: %s' % e, file=sys.stderr)
        return 3
    x = np.load(args.input).astype(np.float32)
    out = runner(x)
    if args.output:
        np.save(args.output, out)
    if args.extra:
        extra = np.load(args.extra).astype(np.float32)
        np.save(args.extra_output, in_batches(runner, extra, x.shape[0]))
    result = {}
    if args.iters:
        result = timings(lambda: runner(x), x.shape[0], args.iters, args.warmup)
        result['peak_rss_mb'] = peak_rss_mb()
    report('result', **result)
    return 0


if __name__ == '__main__':
    sys.exit(main())
