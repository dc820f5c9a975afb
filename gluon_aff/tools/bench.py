"""Throughput, latency, peak memory and accuracy of a zoo network along each inference path.

Every (model, batch size, path) is measured in its own subprocess, so that the peak
resident memory belongs to that path alone; all of them share one set of random weights
(BN statistics included) and one input batch, written once by the parent, which also
computes the reference output with the imperative float32 network. Paths:

- ``imperative``: the Gluon network as built, no hybridize;
- ``hybridized``: ``hybridize(static_alloc=True, static_shape=True)``;
- ``mkldnn``: the same with the MKLDNN subgraph backend;
- ``optimized``: ``gluon_aff.deploy.optimize`` (inference fusion form, folded BN,
  oneDNN activations, MKLDNN backend);
- ``onnxruntime``: the ONNX export (fusion in its inference form) run by ONNX Runtime;
- ``openvino``, ``openvino-bf16``, ``openvino-int8``: the OpenVINO export run by OpenVINO
  at float32, bfloat16 (CPUs with AVX512_BF16 or AMX) and int8 (quantised with NNCF on
  calibration images); the runtimes run without MXNet (``gluon_aff/deploy/runtimes.py``);
- ``train``: one SGD step (forward, backward, update) of the hybridized network
  in training mode, per batch.

Accuracy (``accuracy=True``, the default when a reduced-precision path is measured): for
every path, the top-1 agreement with the float32 network on real photographs (crops of
the images matplotlib and scikit-learn ship, resized to the model's input), and the
validation accuracy of a network trained on the digits set (``digits_params``, or one
trained in the run), run through the same path; its int8 export is accuracy-controlled (a
0.3% drop at most on 300 training images held out from calibration; the ImageNet models'
random weights have no labels to control against). Warm-up runs are excluded from timings.
"""
import argparse
import json
import logging
import os
import sys
import tempfile

import numpy as np

from ..workers import report, run_worker

__all__ = ['PATHS', 'INFERENCE_PATHS', 'REDUCED_PATHS', 'benchmark', 'format_table',
           'available_paths', 'add_ratios', 'real_images', 'DIGITS_MODEL']

INFERENCE_PATHS = ('imperative', 'hybridized', 'mkldnn', 'optimized', 'onnxruntime',
                   'openvino', 'openvino-bf16', 'openvino-int8')
REDUCED_PATHS = ('openvino-bf16', 'openvino-int8')
PATHS = INFERENCE_PATHS + ('train',)
KEYS = ('model', 'path', 'batch', 'img_per_s', 'p50_ms', 'p90_ms', 'peak_rss_mb',
        'max_rel_diff', 'top1_agreement', 'digits_acc', 'digits_acc_f32')
OPENVINO = {'openvino': 'f32', 'openvino-bf16': 'bf16', 'openvino-int8': 'int8'}
# the network trained on the digits set for the accuracy columns
DIGITS_MODEL = ('cifar_aff_resnet20', dict(blocks=1, channel_times=1, classes=10))
log = logging.getLogger('gluon_aff.bench')


def available_paths():
    """The paths this machine can run; maps path -> None or the reason it is unavailable."""
    import importlib.util
    from ..deploy.optimize import mkldnn_available
    from ..deploy.runtimes import available_precisions
    reasons = dict.fromkeys(PATHS)
    if not mkldnn_available():
        reasons['mkldnn'] = 'this MXNet build has no MKLDNN backend'
    if importlib.util.find_spec('onnxruntime') is None:
        reasons['onnxruntime'] = 'onnxruntime is not installed (pip install onnxruntime)'
    openvino = available_precisions('openvino')
    for path, precision in OPENVINO.items():
        reasons[path] = openvino[precision]
    return reasons


# -- inputs -----------------------------------------------------------------------------
def _photos():
    from PIL import Image
    from ..data.photos import sample_photos
    return [np.asarray(Image.open(f).convert('RGB')) for f in sample_photos()]


def real_images(info, count, seed=0):
    """``count`` crops of real photographs (matplotlib's and scikit-learn's sample images)
    at several scales and places, resized to the model's input and normalised as in its
    evaluation (N x 3 x S x S float32). Seed 0: the evaluation set; other seeds: others
    (e.g. int8 calibration)."""
    import cv2
    rng = np.random.RandomState(seed)
    photos, size, out = _photos(), info.input_size, []
    mean, std = np.asarray(info.mean, np.float32), np.asarray(info.std, np.float32)
    for i in range(count):
        img = photos[i % len(photos)]
        h, w = img.shape[:2]
        side = int(min(h, w) * rng.uniform(0.35, 1.0))
        y, x = rng.randint(0, h - side + 1), rng.randint(0, w - side + 1)
        crop = cv2.resize(img[y:y + side, x:x + side], (size, size),
                          interpolation=cv2.INTER_AREA)
        if rng.rand() < 0.5:
            crop = crop[:, ::-1]
        out.append(((crop.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1))
    return np.stack(out)


def _digits(params=None, epochs=6):
    """(params file, validation inputs, labels, int8 calibration inputs, (inputs, labels)
    held out from calibration for accuracy control) of a network trained on the digits set
    (``params`` if given, else trained now, about a minute on 2 cores)."""
    from ..data.digits import digits_arrays, digits_split
    from ..data.pipelines import CIFAR_MEAN, CIFAR_STD
    images, labels = digits_arrays()
    train_idx, val_idx = digits_split()
    norm = lambda a: ((a.astype(np.float32) / 255 - CIFAR_MEAN) / CIFAR_STD).transpose(  # noqa
        0, 3, 1, 2).astype(np.float32)
    train_x, val_x, val_y = norm(images[train_idx]), norm(images[val_idx]), labels[val_idx]
    if params is None:
        import glob
        from ..train.cifar import main
        folder = tempfile.mkdtemp(prefix='gluon_aff_bench_digits_')
        log.info('training %s on the digits set for the accuracy columns', DIGITS_MODEL[0])
        argv = ['--model', 'resnet', '--askc-type', 'aff', '--dataset', 'digits', '--gpus', '',
                '-j', '0', '--blocks', '1', '--channel-times', '1', '--batch-size', '32',
                '--num-epochs', str(epochs), '--cosine', '--warmup-epochs', '1', '--seed', '0',
                '--save-period', '0', '--progress', 'off', '--save-dir', folder,
                '--logging-dir', folder, '--save-plot-dir', folder]
        if main(argv) != 0:
            raise RuntimeError('training the digits network failed')
        params = max(glob.glob(os.path.join(folder, '*-best.params')))
    # int8: calibrate on the training images, control the accuracy on 300 of them held out
    # from calibration (never on the validation images, which are the reported metric)
    train_y = labels[train_idx]
    return params, val_x, val_y, train_x[:-300], (train_x[-300:], train_y[-300:])


# -- the parent side ------------------------------------------------------------------
def _prepare(model, kwargs, batch, size, folder, seed, paths, reasons, params=None,
             real=None, calibration=None, validation=None):
    """Write weights, input, extra inputs and the exported files the paths need; return
    their paths and the imperative reference outputs (on the input and on ``real``)."""
    import mxnet as mx
    from ..deploy.export import export_onnx, export_openvino
    from ..deploy.runtimes import in_batches
    from ..model_zoo import get_model
    from ..utils.random_weights import randomize
    net = get_model(model, **kwargs)
    if params:
        net.load_parameters(params, ctx=mx.cpu())
    else:
        randomize(net, seed=seed)
    x = np.random.RandomState(seed).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    files = dict(params=os.path.join(folder, 'net.params'), input=os.path.join(folder, 'x.npy'))
    net.save_parameters(files['params'])
    np.save(files['input'], x)
    reference = net(mx.nd.array(x)).asnumpy()
    real_reference = None
    if real is not None:
        pad = (-len(real)) % batch            # whole batches (the exports' batch is fixed)
        real = np.concatenate([real, real[:pad]]) if pad else real
        files['extra'] = os.path.join(folder, 'real.npy')
        np.save(files['extra'], real)
        real_reference = in_batches(lambda b: net(mx.nd.array(b)).asnumpy(), real, batch)
    wanted = [p for p in paths if not reasons.get(p)]
    if 'onnxruntime' in wanted:
        files['onnx'] = export_onnx(net, os.path.join(folder, 'net.onnx'), x.shape)
    if any(p in wanted for p in ('openvino', 'openvino-bf16')):
        files['openvino'] = export_openvino(net, os.path.join(folder, 'net.xml'), x.shape)
    if 'openvino-int8' in wanted:
        files['openvino-int8'] = export_openvino(net, os.path.join(folder, 'int8.xml'),
                                                 x.shape, 'int8', calibration, validation,
                                                 max_drop=0.003)
    return files, reference, real_reference


def _measure(path, model, kwargs, files, iters, warmup):
    folder = os.path.dirname(files['input'])
    out = os.path.join(folder, path + '.npy')
    extra_out = os.path.join(folder, path + '-extra.npy')
    if path == 'onnxruntime' or path in OPENVINO:
        from ..deploy import runtimes
        model_file = files['onnx'] if path == 'onnxruntime' else files.get(path,
                                                                           files.get('openvino'))
        cmd = [sys.executable, runtimes.__file__, model_file, '--input', files['input'],
               '--output', out, '--runtime', 'onnxruntime' if path == 'onnxruntime' else
               'openvino', '--precision', OPENVINO.get(path, 'f32')]
        if 'extra' in files:
            cmd += ['--extra', files['extra'], '--extra-output', extra_out]
    else:
        spec = dict(path=path, model=model, kwargs=kwargs, params=files['params'],
                    input=files['input'], output=out, extra=files.get('extra'),
                    extra_output=extra_out)
        cmd = [sys.executable, '-m', 'gluon_aff.tools.bench', '--worker', json.dumps(spec)]
    result = run_worker(cmd + ['--iters', str(iters), '--warmup', str(warmup)]).result()
    if path == 'train':
        return result, None, None
    return result, np.load(out), (np.load(extra_out) if os.path.exists(extra_out) else None)


def _progress(total, enabled):
    from tqdm import tqdm
    if enabled is None:
        enabled = sys.stderr.isatty()       # no bar in logs and pipes
    return tqdm(total=total, desc='bench', unit='run', disable=not enabled, file=sys.stderr)


def benchmark(models, batches=(1,), paths=None, input_size=None, kwargs=None, iters=20,
              warmup=3, seed=0, progress=None, accuracy=None, digits_params=None,
              real_count=64):
    """Measure every (model, batch, path); returns a list of result dicts with the keys
    ``KEYS`` (plus ``error`` for a path that failed or is unavailable, ``input_size``).
    ``accuracy`` (default: when a reduced-precision path is measured) adds
    ``top1_agreement`` (real photographs) and ``digits_acc`` (per path) to every row."""
    from ..model_zoo import get_model_info
    reasons = available_paths()
    paths = list(paths or [p for p in INFERENCE_PATHS if reasons[p] is None])
    for p in paths:
        if p not in PATHS:
            raise ValueError('unknown path %r; choose from %s' % (p, ', '.join(PATHS)))
    if accuracy is None:
        accuracy = any(p in REDUCED_PATHS for p in paths)
    infos = [get_model_info(m) for m in models]
    bar = _progress(len(models) * len(batches) * len(paths)
                    + (len(paths) if accuracy else 0), progress)
    digits_acc = {}
    if accuracy:
        digits_acc = _digits_accuracy(paths, reasons, batches[0], iters, digits_params, seed,
                                      bar)
    results = []
    for info in infos:
        size = input_size or info.input_size
        real = real_images(info, real_count) if accuracy and size == info.input_size else None
        calibration = (real_images(info, max(real_count, 64), seed=1)
                       if 'openvino-int8' in paths else None)
        for batch in batches:
            with tempfile.TemporaryDirectory() as folder:
                files, reference, real_ref = _prepare(info.name, kwargs or {}, batch, size,
                                                      folder, seed, paths, reasons, None, real,
                                                      calibration)
                scale = float(np.abs(reference).max()) or 1.0
                for path in paths:
                    bar.set_postfix_str('%s b%d %s' % (info.name, batch, path))
                    row = dict.fromkeys(KEYS)
                    row.update(model=info.name, path=path, batch=batch, input_size=size,
                               digits_acc=digits_acc.get(path),
                               digits_acc_f32=digits_acc.get('float32'))
                    try:
                        if reasons.get(path):
                            raise RuntimeError(reasons[path])
                        timing, out, extra = _measure(path, info.name, kwargs or {}, files,
                                                      iters, warmup)
                        row.update(timing)
                        if out is not None:
                            row['max_rel_diff'] = float(np.abs(out - reference).max() / scale)
                        if extra is not None and real_ref is not None:
                            row['top1_agreement'] = float(np.mean(
                                extra.argmax(1) == real_ref.argmax(1)))
                    except RuntimeError as err:
                        row['error'] = str(err)
                        log.warning('%s batch %d %s: %s', info.name, batch, path, err)
                    results.append(row)
                    bar.update(1)
    bar.close()
    return results


def _digits_accuracy(paths, reasons, batch, iters, params, seed, bar):
    """{path: validation accuracy of the digits network run through that path}."""
    name, kwargs = DIGITS_MODEL
    params, val_x, val_y, calibration, control = _digits(params)
    accuracy = {}
    with tempfile.TemporaryDirectory() as folder:
        files, _, real_ref = _prepare(name, kwargs, batch, 32, folder, seed, paths, reasons,
                                      params, val_x, calibration, control)
        accuracy['float32'] = float(np.mean(real_ref[:len(val_y)].argmax(1) == val_y))
        for path in paths:
            bar.set_postfix_str('digits %s' % path)
            bar.update(1)
            if reasons.get(path) or path == 'train':
                continue
            try:
                _, _, extra = _measure(path, name, kwargs, files, 1, 0)
            except RuntimeError as err:
                log.warning('digits network, %s: %s', path, err)
                continue
            accuracy[path] = float(np.mean(extra[:len(val_y)].argmax(1) == val_y))
    return accuracy


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
    """The results as a text (or markdown) table, ratios and accuracies included."""
    head = ['model', 'path', 'batch', 'img/s', 'p50 ms', 'p90 ms', 'peak MB',
            'max rel diff', 'top-1 agree', 'digits acc', 'x hybridized',
            'time vs %s' % baseline]
    rows = []
    for r in results:
        if r.get('error'):
            rows.append([r['model'], r['path'], str(r['batch']), 'unavailable: ' + r['error']]
                        + [''] * (len(head) - 4))
            continue
        rows.append([r['model'], r['path'], str(r['batch']), _fmt(r['img_per_s'], '%.2f'),
                     _fmt(r['p50_ms'], '%.1f'), _fmt(r['p90_ms'], '%.1f'),
                     _fmt(r['peak_rss_mb'], '%.0f'), _fmt(r['max_rel_diff'], '%.1e'),
                     _fmt(r.get('top1_agreement'), '%.3f'), _fmt(r.get('digits_acc'), '%.4f'),
                     _fmt(r.get('vs_hybridized'), '%.2fx'),
                     _fmt(r.get('time_vs_baseline'), '%.2fx')])
    if markdown:
        lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        return '\n'.join(lines + ['| ' + ' | '.join(c for c in row) + ' |' for row in rows])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows if len(row[i]) < 40))
              if rows else len(head[i]) for i in range(len(head))]
    line = lambda cells: '  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa
    return '\n'.join([line(head)] + [line(row) for row in rows])


# -- the worker side (one subprocess per MXNet path) -----------------------------------
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
    import gluon_aff  # noqa: F401  (numpy/distutils shims before mxnet)
    import mxnet as mx
    from ..deploy.runtimes import in_batches, peak_rss_mb, timings
    net = _build(spec)
    x = mx.nd.array(np.load(spec['input']))
    if spec['path'] == 'train':
        run = _train_step_runner(net, x)
    else:
        np.save(spec['output'], net(x).asnumpy())
        if spec.get('extra'):
            np.save(spec['extra_output'], in_batches(lambda b: net(mx.nd.array(b)).asnumpy(),
                                                     np.load(spec['extra']), x.shape[0]))
        run = lambda: net(x).wait_to_read()  # noqa: E731
    result = timings(run, x.shape[0], args.iters, args.warmup)
    result['peak_rss_mb'] = peak_rss_mb()
    report('result', **result)
    return 0


if __name__ == '__main__':
    sys.exit(worker_main(sys.argv[1:]))
