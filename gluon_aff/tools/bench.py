"""Throughput, latency and peak memory of a zoo network along each inference path.

Every (model, batch size, path) is measured in its own subprocess, so that the
peak resident memory belongs to that path alone; all of them share one set of
random weights (BN statistics included) and one input batch, written once by the
parent, which also computes the reference output with the imperative float32
network. Paths:

- ``imperative``: the Gluon network as built, no hybridize;
- ``hybridized``: ``hybridize(static_alloc=True, static_shape=True)``;
- ``mkldnn``: the same with the MKLDNN subgraph backend;
- ``optimized``: ``gluon_aff.deploy.optimize`` (inference fusion form, folded BN,
  oneDNN activations, MKLDNN backend);
- ``onnxruntime``: the ONNX export (fusion in its inference form) run by ONNX Runtime,
  in a process that does not load MXNet (``gluon_aff/deploy/runtimes.py``);
- ``train``: one SGD step (forward, backward, update) of the hybridized network
  in training mode, per batch.

Warm-up runs are excluded from the timings.
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile

import numpy as np

__all__ = ['PATHS', 'INFERENCE_PATHS', 'benchmark', 'format_table', 'available_paths']

INFERENCE_PATHS = ('imperative', 'hybridized', 'mkldnn', 'optimized', 'onnxruntime')
PATHS = INFERENCE_PATHS + ('train',)
KEYS = ('model', 'path', 'batch', 'img_per_s', 'p50_ms', 'p90_ms', 'peak_rss_mb',
        'max_rel_diff')
log = logging.getLogger('gluon_aff.bench')


def available_paths():
    """The paths this machine can run (ONNX Runtime needs its environment, MKLDNN the
    build feature); maps path -> None or the reason it is unavailable."""
    import importlib.util
    from ..deploy.optimize import mkldnn_available
    reasons = dict.fromkeys(PATHS)
    if not mkldnn_available():
        reasons['mkldnn'] = 'this MXNet build has no MKLDNN backend'
    if importlib.util.find_spec('onnxruntime') is None:
        reasons['onnxruntime'] = 'onnxruntime is not installed (pip install onnxruntime)'
    return reasons


# -- the parent side ------------------------------------------------------------------
def _prepare(model, kwargs, batch, size, folder, seed, need_onnx):
    """Write weights, input and (if needed) the ONNX file; return their paths and the
    imperative reference output."""
    import mxnet as mx
    from ..model_zoo import get_model
    from .random_weights import randomize
    net = randomize(get_model(model, **kwargs), seed=seed)
    x = np.random.RandomState(seed).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    files = dict(params=os.path.join(folder, 'net.params'), input=os.path.join(folder, 'x.npy'))
    net.save_parameters(files['params'])
    np.save(files['input'], x)
    reference = net(mx.nd.array(x)).asnumpy()
    if need_onnx:
        from ..deploy import export_onnx
        files['onnx'] = export_onnx(net, os.path.join(folder, 'net.onnx'), x.shape)
    return files, reference


def _run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
        raise RuntimeError(lines[-1] if lines else 'exit code %d' % proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure(path, model, kwargs, files, iters, warmup):
    out = os.path.join(os.path.dirname(files['input']), path + '.npy')
    if path == 'onnxruntime':
        from ..deploy import runtimes
        cmd = [sys.executable, runtimes.__file__, files['onnx'], '--input', files['input'],
               '--output', out]
    else:
        spec = dict(path=path, model=model, kwargs=kwargs, params=files['params'],
                    input=files['input'], output=out)
        cmd = [sys.executable, '-m', 'gluon_aff.tools.bench', '--worker', json.dumps(spec)]
    result = _run(cmd + ['--iters', str(iters), '--warmup', str(warmup)])
    return result, (np.load(out) if path != 'train' else None)


def benchmark(models, batches=(1,), paths=None, input_size=None, kwargs=None, iters=20,
              warmup=3, seed=0, progress=True):
    """Measure every (model, batch, path); returns a list of result dicts with the keys
    ``KEYS`` (plus ``error`` for a path that failed, ``input_size``)."""
    from ..model_zoo import get_model_info
    from tqdm import tqdm
    reasons = available_paths()
    paths = list(paths or [p for p in INFERENCE_PATHS if reasons[p] is None])
    for p in paths:
        if p not in PATHS:
            raise ValueError('unknown path %r; choose from %s' % (p, ', '.join(PATHS)))
    infos = [get_model_info(m) for m in models]
    results = []
    bar = tqdm(total=len(models) * len(batches) * len(paths), desc='bench', unit='run',
               disable=not progress, file=sys.stderr)
    for info in infos:
        size = input_size or info.input_size
        for batch in batches:
            with tempfile.TemporaryDirectory() as folder:
                files, reference = _prepare(info.name, kwargs or {}, batch, size, folder, seed,
                                            'onnxruntime' in paths and not reasons['onnxruntime'])
                scale = float(np.abs(reference).max()) or 1.0
                for path in paths:
                    bar.set_postfix_str('%s b%d %s' % (info.name, batch, path))
                    row = dict.fromkeys(KEYS)
                    row.update(model=info.name, path=path, batch=batch, input_size=size)
                    try:
                        if reasons.get(path):
                            raise RuntimeError(reasons[path])
                        timing, out = _measure(path, info.name, kwargs or {}, files, iters, warmup)
                        row.update(timing)
                        if out is not None:
                            row['max_rel_diff'] = float(np.abs(out - reference).max() / scale)
                    except RuntimeError as err:
                        row['error'] = str(err)
                        log.warning('%s batch %d %s: %s', info.name, batch, path, err)
                    results.append(row)
                    bar.update(1)
    bar.close()
    return results


def _lookup(results, **match):
    for r in results:
        if all(r.get(k) == v for k, v in match.items()) and r.get('img_per_s'):
            return r
    return None


def add_ratios(results, baseline='resnet50_add'):
    """``vs_hybridized`` (throughput / the hybridized path's, same model and batch) and
    ``time_vs_baseline`` (time per image / the baseline model's, same path, batch and
    input size), where both rows exist."""
    for r in results:
        if not r.get('img_per_s'):
            continue
        hyb = _lookup(results, model=r['model'], batch=r['batch'], path='hybridized')
        if hyb and r['path'] != 'train':
            r['vs_hybridized'] = r['img_per_s'] / hyb['img_per_s']
        base = _lookup(results, model=baseline, batch=r['batch'], path=r['path'],
                       input_size=r['input_size'])
        if base:
            r['time_vs_baseline'] = base['img_per_s'] / r['img_per_s']
    return results


def _fmt(value, spec):
    return '-' if value is None else spec % value


def format_table(results, baseline='resnet50_add', markdown=False):
    """The results as a text (or markdown) table, ratios included."""
    head = ['model', 'path', 'batch', 'img/s', 'p50 ms', 'p90 ms', 'peak MB',
            'max rel diff', 'x hybridized', 'time vs %s' % baseline]
    rows = []
    for r in results:
        if r.get('error'):
            rows.append([r['model'], r['path'], str(r['batch']), 'unavailable: ' + r['error']]
                        + [''] * 6)
            continue
        rows.append([r['model'], r['path'], str(r['batch']), _fmt(r['img_per_s'], '%.2f'),
                     _fmt(r['p50_ms'], '%.1f'), _fmt(r['p90_ms'], '%.1f'),
                     _fmt(r['peak_rss_mb'], '%.0f'), _fmt(r['max_rel_diff'], '%.1e'),
                     _fmt(r.get('vs_hybridized'), '%.2fx'),
                     _fmt(r.get('time_vs_baseline'), '%.2fx')])
    if markdown:
        lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        return '\n'.join(lines + ['| ' + ' | '.join(c for c in row) + ' |' for row in rows])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows if len(row[i]) < 40))
              if rows else len(head[i]) for i in range(len(head))]
    line = lambda cells: '  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return '\n'.join([line(head)] + [line(row) for row in rows])


# -- the worker side (one subprocess per path) ---------------------------------------
def _build(spec):
    import mxnet as mx
    from ..model_zoo import get_model
    net = get_model(spec['model'], **spec['kwargs'])
    net.load_parameters(spec['params'], ctx=mx.cpu())
    path = spec['path']
    if path == 'hybridized' or path == 'train':
        net.hybridize(static_alloc=True, static_shape=True)
    elif path == 'mkldnn':
        net.hybridize(static_alloc=True, static_shape=True, backend='MKLDNN')
    elif path == 'optimized':
        from ..deploy import optimize
        net = optimize(net)
    return net


def _train_step_runner(net, x):
    import mxnet as mx
    from mxnet import autograd, gluon
    labels = mx.nd.array(np.arange(x.shape[0]) % 10)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            dict(learning_rate=1e-4, momentum=0.9, wd=1e-4))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def step():
        with autograd.record():
            loss = loss_fn(net(x), labels)
        loss.backward()
        trainer.step(x.shape[0])
        loss.wait_to_read()
        mx.nd.waitall()
    return step


def worker_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--worker', required=True)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    args = p.parse_args(argv)
    spec = json.loads(args.worker)
    if spec['path'] == 'train':
        os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')   # as training on the CPU
    import mxnet as mx
    from ..deploy.runtimes import peak_rss_mb, timings
    net = _build(spec)
    x = mx.nd.array(np.load(spec['input']))
    if spec['path'] == 'train':
        run = _train_step_runner(net, x)
    else:
        np.save(spec['output'], net(x).asnumpy())
        run = lambda: net(x).wait_to_read()
    result = timings(run, x.shape[0], args.iters, args.warmup)
    result['peak_rss_mb'] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(worker_main(sys.argv[1:]))
