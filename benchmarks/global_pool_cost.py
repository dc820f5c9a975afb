"""What the attention's global average pooling costs in training, on oneDNN's kernel and on
MXNet's own, at every shape the zoo's attention blocks pool, and what one training step of
a few networks costs with gluon_aff.nn.GlobalAvgPool choosing between them against oneDNN's
kernel everywhere (what nn.GlobalAvgPool2D does). Writes benchmarks/global_pool_cost.md.

    .venv/bin/python benchmarks/global_pool_cost.py [--isa default AVX2 SSE41] [--out FILE]

Each oneDNN level runs in its own process (DNNL_MAX_CPU_ISA is read once). Times are the
fastest of repeated runs on MXNet's NaiveEngine, so that an operator's time is its own.
"""
import argparse
import datetime
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# (zoo name, keyword arguments, batch): training steps measured both ways
NETWORKS = [('cifar_aff_resnet20', dict(blocks=1, channel_times=1), 32),
            ('cifar_iaff_resnet20', dict(channel_times=2), 32),
            ('cifar_afi_resnet32', {}, 32),
            ('cifar_aff_resnet20', {}, 32),
            ('afi_resnet50', dict(layers=[1, 1, 1, 1]), 4)]


def _label(name, kwargs):
    return name + ''.join(' %s=%s' % kv for kv in sorted(kwargs.items()))


def attention_pool_shapes():
    """{(C, H, W): [zoo names]}: the inputs of every GlobalAvgPool of every zoo name at its
    input size, and of the CIFAR ResNets at the narrow widths the tests train."""
    import mxnet as mx
    from gluon_aff.model_zoo import get_model, get_model_info, list_models
    from gluon_aff.nn.pooling import GlobalAvgPool
    shapes = {}
    entries = [(name, {}) for name in list_models() if not name.startswith('fpn_')]
    entries += [('cifar_aff_resnet20', dict(channel_times=1)),
                ('cifar_aff_resnet20', dict(channel_times=2))]
    for name, kwargs in entries:
        net = get_model(name, **kwargs)
        net.initialize()
        label = _label(name, kwargs)

        def hook(block, inputs, output, label=label):
            names = shapes.setdefault(tuple(inputs[0].shape[1:]), [])
            if label not in names:
                names.append(label)

        def walk(block):
            for child in block._children.values():
                if isinstance(child, GlobalAvgPool):
                    child.register_forward_hook(hook)
                walk(child)
        walk(net)
        size = get_model_info(name).input_size
        net(mx.nd.zeros((1, 3, size, size)))
    return shapes


def fastest(fn, min_time=0.2, min_runs=3):
    fn()
    times = []
    while sum(times) < min_time or len(times) < min_runs:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pool_times(shape):
    """ms of forward and of forward + backward, oneDNN's kernel and MXNet's."""
    import mxnet as mx
    x = mx.nd.random.uniform(shape=shape)
    x.attach_grad()
    kernels = {'onednn': lambda v: mx.nd.Pooling(v, kernel=(1, 1), global_pool=True,
                                                 pool_type='avg'),
               'native': lambda v: mx.nd.contrib.AdaptiveAvgPooling2D(v, output_size=1)}
    out = {}
    for key, pool in kernels.items():
        def train():
            with mx.autograd.record():
                y = pool(x)
            y.backward(mx.nd.ones_like(y))
            x.grad.wait_to_read()
        out[key] = (1e3 * fastest(lambda: pool(x).wait_to_read()), 1e3 * fastest(train))
    return out


def step_time(name, kwargs, batch, native_below):
    """s of one training step (forward, backward, SGD update), the block choosing its
    kernel with ``native_below``."""
    import mxnet as mx
    from gluon_aff.model_zoo import get_model, get_model_info
    from gluon_aff.nn import pooling
    saved, pooling.NATIVE_POOL_BELOW = pooling.NATIVE_POOL_BELOW, native_below
    try:
        mx.random.seed(0)
        net = get_model(name, classes=10, **kwargs)
    finally:
        pooling.NATIVE_POOL_BELOW = saved
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.01})
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    size = get_model_info(name).input_size
    x = mx.nd.random.uniform(-1, 1, (batch, 3, size, size))
    y = mx.nd.array([i % 10 for i in range(batch)])

    def step():
        with mx.autograd.record():
            value = loss(net(x), y)
        value.backward()
        trainer.step(batch)
        mx.nd.waitall()
    return fastest(step, min_time=1.0)


def measure():
    """This process's measurements, as JSON-able data."""
    import gluon_aff  # noqa: F401  (numpy 2 compatibility before MXNet loads)
    from gluon_aff.nn.pooling import NATIVE_POOL_BELOW, GlobalAvgPool
    shapes = attention_pool_shapes()
    pools = []
    for shape in sorted(shapes):
        batch = 32 if shape[1] <= 32 else 8
        pools.append(dict(shape=[batch] + list(shape), names=shapes[shape],
                          picks='native' if GlobalAvgPool(shape[0]).native else 'onednn',
                          **pool_times((batch,) + shape)))
    steps = []
    for name, kwargs, batch in NETWORKS:
        steps.append(dict(name=name, kwargs=kwargs, batch=batch,
                          onednn=step_time(name, kwargs, batch, 0),
                          block=step_time(name, kwargs, batch, NATIVE_POOL_BELOW)))
    return dict(pools=pools, steps=steps)


def write(results, path, argv):
    from gluon_aff.nn.pooling import NATIVE_POOL_BELOW
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    lines = ['# What the attention\'s global average pooling costs in training', '',
             'Measured %s by `%s` on %s (%d cores; flags: %s), '
             'Python %s, MXNet on the NaiveEngine, %s OpenMP thread(s). Fastest of repeated runs.'
             % (datetime.date.today().isoformat(),
                ' '.join(['benchmarks/global_pool_cost.py'] + list(argv)), cpu_model(),
                os.cpu_count(),
                flags_present(), platform.python_version(),
                os.environ.get('OMP_NUM_THREADS', 'default')), '',
             'gluon_aff.nn.GlobalAvgPool pools with MXNet\'s own kernel (native: '
             '`contrib.AdaptiveAvgPooling2D`) below %d channels and with oneDNN\'s (`Pooling`, '
             'global, what `nn.GlobalAvgPool2D` runs) from %d up.'
             % (NATIVE_POOL_BELOW, NATIVE_POOL_BELOW), '']
    for isa, result in results.items():
        lines += ['## oneDNN level: %s' % isa, '',
                  '### Every shape the attention pools, forward and forward + backward (ms)', '',
                  '| input (N, C, H, W) | oneDNN fwd | oneDNN fwd+bwd | native fwd | '
                  'native fwd+bwd | picked | picked fwd+bwd vs best | pooled by |',
                  '|---|---|---|---|---|---|---|---|']
        for row in result['pools']:
            best = min(row['onednn'][1], row['native'][1])
            names = row['names']
            lines.append('| %s | %.2f | %.2f | %.2f | %.2f | %s | %.2fx | %s |' % (
                tuple(row['shape']), row['onednn'][0], row['onednn'][1], row['native'][0],
                row['native'][1], row['picks'], row[row['picks']][1] / best,
                ', '.join(names[:3]) + (' and %d more' % (len(names) - 3)
                                        if len(names) > 3 else '')))
        lines += ['', '### One training step (s)', '',
                  '| network | batch | oneDNN kernel everywhere | GlobalAvgPool | ratio |',
                  '|---|---|---|---|---|']
        for row in result['steps']:
            lines.append('| %s | %d | %.3f | %.3f | %.2fx |' % (
                _label(row['name'], row['kwargs']), row['batch'], row['onednn'], row['block'],
                row['block'] / row['onednn']))
        lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--isa', nargs='+', default=['default', 'AVX2', 'SSE41'],
                        help='oneDNN levels (DNNL_MAX_CPU_ISA values; "default": unset)')
    parser.add_argument('--out', default=os.path.join(HERE, 'global_pool_cost.md'))
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from gluon_aff.core.workers import report
        report('result', **measure())
        return 0
    from gluon_aff.core.workers import run_worker
    results = {}
    for isa in args.isa:
        env = dict(os.environ, MXNET_ENGINE_TYPE='NaiveEngine')
        env.pop('DNNL_MAX_CPU_ISA', None)
        if isa != 'default':
            env['DNNL_MAX_CPU_ISA'] = isa
        print('measuring at oneDNN level %s ...' % isa, flush=True)
        results[isa] = run_worker([sys.executable, os.path.abspath(__file__), '--worker'],
                                  env=env).result()
    write(results, args.out, sys.argv[1:] if argv is None else argv)
    print('wrote', args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
