"""How the bench workers time a path and read their peak memory (no framework needed)."""
import resource
import time

import numpy as np

__all__ = ['timings', 'paired_timings', 'peak_rss_mb']


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
    """``img_per_s``, ``p50_ms``, ``p90_ms`` of ``iters`` calls of ``run`` (one batch of
    ``batch`` images each) after ``warmup`` untimed ones."""
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


def paired_timings(runs, batch, iters, warmup):
    """Two paths timed in turn in one process: ``iters`` rounds (rounded up to even), each
    calling both ``runs`` once, in the order (a, b) then (b, a), so that the machine's drift
    and the cost of going first fall on both alike. ``[timings of a, timings of b]``, each
    with ``ratio_p50``: the median, over the pairs of rounds, of its time in the pair over
    the other's."""
    for _ in range(warmup):
        for run in runs:
            run()
    times = [[], []]
    for i in range(iters + iters % 2):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - start)
    times = [np.array(t) for t in times]
    pairs = [t.reshape(-1, 2).sum(1) for t in times]
    out = []
    for k in (0, 1):
        t = times[k]
        out.append(dict(img_per_s=batch * len(t) / t.sum(),
                        p50_ms=float(np.percentile(t, 50) * 1e3),
                        p90_ms=float(np.percentile(t, 90) * 1e3),
                        ratio_p50=float(np.median(pairs[k] / pairs[1 - k]))))
    return out
