"""Write benchmarks/results.md: every inference path and training step (MXNet, the PyTorch
twin eager and compiled) for the networks docs/serving.md quotes, at batch 1 and
(throughput) 8 and 32, with the accuracy of the reduced-precision paths, the serving and
attention-cost targets checked against the numbers, the CPU's flags, and an operator
profile of iAFF-ResNet-50 showing where its time goes.

    .venv/bin/python benchmarks/run_benchmarks.py [--iters 30] [--out benchmarks/results.md]

Random weights (BN statistics included) except the digits network of the accuracy
columns, which is trained in the run; each path in its own process. Run it alone.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gluon_aff.tools.bench import (INFERENCE_PATHS, PATHS, REDUCED_PATHS, TRAIN_PATHS,  # noqa
                                   add_ratios, benchmark, format_table, model_macs)
from gluon_aff.tools.isa_check import cpu_flags, cpu_model  # noqa: E402

IMAGENET = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
CIFAR = ['cifar_add_resnet32', 'cifar_aff_resnet32']


def profile(model, optimized, iters=10):
    """Share of operator time per operator type (MXNet profiler, bulking off so that
    every operator is timed alone), in a subprocess."""
    code = r'''
import json, sys, numpy as np
import gluon_aff, mxnet as mx
from gluon_aff.model_zoo import get_model
from gluon_aff.utils.random_weights import randomize
from gluon_aff.deploy import optimize
net = randomize(get_model(sys.argv[1]))
if sys.argv[2] == '1':
    net = optimize(net)
else:
    net.hybridize(static_alloc=True, static_shape=True)
x = mx.nd.array(np.random.RandomState(0).normal(0, 1, (1, 3, 224, 224)))
for _ in range(3):
    net(x).wait_to_read()
mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename='/dev/null')
mx.profiler.set_state('run')
for _ in range(int(sys.argv[3])):
    net(x).wait_to_read()
mx.nd.waitall()
mx.profiler.set_state('stop')
print(mx.profiler.dumps(reset=True, format='json'))
'''
    env = dict(os.environ, MXNET_EXEC_BULK_EXEC_INFERENCE='0')
    out = subprocess.run([sys.executable, '-c', code, model, '1' if optimized else '0',
                          str(iters)], env=env, stdout=subprocess.PIPE, check=True, text=True)
    stats = json.loads(out.stdout[out.stdout.index('{'):])['Time']['operator']
    total = sum(v['Total'] for v in stats.values())
    return sorted(((k, v['Total'] / total) for k, v in stats.items()), key=lambda kv: -kv[1])


def targets(results):
    """The serving targets, for iaff_resnet50 at batch 1 (ratios within this run)."""
    get = {(r['model'], r['path']): r for r in results
           if r.get('img_per_s') and r['batch'] == 1}
    hyb = get['iaff_resnet50', 'hybridized']['img_per_s']
    lines = []
    exact = [p for p in INFERENCE_PATHS if ('iaff_resnet50', p) in get
             and get['iaff_resnet50', p]['max_rel_diff'] is not None
             and get['iaff_resnet50', p]['max_rel_diff'] <= 1e-4 and p not in REDUCED_PATHS]
    fastest = max(exact, key=lambda p: get['iaff_resnet50', p]['img_per_s'])
    ratio = get['iaff_resnet50', fastest]['img_per_s'] / hyb
    lines.append('- fastest path within 1e-4 of float32 (%s): %.2fx MXNet hybridized (target '
                 '>= 2.5x): %s' % (fastest, ratio, 'met' if ratio >= 2.5 else 'NOT met'))
    reduced = [p for p in REDUCED_PATHS if ('iaff_resnet50', p) in get]
    if reduced:
        best = max(reduced, key=lambda p: get['iaff_resnet50', p]['img_per_s'])
        row = get['iaff_resnet50', best]
        ratio = row['img_per_s'] / hyb
        agree = row.get('top1_agreement')
        drop = (row['digits_acc_f32'] - row['digits_acc']) if row.get('digits_acc') is not None \
            else None
        ok = ratio >= 6 and agree is not None and agree >= 0.99 and drop is not None and \
            drop <= 0.005
        lines.append('- fastest reduced-precision path (%s): %.2fx hybridized (target >= 6x), '
                     'top-1 agreement with float32 on real photographs %.3f (target >= 0.99), '
                     'digits accuracy %.4f vs %.4f at float32 (target: within 0.005): %s'
                     % (best, ratio, agree if agree is not None else float('nan'),
                        row.get('digits_acc') or float('nan'), row.get('digits_acc_f32'),
                        'met' if ok else 'NOT met'))
    unavailable = sorted({r['path'] for r in results if r.get('error')})
    for p in unavailable:
        reason = [r['error'] for r in results if r['path'] == p][0]
        lines.append('- %s: not run here (%s)' % (p, reason))
    return lines


# what the attention may cost, as time over resnet50_add's (issue: attention at the price
# of its multiply-adds); batch 1 and 32, each network on its own fastest path of the kind
ATTENTION_TARGETS = (('fastest exact inference', 'aff_resnet50', 1.10),
                     ('fastest exact inference', 'iaff_resnet50', 1.15),
                     ('int8 (openvino-int8)', 'iaff_resnet50', 1.25),
                     ('fastest training step', 'iaff_resnet50', 1.35))


def _fastest(rows, model, kind):
    """(path, row) of ``model``'s fastest path of ``kind``, or (None, None)."""
    if kind == 'fastest exact inference':
        ok = lambda r: (r['path'] in INFERENCE_PATHS and r['path'] not in REDUCED_PATHS  # noqa
                        and r['max_rel_diff'] is not None and r['max_rel_diff'] <= 1e-4)
    elif kind == 'fastest training step':
        ok = lambda r: r['path'] in TRAIN_PATHS  # noqa
    else:
        ok = lambda r: r['path'] == 'openvino-int8'  # noqa
    rows = [r for r in rows if r['model'] == model and r.get('img_per_s') and ok(r)]
    best = max(rows, key=lambda r: r['img_per_s'], default=None)
    return (best['path'], best) if best else (None, None)


def attention_targets(results, macs, batches=(1, 32)):
    """The attention-cost targets: per batch, the network's time on its fastest path of a
    kind over resnet50_add's on its own fastest path of that kind."""
    lines = []
    for batch in batches:
        rows = [r for r in results if r['batch'] == batch]
        for kind, model, limit in ATTENTION_TARGETS:
            path, row = _fastest(rows, model, kind)
            base_path, base = _fastest(rows, 'resnet50_add', kind)
            if row is None or base is None:
                lines.append('- batch %d, %s, %s: not measured here' % (batch, kind, model))
                continue
            ratio = base['img_per_s'] / row['img_per_s']
            where = path if path == base_path else '%s against %s' % (path, base_path)
            extra = ''
            if path == 'openvino-int8':
                extra = ', top-1 agreement with float32 %s, digits %s vs %s at float32' % (
                    '%.3f' % row['top1_agreement'] if row.get('top1_agreement') is not None
                    else 'not measured',
                    '%.4f' % row['digits_acc'] if row.get('digits_acc') is not None else '-',
                    '%.4f' % row['digits_acc_f32'] if row.get('digits_acc_f32') else '-')
            lines.append('- batch %d, %s, %s / resnet50_add (%s): %.2fx, multiply-adds %.3fx '
                         '(target <= %.2fx): %s%s' % (
                             batch, kind, model, where, ratio,
                             macs[model] / float(macs['resnet50_add']), limit,
                             'met' if ratio <= limit else 'NOT met', extra))
    return lines


def slower_than_before(results, previous, cpu, margin=0.10):
    """Lines naming each (network, path, batch) more than ``margin`` slower than in the
    results this run replaces, where those were measured on the same CPU model."""
    if previous is None:
        return ['- no earlier results to compare with']
    if previous.get('cpu') != cpu:
        return ['- the earlier results were measured on another CPU (%s): not compared'
                % previous.get('cpu', 'not recorded')]
    before = {(r['model'], r['path'], r['batch']): r['img_per_s'] for r in previous['rows']
              if r.get('img_per_s')}
    lines, compared = [], 0
    for r in results:
        old = before.get((r['model'], r['path'], r['batch']))
        if old and r.get('img_per_s'):
            compared += 1
            if r['img_per_s'] < old * (1 - margin):
                lines.append('- %s %s batch %d: %.2f img/s, %.2f before' % (
                    r['model'], r['path'], r['batch'], r['img_per_s'], old))
    return lines or ['- none of %d rows measured before is more than %d%% slower'
                     % (compared, 100 * margin)]


def _previous(out):
    path = os.path.splitext(out)[0] + '.json'
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else dict(rows=data)   # older files: rows only


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--iters', type=int, default=30)
    p.add_argument('--out', default=os.path.join(HERE, 'results.md'))
    args = p.parse_args()
    previous = _previous(args.out)
    paths = list(PATHS)
    # each group compares with its own baseline; the accuracy columns are measured once
    macs = model_macs(IMAGENET + CIFAR)
    results = add_ratios(benchmark(IMAGENET, [1], paths, iters=args.iters, warmup=5,
                                   accuracy=True), IMAGENET[0], macs)
    digits = {r['path']: r['digits_acc'] for r in results}
    results += add_ratios(benchmark(CIFAR, [1], paths, iters=args.iters * 3, warmup=5,
                                    accuracy=False), CIFAR[0], macs)
    throughput = [p for p in INFERENCE_PATHS if p != 'imperative']
    for batch in (8, 32):
        results += add_ratios(benchmark(IMAGENET, [batch], throughput,
                                        iters=max(5, args.iters * 4 // batch), warmup=2,
                                        accuracy=False), 'resnet50_add', macs)
    # a training step at batch 32 costs seconds: few steps; two warm-up ones (compiling)
    results += add_ratios(benchmark(IMAGENET, [32], TRAIN_PATHS, iters=3, warmup=2,
                                    accuracy=False), 'resnet50_add', macs)
    f32 = [r['digits_acc_f32'] for r in results if r.get('digits_acc_f32') is not None]
    for r in results:
        r['digits_acc'] = digits.get(r['path'])
        r['digits_acc_f32'] = f32[0] if f32 else None
    import mxnet
    import onnx
    import onnxruntime
    import openvino
    flags = cpu_flags() or set()
    shown = [f for f in ('amx_tile', 'amx_bf16', 'avx512_bf16', 'avx512_vnni', 'avx512f',
                         'avx_vnni', 'avx2', 'sse4_1') if f in flags]
    lines = ['# gluon-aff benchmarks', '',
             'Measured %s on %s (%d cores; CPU flags: %s; no AMX, AVX-512 or bfloat16 unless '
             'listed), Python %s, MXNet %s, onnx %s, ONNX Runtime %s, OpenVINO %s. Random '
             'weights, each path in its own process, warm-up excluded; "time vs" compares '
             'with resnet50_add (ImageNet, 224 px) or cifar_add_resnet32 (CIFAR, 32 px) on the '
             'same path and batch. "top-1 agree": agreement of the top class with the float32 '
             'network on 64 crops of real photographs; "digits acc": validation accuracy of a '
             'cifar_aff_resnet20 trained in this run on the digits set, run through the same '
             'path (float32: %.4f).'
             % (datetime.date.today().isoformat(), cpu_model(), len(os.sched_getaffinity(0)),
                ', '.join(shown) or '?', platform.python_version(), mxnet.__version__,
                onnx.__version__, onnxruntime.__version__, openvino.__version__.split('-')[0],
                f32[0] if f32 else float('nan')),
             '', 'Command: `.venv/bin/python benchmarks/run_benchmarks.py --iters %d`' % args.iters,
             '', format_table(results, 'baseline', markdown=True), '',
             '## Targets (iaff_resnet50, batch 1)', '']
    lines += targets(results)
    cpu = '%s (%s)' % (cpu_model(), ', '.join(shown) or '?')
    lines += ['', '## What the attention costs (time over resnet50_add\'s)', '',
              'Each network on its own fastest path of the kind (exact: within 1e-4 of the '
              'float32 network; training: MXNet\'s hybridized step or the twin\'s, eager or '
              'compiled); the multiply-add ratio is what the time ratio would be if time '
              'followed arithmetic.', '']
    lines += attention_targets(results, macs)
    lines += ['', 'Slower than the results this run replaces (same CPU, more than 10%):', '']
    lines += slower_than_before(results, previous, cpu)
    for optimized in (False, True):
        rows = profile('iaff_resnet50', optimized)
        lines += ['', '## Where iaff_resnet50 spends its time (%s path, MXNet profiler)'
                  % ('optimized' if optimized else 'hybridized'), '',
                  '| operator | share of operator time |', '|---|---|']
        lines += ['| %s | %.1f%% |' % (name, 100 * share) for name, share in rows[:10]]
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(dict(cpu=cpu, rows=results), f, indent=1)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
