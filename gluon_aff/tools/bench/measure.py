"""The bench's parent side: one set of weights and inputs per (model, batch), the exports
the paths need, one worker subprocess per path, the rows."""
import json
import logging
import os
import sys
import tempfile

import numpy as np

from ...core.workers import run_worker
from .inputs import DIGITS_MODEL, digits_inputs, real_images
from .paths import (INFERENCE_PATHS, KEYS, OPENVINO, PATHS, REDUCED_PATHS, TIMM_PREFIX,
                    TORCH_PATHS, TRAIN_PATHS, available_paths)

__all__ = ['benchmark', 'benchmark_pair']

log = logging.getLogger('gluon_aff.bench')


def _prepare(model, kwargs, batch, size, folder, seed, paths, reasons, params=None,
             real=None, calibration=None, validation=None, max_drop=None):
    """Write weights, input, extra inputs and the exported files the paths need; return
    their paths and the imperative reference outputs (on the input and on ``real``; None for
    timm's networks, which have no MXNet form)."""
    x = np.random.RandomState(seed).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    if model.startswith(TIMM_PREFIX):
        files = dict(params=None, input=os.path.join(folder, 'x.npy'))
        np.save(files['input'], x)
        return files, None, None
    import mxnet as mx
    from ...deploy.export import export_onnx, export_openvino
    from ...deploy.runtimes import in_batches
    from ...model_zoo import get_model
    from ...utils.random_weights import randomize
    net = get_model(model, **kwargs)
    if params:
        net.load_parameters(params, ctx=mx.cpu())
    else:
        randomize(net, seed=seed)
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
        # (the reference network takes any batch size: 16 at a time, not one by one)
        real_reference = in_batches(lambda b: net(mx.nd.array(b)).asnumpy(), real, 16)
    wanted = [p for p in paths if not reasons.get(p)]
    if 'onnxruntime' in wanted:
        files['onnx'] = export_onnx(net, os.path.join(folder, 'net.onnx'), x.shape)
    if any(p in wanted for p in ('openvino', 'openvino-bf16')):
        files['openvino'] = export_openvino(net, os.path.join(folder, 'net.xml'), x.shape)
    if 'openvino-int8' in wanted:
        files['openvino-int8'] = export_openvino(net, os.path.join(folder, 'int8.xml'),
                                                 x.shape, 'int8', calibration, validation,
                                                 max_drop=max_drop)
    return files, reference, real_reference


def _worker_spec(path, model, kwargs, files):
    """What a framework worker (``worker.py``) runs: ``path`` of ``model`` on the files
    ``_prepare`` wrote, its output beside them."""
    folder = os.path.dirname(files['input'])
    return dict(path=path, model=model, kwargs=kwargs, params=files['params'],
                input=files['input'], output=os.path.join(folder, path + '.npy'),
                extra=files.get('extra'), extra_output=os.path.join(folder,
                                                                    path + '-extra.npy'))


def _max_rel_diff(out, reference):
    """The largest difference from the reference output relative to its largest value."""
    return float(np.abs(out - reference).max() / (float(np.abs(reference).max()) or 1.0))


def _measure(path, model, kwargs, files, iters, warmup):
    spec = _worker_spec(path, model, kwargs, files)
    out, extra_out = spec['output'], spec['extra_output']
    if path == 'onnxruntime' or path in OPENVINO:
        model_file = files['onnx'] if path == 'onnxruntime' else files.get(path,
                                                                           files.get('openvino'))
        cmd = [sys.executable, '-m', 'gluon_aff.tools.bench.runtime_worker', model_file,
               '--input', files['input'],
               '--output', out, '--runtime', 'onnxruntime' if path == 'onnxruntime' else
               'openvino', '--precision', OPENVINO.get(path, 'f32')]
        if 'extra' in files:
            cmd += ['--extra', files['extra'], '--extra-output', extra_out]
    else:
        cmd = [sys.executable, '-m', 'gluon_aff.tools.bench.worker', '--worker', json.dumps(spec)]
    result = run_worker(cmd + ['--iters', str(iters), '--warmup', str(warmup)]).result()
    if path in TRAIN_PATHS:
        return result, None, None
    return result, np.load(out), (np.load(extra_out) if os.path.exists(extra_out) else None)


def _progress(total, enabled):
    from tqdm import tqdm
    if enabled is None:
        enabled = sys.stderr.isatty()       # no bar in logs and pipes
    return tqdm(total=total, desc='bench', unit='run', disable=not enabled, file=sys.stderr)


def benchmark(models, batches=(1,), paths=None, input_size=None, kwargs=None, iters=20,
              warmup=3, seed=0, progress=None, accuracy=None, digits_params=None,
              real_count=64, max_accuracy_drop=0.003):
    """Measure every (model, batch, path); returns a list of result dicts with the keys
    ``KEYS`` (plus ``error`` for a path that failed or is unavailable, ``input_size``).
    ``accuracy`` (default: when a reduced-precision path is measured) adds
    ``top1_agreement`` (real photographs) and ``digits_acc`` (per path) to every row; the
    int8 digits network is quantised with accuracy control, within ``max_accuracy_drop`` of
    float32's top-1 on 300 held-out training digits."""
    reasons = available_paths()
    paths = list(paths or [p for p in INFERENCE_PATHS if reasons[p] is None])
    for p in paths:
        if p not in PATHS:
            raise ValueError('unknown path %r; choose from %s' % (p, ', '.join(PATHS)))
    if accuracy is None:
        accuracy = any(p in REDUCED_PATHS for p in paths)
    infos = [_info(m) for m in models]
    bar = _progress(len(models) * len(batches) * len(paths)
                    + (len(paths) if accuracy else 0), progress)
    digits_acc = {}
    if accuracy:
        digits_acc = _digits_accuracy(paths, reasons, batches[0], digits_params, seed, bar,
                                      max_accuracy_drop)
    results = []
    for info in infos:
        size = input_size or info.input_size
        timm = info.name.startswith(TIMM_PREFIX)
        real = real_images(info, real_count) if (accuracy and size == info.input_size
                                                 and not timm) else None
        calibration = (real_images(info, max(real_count, 64), seed=1)
                       if 'openvino-int8' in paths and not timm else None)
        for batch in batches:
            with tempfile.TemporaryDirectory() as folder:
                files, reference, real_ref = _prepare(info.name, kwargs or {}, batch, size,
                                                      folder, seed, paths, reasons, None, real,
                                                      calibration)
                for path in paths:
                    bar.set_postfix_str('%s b%d %s' % (info.name, batch, path))
                    row = dict.fromkeys(KEYS)
                    row.update(model=info.name, path=path, batch=batch, input_size=size,
                               digits_acc=digits_acc.get(path),
                               digits_acc_f32=digits_acc.get('float32'))
                    try:
                        if reasons.get(path):
                            raise RuntimeError(reasons[path])
                        if timm and path not in TORCH_PATHS:
                            raise RuntimeError("timm's own networks run on the PyTorch paths "
                                               'only')
                        timing, out, extra = _measure(path, info.name, kwargs or {}, files,
                                                      iters, warmup)
                        row.update(timing)
                        if out is not None and reference is not None:
                            row['max_rel_diff'] = _max_rel_diff(out, reference)
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


def benchmark_pair(models, batches=(1,), paths=('torch',), input_size=None, kwargs=None,
                   iters=20, warmup=3, seed=0, progress=None):
    """Two networks compared on each PyTorch path, both in one worker process, timed in
    turn (the order swapped every round): the rows of ``benchmark`` (per model, batch and
    path), each with ``paired_with`` (the other model) and ``ratio_p50``, the median over
    pairs of rounds of its time over the other's (``timing.paired_timings``). Machine
    drift between processes, which moves two separately measured times apart, falls on
    both alike here; the peak memory is the pair's."""
    if len(models) != 2:
        raise ValueError('benchmark_pair compares two models, got %d' % len(models))
    for p in paths:
        if p not in TORCH_PATHS:
            raise ValueError('benchmark_pair runs the PyTorch paths (%s), not %r'
                             % (', '.join(TORCH_PATHS), p))
    infos = [_info(m) for m in models]
    if input_size is None and infos[0].input_size != infos[1].input_size:
        raise ValueError('%s and %s take inputs of %d and %d pixels: a pair shares one input '
                         '(give input_size)' % (models[0], models[1], infos[0].input_size,
                                                infos[1].input_size))
    size = input_size or infos[0].input_size
    reasons = available_paths()
    bar = _progress(len(batches) * len(paths), progress)
    results = []
    for batch in batches:
        with tempfile.TemporaryDirectory() as folder:
            prepared = []
            for k, info in enumerate(infos):
                sub = os.path.join(folder, str(k))
                os.makedirs(sub)
                files, reference, _ = _prepare(info.name, kwargs or {}, batch, size, sub,
                                               seed, [], reasons)
                prepared.append((info.name, files, reference))
            for path in paths:
                bar.set_postfix_str('%s b%d %s' % (' / '.join(models), batch, path))
                rows = [dict(dict.fromkeys(KEYS), model=name, path=path, batch=batch,
                             input_size=size, paired_with=models[1 - k])
                        for k, (name, _, _) in enumerate(prepared)]
                try:
                    if reasons.get(path):
                        raise RuntimeError(reasons[path])
                    specs = [_worker_spec(path, name, kwargs or {}, files)
                             for name, files, _ in prepared]
                    cmd = [sys.executable, '-m', 'gluon_aff.tools.bench.worker', '--worker',
                           json.dumps(dict(pair=specs)), '--iters', str(iters), '--warmup',
                           str(warmup)]
                    result = run_worker(cmd).result()
                    for row, timing, spec, (_, _, reference) in zip(rows, result['pair'],
                                                                      specs, prepared):
                        row.update(timing, peak_rss_mb=result['peak_rss_mb'])
                        if path not in TRAIN_PATHS and reference is not None:
                            row['max_rel_diff'] = _max_rel_diff(np.load(spec['output']),
                                                                reference)
                except RuntimeError as err:
                    for row in rows:
                        row['error'] = str(err)
                    log.warning('%s batch %d %s: %s', ' / '.join(models), batch, path, err)
                results += rows
                bar.update(1)
    bar.close()
    return results


def _info(name):
    """The zoo's ModelInfo, or for ``timm:NAME`` what the bench needs of it."""
    if name.startswith(TIMM_PREFIX):
        import types
        return types.SimpleNamespace(name=name, input_size=224)
    from ...model_zoo import get_model_info
    return get_model_info(name)


def _digits_accuracy(paths, reasons, batch, params, seed, bar, max_drop):
    """{path: validation accuracy of the digits network run through that path}."""
    name, kwargs = DIGITS_MODEL
    params, val_x, val_y, calibration, control = digits_inputs(params)
    accuracy = {}
    with tempfile.TemporaryDirectory() as folder:
        files, _, real_ref = _prepare(name, kwargs, batch, 32, folder, seed, paths, reasons,
                                      params, val_x, calibration, control, max_drop)
        accuracy['float32'] = float(np.mean(real_ref[:len(val_y)].argmax(1) == val_y))
        for path in paths:
            bar.set_postfix_str('digits %s' % path)
            bar.update(1)
            if reasons.get(path) or path in TRAIN_PATHS:
                continue
            try:
                _, _, extra = _measure(path, name, kwargs, files, 1, 0)
            except RuntimeError as err:
                log.warning('digits network, %s: %s', path, err)
                continue
            accuracy[path] = float(np.mean(extra[:len(val_y)].argmax(1) == val_y))
    return accuracy
