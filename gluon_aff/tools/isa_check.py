"""Does every zoo family train on this CPU, at every oneDNN instruction-set level?

MXNet's oneDNN kernels differ with the CPU (block sizes of 8 channels on SSE4.1/AVX2,
16 on AVX-512, ...), so a network that trains on one machine can die with SIGFPE on
another. ``DNNL_MAX_CPU_ISA`` makes oneDNN run as on a lesser CPU. This module runs one
training step (forward, backward, update, ``mx.nd.waitall()``) of one network per zoo
family, and per AFI setting, at each level the CPU offers, every level in its own
worker process. A worker that dies is restarted after the network it was running, so
one crash names its network and level and hides nothing else.
"""
import argparse
import os
import sys
import time

from ..core.workers import report, run_worker

__all__ = ['ISA_LEVELS', 'CHECKS', 'cpu_flags', 'cpu_model', 'isa_levels', 'check_levels', 'format_matrix']

# oneDNN level -> CPU flags (/proc/cpuinfo) it needs; 'default' = no cap
ISA_LEVELS = (('SSE41', ('sse4_1',)), ('AVX2', ('avx2',)),
              ('AVX512_CORE', ('avx512f', 'avx512bw', 'avx512vl', 'avx512dq')),
              ('default', ()))

# (label, zoo name or builder, constructor kwargs, input size). Small depths and inputs:
# the channel widths, which decide oneDNN's layouts, are the zoo's.
CHECKS = (
    ('imagenet_resnet', 'iaff_resnet50', dict(layers=[1, 1, 1, 1]), 32),
    ('imagenet_resnext', 'iaff_resnext50_32x4d', dict(layers=[1, 1, 1, 1]), 32),
    ('cifar_resnet', 'cifar_iaff_resnet20', dict(blocks=1), 32),
    ('cifar_resnext', 'cifar_aff_resnext38_32x4d', dict(blocks=1), 32),
    ('cifar_inception', 'cifar_inception_iaff_b1', {}, 32),
    ('cifar_inception (concat)', 'cifar_inception_concat_b1', {}, 32),
    ('fpn_resnet', 'fpn_resnet20_iaff_b1', {}, 32),
    ('cifar_afi_resnet plain', 'cifar_resnet32', dict(blocks=2), 32),
    ('cifar_afi_resnet A', 'cifar_afi_resnet32', dict(blocks=2), 32),
    ('cifar_afi_resnet B', 'cifar_afi_resnet32_b', dict(blocks=2), 32),
    ('cifar_afi_resnext plain', 'cifar_resnext29_32x4d', {}, 32),
    ('cifar_afi_resnext A', 'cifar_afi_resnext29_32x4d', {}, 32),
    ('cifar_afi_resnext B', 'cifar_afi_resnext29_32x4d_b', {}, 32),
    ('cifar_afi_mobilenet plain', 'cifar_mobilenetv2', {}, 32),
    ('cifar_afi_mobilenet A', 'cifar_afi_mobilenetv2', {}, 32),
    ('cifar_afi_mobilenet B', 'cifar_afi_mobilenetv2_b', {}, 32),
    ('cifar_afi_shufflenet plain', 'cifar_shufflenetv2', {}, 32),
    ('cifar_afi_shufflenet A', 'cifar_afi_shufflenetv2', {}, 32),
    ('cifar_afi_shufflenet B', 'cifar_afi_shufflenetv2_b', {}, 32),
    ('imagenet_afi_resnet A', 'afi_resnet50', {}, 32),
    ('imagenet_afi_resnet B', 'afi_resnet50_b', {}, 32),
    # AFI-ResNet setting A at half width: its 4+4-channel concatenations cut AVX2's
    # 8-channel blocks as the zoo's 8+8 cut AVX-512's 16, so this machine-independent
    # canary reproduces the AVX-512 failure on SSE4.1/AVX2 CPUs.
    ('afi_resnet A, 8 channels (canary)', 'narrow_afi_resnet', {}, 16),
)


def _cpuinfo(field):
    """The value of the first ``field`` line of /proc/cpuinfo, or None where unreadable."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(field):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (a set), or None where unreadable."""
    flags = _cpuinfo('flags')
    return None if flags is None else set(flags.split())


def flags_present(names=('amx_tile', 'avx512_vnni', 'avx512f', 'avx2')):
    """Those of ``names`` this CPU has, comma-separated ('?' where none or unreadable):
    the flags a benchmark page states beside its numbers."""
    flags = cpu_flags() or set()
    return ', '.join(f for f in names if f in flags) or '?'


def cpu_model():
    """The CPU's model name (/proc/cpuinfo, else what ``platform`` knows)."""
    import platform
    return _cpuinfo('model name') or platform.processor() or 'unknown CPU'


def isa_levels(flags=None):
    """[(level, reason or None)] for every level; a reason says why it cannot run here."""
    flags = cpu_flags() if flags is None else flags
    levels = []
    for level, needs in ISA_LEVELS:
        missing = [f for f in needs if flags is not None and f not in flags]
        levels.append((level, 'this CPU lacks %s' % ', '.join(missing) if missing else None))
    return levels


# -- worker side ------------------------------------------------------------------------
def _build(name, kwargs):
    import mxnet as mx
    if name == 'narrow_afi_resnet':
        from ..model_zoo.afi_resnet import AFIBasicBlock, AFIResNet
        net = AFIResNet(AFIBasicBlock, [2, 2, 2], [8, 8, 16, 32], setting='A', classes=10)
    else:
        from ..model_zoo import get_model
        net = get_model(name, classes=10, **kwargs)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    return net


def train_step(name, kwargs, size, batch=4):
    """One hybridized training step; returns the loss (raises on a non-finite one)."""
    import mxnet as mx
    import numpy as np
    from mxnet import autograd, gluon
    mx.random.seed(0)
    net = _build(name, kwargs)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), 'nag', dict(learning_rate=0.01,
                                                             momentum=0.9, wd=1e-4))
    x = mx.nd.array(np.random.RandomState(0).normal(size=(batch, 3, size, size)))
    y = mx.nd.array(np.arange(batch) % 10)
    x.attach_grad()     # as the training loop does on the CPU
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        out = net(x)
        if out.ndim == 4:      # segmentation: per-pixel labels
            out = out.mean(axis=(2, 3))
        loss = loss_fn(out, y)
    loss.backward()
    trainer.step(batch)
    mx.nd.waitall()     # queued kernels must really run before we say it worked
    value = float(loss.mean().asscalar())
    if not np.isfinite(value):
        raise FloatingPointError('non-finite loss %r' % value)
    return value


def worker_main(labels):
    checks = {c[0]: c for c in CHECKS}
    for label in labels:
        _, name, kwargs, size = checks[label]
        report('start', label=label)
        tic = time.time()
        try:
            train_step(name, kwargs, size)
        except Exception as e:  # a Python-level failure; native crashes end the process
            lines = str(e).strip().splitlines()
            report('fail', label=label,
                   error='%s: %s' % (type(e).__name__, lines[-1][:300] if lines else ''))
            continue
        report('ok', label=label, seconds=round(time.time() - tic, 2))
    return 0


# -- parent side ------------------------------------------------------------------------
def _run_level(level, labels, timeout):
    env = dict(os.environ)
    env.pop('DNNL_MAX_CPU_ISA', None)
    env.pop('MXNET_MKLDNN_ENABLED', None)
    if level != 'default':
        env['DNNL_MAX_CPU_ISA'] = level
    env['PYTHONFAULTHANDLER'] = '1'
    results, todo = {}, list(labels)
    while todo:
        run = run_worker([sys.executable, '-m', 'gluon_aff.tools.isa_check', '--worker'] + todo,
                         env=env, timeout=timeout)
        running = None
        for event in run.events:
            if event['event'] == 'start':
                running = event['label']
            elif event['event'] == 'ok':
                results[event['label']] = ('ok', event['seconds'])
                running = None
            elif event['event'] == 'fail':
                results[event['label']] = ('error', event['error'])
                running = None
        if running is None and run.ok:
            break
        if running is None:     # died before its first network, or after its last
            for label in [l for l in todo if l not in results]:
                results[label] = ('error', 'worker ' + run.how_it_ended(timeout))
            break
        results[running] = ('crash', run.how_it_ended(timeout))
        todo = todo[todo.index(running) + 1:]
    return results


def check_levels(labels=None, levels=None, timeout=600, progress=None):
    """Run the checks; returns {(label, level): (status, detail)} with status 'ok'
    (detail: seconds), 'error' or 'crash' (detail: what happened) or 'skipped' (the
    CPU lacks the level)."""
    labels = list(labels or [c[0] for c in CHECKS])
    unknown = [l for l in labels if l not in {c[0] for c in CHECKS}]
    if unknown:
        raise ValueError('unknown check %r; known: %s' % (unknown[0], ', '.join(
            c[0] for c in CHECKS)))
    table = {}
    for level, reason in isa_levels():
        if levels and level not in levels:
            continue
        if reason:
            for label in labels:
                table[label, level] = ('skipped', reason)
            continue
        if progress:
            progress(level)
        for label, result in _run_level(level, labels, timeout).items():
            table[label, level] = result
    return table


def format_matrix(table):
    """The results as a markdown table, one row per check, one column per level."""
    labels = list(dict.fromkeys(label for label, _ in table))
    levels = list(dict.fromkeys(level for _, level in table))
    cell = {'ok': lambda d: 'ok (%.1fs)' % d, 'skipped': lambda d: 'n/a',
            'error': lambda d: 'ERROR: %s' % d, 'crash': lambda d: 'CRASH: %s' % d}
    lines = ['| network | ' + ' | '.join(levels) + ' |', '|---|' + '---|' * len(levels)]
    for label in labels:
        lines.append('| %s | %s |' % (label, ' | '.join(
            cell[table[label, lv][0]](table[label, lv][1]) for lv in levels)))
    skipped = sorted({(lv, table[l, lv][1]) for l, lv in table if table[l, lv][0] == 'skipped'})
    for level, reason in skipped:
        lines.append('\n%s: not run, %s.' % (level, reason))
    return '\n'.join(lines)


def failures(table):
    return {key: value for key, value in table.items() if value[0] in ('error', 'crash')}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--worker', nargs='+', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        import gluon_aff  # noqa: F401  (numpy/distutils shims, thread count)
        return worker_main(args.worker)
    table = check_levels()
    print(format_matrix(table))
    return 1 if failures(table) else 0


if __name__ == '__main__':
    sys.exit(main())
