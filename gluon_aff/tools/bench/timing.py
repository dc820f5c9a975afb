"""How the bench workers time a path and read their peak memory (no framework needed)."""
import resource
import time

import numpy as np

__all__ = ['timings', 'peak_rss_mb']


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
