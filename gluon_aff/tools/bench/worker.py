"""The bench's worker side: one MXNet or PyTorch path of one network, timed in its own
process so that its peak memory is its own
(``python -m gluon_aff.tools.bench.worker --worker SPEC``)."""
import argparse
import json
import os
import sys

import numpy as np

from ...core.workers import report

__all__ = ['worker_main']


def _build(spec):
    import mxnet as mx
    from ...model_zoo import get_model
    net = get_model(spec['model'], **spec['kwargs'])
    net.load_parameters(spec['params'], ctx=mx.cpu())
    path = spec['path']
    if path == 'hybridized' or path == 'train':
        net.hybridize(static_alloc=True, static_shape=True)
    elif path == 'mkldnn':
        net.hybridize(static_alloc=True, static_shape=True, backend='MKLDNN')
    elif path == 'optimized':
        from ...deploy import optimize
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


def _torch_network(spec):
    """The twin with the spec's weights (read from the MXNet file, no MXNet imported), or
    timm's own network (``timm:NAME``, random weights) as a reference."""
    import torch
    from ... import torch as twin
    from .paths import TIMM_PREFIX
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
                          else os.cpu_count())
    if spec['model'].startswith(TIMM_PREFIX):
        import timm
        torch.manual_seed(0)
        return timm.create_model(spec['model'][len(TIMM_PREFIX):], **spec['kwargs'])
    return twin.get_model(spec['model'], pretrained=spec['params'], **spec['kwargs'])


def _torch_runner(spec):
    """Inference in channels-last: ``torch`` the network as built, ``torch-optimized`` its
    inference form (``gluon_aff.torch.optimize``, prepacked), ``torch-bf16`` that form
    (unpacked) under bfloat16 autocast; ``-compile`` through ``torch.compile``, the
    optimized form with inductor's freezing (weights packed as the eager form packs them)."""
    import contextlib
    import torch
    from ... import torch as twin
    from ...deploy.runtimes import in_batches
    net, path = _torch_network(spec).eval(), spec['path']
    x = np.load(spec['input'])
    example = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    if path in ('torch-optimized', 'torch-optimized-compile', 'torch-bf16'):
        net = twin.optimize(net, prepack=path == 'torch-optimized', example=example)
    else:
        net = net.to(memory_format=torch.channels_last)
    if path.endswith('-compile'):
        if path == 'torch-optimized-compile':
            import torch._inductor.config as inductor
            inductor.freezing = True
        net = torch.compile(net)
    precision = (lambda: torch.autocast('cpu', torch.bfloat16)) if path == 'torch-bf16' \
        else contextlib.nullcontext

    def forward(batch):
        with torch.inference_mode(), precision():
            out = net(torch.from_numpy(batch).contiguous(memory_format=torch.channels_last))
        return out.float()
    np.save(spec['output'], forward(x).numpy())
    if spec.get('extra'):
        np.save(spec['extra_output'], in_batches(lambda b: forward(b).numpy(),
                                                 np.load(spec['extra']), x.shape[0]))
    return lambda: forward(x)


def _torch_train_runner(spec):
    """One training step of the twin (the MXNet path's SGD step: forward, cross-entropy,
    backward, update) in channels-last, ``torch-compile-train`` through ``torch.compile``,
    on the network as built: at batch 1 too (the global branches normalise their one pooled
    vector with the running statistics)."""
    import torch
    x = torch.from_numpy(np.load(spec['input'])).contiguous(memory_format=torch.channels_last)
    net = _torch_network(spec).train().to(memory_format=torch.channels_last)
    model = torch.compile(net) if spec['path'] == 'torch-compile-train' else net
    labels = torch.from_numpy(np.arange(x.shape[0]) % 10)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()
    return step


def _torch_run(spec):
    return (_torch_train_runner if spec['path'].endswith('-train') else _torch_runner)(spec)


def _paired_main(specs, iters, warmup):
    """Two PyTorch paths (two networks on one path, as a ratio target compares them) in
    this one process, timed in turn (``timing.paired_timings``); reports ``pair``: the
    timings of each."""
    from .timing import paired_timings, peak_rss_mb
    if len(specs) != 2 or not all(s['path'].startswith('torch') for s in specs):
        raise ValueError('a pair is two specs of PyTorch paths, got %s'
                         % [s.get('path') for s in specs])
    runs = [_torch_run(s) for s in specs]
    batch = np.load(specs[0]['input']).shape[0]
    report('result', pair=paired_timings(runs, batch, iters, warmup),
           peak_rss_mb=peak_rss_mb())
    return 0


def worker_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--worker', required=True)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    args = p.parse_args(argv)
    spec = json.loads(args.worker)
    if 'pair' in spec:
        return _paired_main(spec['pair'], args.iters, args.warmup)
    if spec['path'].startswith('torch'):
        from .timing import peak_rss_mb, timings
        run = _torch_run(spec)
        result = timings(run, np.load(spec['input']).shape[0], args.iters, args.warmup)
        result['peak_rss_mb'] = peak_rss_mb()
        report('result', **result)
        return 0
    if spec['path'] == 'train':
        os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')   # as training on the CPU
    import gluon_aff  # noqa: F401  (numpy/distutils shims before mxnet)
    import mxnet as mx
    from ...deploy.runtimes import in_batches
    from .timing import peak_rss_mb, timings
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
