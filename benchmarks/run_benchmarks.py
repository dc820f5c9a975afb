"""Write benchmarks/results.md: every inference path (and a training step) for the
networks the README quotes, the issue's targets checked against the numbers, and an
operator profile of iAFF-ResNet-50 showing where its time goes.

    .venv/bin/python benchmarks/run_benchmarks.py [--iters 30] [--out benchmarks/results.md]

Random weights (BN statistics included); batch 1; each path in its own process.
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

from gluon_aff.tools.bench import PATHS, add_ratios, benchmark, format_table  # noqa: E402

IMAGENET = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
CIFAR = ['cifar_add_resnet32', 'cifar_aff_resnet32']


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def profile(model, optimized, iters=10):
    """Share of operator time per operator type (MXNet profiler, bulking off so that
    every operator is timed alone), in a subprocess."""
    code = r'''
import json, sys, numpy as np
import gluon_aff, mxnet as mx
from gluon_aff.model_zoo import get_model
from gluon_aff.tools.random_weights import randomize
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
    get = {(r['model'], r['path']): r for r in results if r.get('img_per_s')}
    lines = []
    paths = [p for p in PATHS if p != 'train' and ('iaff_resnet50', p) in get]
    fastest = max(paths, key=lambda p: get['iaff_resnet50', p]['img_per_s'])
    hyb = get['iaff_resnet50', 'hybridized']['img_per_s']
    ratio = get['iaff_resnet50', fastest]['img_per_s'] / hyb
    lines.append('- iaff_resnet50, fastest path (%s) vs hybridized: %.2fx (target >= 2.0x): %s'
                 % (fastest, ratio, 'met' if ratio >= 2.0 else 'NOT met'))
    if ('iaff_resnet50', 'optimized') in get:
        ratio = get['iaff_resnet50', 'optimized']['img_per_s'] / hyb
        lines.append('- iaff_resnet50, optimized MXNet form vs hybridized: %.2fx '
                     '(target >= 1.3x): %s' % (ratio, 'met' if ratio >= 1.3 else 'NOT met'))
    for model, goal in (('aff_resnet50', 1.15), ('iaff_resnet50', 1.35)):
        over = get['resnet50_add', fastest]['img_per_s'] / get[model, fastest]['img_per_s']
        lines.append('- %s time vs resnet50_add on %s: %.2fx (target <= %.2fx): %s'
                     % (model, fastest, over, goal, 'met' if over <= goal else 'NOT met'))
    worst = max(r['max_rel_diff'] for r in results if r.get('max_rel_diff') is not None
                and r['path'] != 'mkldnn')
    lines.append('- largest output difference of imperative/hybridized/optimized/onnxruntime '
                 'vs the imperative network: %.1e of the logits\' max (target <= 1e-4)' % worst)
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--iters', type=int, default=30)
    p.add_argument('--out', default=os.path.join(HERE, 'results.md'))
    args = p.parse_args()
    paths = list(PATHS)
    # each group compares with its own baseline
    results = add_ratios(benchmark(IMAGENET, [1], paths, iters=args.iters, warmup=5),
                         IMAGENET[0])
    results += add_ratios(benchmark(CIFAR, [1], paths, iters=args.iters * 3, warmup=5),
                          CIFAR[0])
    import mxnet
    import onnx
    import onnxruntime
    ort_version = onnxruntime.__version__
    lines = ['# gluon-aff benchmarks', '',
             'Measured %s on %s (%d cores), Python %s, MXNet %s, onnx %s, onnxruntime %s. '
             'Batch 1, random weights, each path in its own process, warm-up excluded; '
             '"time vs" compares with resnet50_add (ImageNet, 224 px) or cifar_add_resnet32 '
             '(CIFAR, 32 px) on the same path.'
             % (datetime.date.today().isoformat(), cpu_model(), len(os.sched_getaffinity(0)),
                platform.python_version(), mxnet.__version__, onnx.__version__, ort_version),
             '', 'Command: `.venv/bin/python benchmarks/run_benchmarks.py --iters %d`' % args.iters,
             '', format_table(results, 'baseline', markdown=True), '', '## Targets', '']
    lines += targets(results)
    for optimized in (False, True):
        rows = profile('iaff_resnet50', optimized)
        lines += ['', '## Where iaff_resnet50 spends its time (%s path, MXNet profiler)'
                  % ('optimized' if optimized else 'hybridized'), '',
                  '| operator | share of operator time |', '|---|---|']
        lines += ['| %s | %.1f%% |' % (name, 100 * share) for name, share in rows[:10]]
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(results, f, indent=1)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
