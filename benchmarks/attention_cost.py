"""Where the attention's time goes: per-layer profiles of resnet50_add, aff_resnet50 and
iaff_resnet50 at batch 1 on ONNX Runtime (its profiler), OpenVINO (its performance
counters) and the PyTorch twin (torch.profiler), against the multiply-adds the attention
adds. Writes benchmarks/attention_cost.md.

    .venv/bin/python benchmarks/attention_cost.py [--runs 10] [--out FILE]

A node belongs to the attention when its name is inside a fusion block (``..._aff0_...``,
``..._iaff0_...``); the runtimes keep one of the fused nodes' names, so a convolution
fused with its BatchNorm is still found. Random weights, one process, warm-up excluded.
"""
import argparse
import collections
import datetime
import json
import os
import platform
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

MODELS = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
ATTENTION = re.compile(r'_i?aff\d+_')


def export(name, folder):
    """The ONNX file of ``name`` (random weights, seed 0), every node named after its
    output (the exporter leaves convolutions unnamed)."""
    import mxnet as mx
    import onnx
    from gluon_aff.deploy import export_onnx
    from gluon_aff.model_zoo import get_model
    from gluon_aff.utils.random_weights import randomize
    mx.random.seed(0)
    net = randomize(get_model(name), seed=0)
    path = os.path.join(folder, name + '.onnx')
    export_onnx(net, path, (1, 3, 224, 224))
    model = onnx.load(path)
    for node in model.graph.node:
        node.name = node.name or node.output[0]
    onnx.save(model, path)
    return path


def macs(name):
    from gluon_aff.model_zoo import get_model
    from gluon_aff.utils.flops import count_graph
    rows = count_graph(get_model(name), (1, 3, 224, 224))
    return sum(r.macs for r in rows), sum(r.macs for r in rows if r.attention)


def profile_ort(path, runs):
    """{node: (op type, mean ms per run)} and the mean ms of a whole run."""
    import numpy as np
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    plain = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = plain.get_inputs()[0].name
    for _ in range(3):
        plain.run(None, {name: x})
    start = time.perf_counter()
    for _ in range(runs):
        plain.run(None, {name: x})
    total = (time.perf_counter() - start) * 1000 / runs
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(os.path.dirname(path), 'ort')
    sess = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    for _ in range(3 + runs):
        sess.run(None, {name: x})
    events = json.load(open(sess.end_profiling()))
    nodes = collections.defaultdict(list)
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            nodes[e['name'][:-len('_kernel_time')]].append((e['args'].get('op_name'), e['dur']))
    # the last ``runs`` calls of each node (the first 3 are the warm-up)
    return {n: (v[0][0], sum(d for _, d in v[-runs:]) / 1000.0 / runs)
            for n, v in nodes.items()}, total


def profile_openvino(path, runs):
    import numpy as np
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(path), 'CPU', {
        # f32 explicitly: on a CPU with AMX OpenVINO would otherwise run an f32 model in bf16
        'PERF_COUNT': 'YES', 'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32',
        'INFERENCE_NUM_THREADS': len(os.sched_getaffinity(0))})
    request = compiled.create_infer_request()
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    for _ in range(3):
        request.infer([x])
    nodes = collections.defaultdict(float)
    types = {}
    start = time.perf_counter()
    for _ in range(runs):
        request.infer([x])
        for info in request.profiling_info:
            nodes[info.node_name] += info.real_time.total_seconds() * 1000
            types[info.node_name] = info.node_type
    total = (time.perf_counter() - start) * 1000 / runs
    return {n: (types[n], t / runs) for n, t in nodes.items() if t > 0}, total


def profile_torch(name, runs):
    """{op: mean ms per run} (self CPU time) and the mean ms of a whole run, eager."""
    import torch
    import gluon_aff.torch as twin
    torch.manual_seed(0)
    net = twin.get_model(name).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for _ in range(3):
            net(x)
        start = time.perf_counter()
        for _ in range(runs):
            net(x)
        total = (time.perf_counter() - start) * 1000 / runs
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                net(x)
    ops = {e.key: e.self_cpu_time_total / 1000.0 / runs for e in prof.key_averages()}
    return ops, total


def by_type(nodes, attention_only):
    out = collections.Counter()
    for node, (kind, ms) in nodes.items():
        if not attention_only or ATTENTION.search(node):
            out[kind] += ms
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--runs', type=int, default=10)
    p.add_argument('--out', default=os.path.join(HERE, 'attention_cost.md'))
    args = p.parse_args()
    import gluon_aff  # noqa: F401  (before mxnet)
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            print('profiling %s ...' % name, file=sys.stderr, flush=True)
            path = export(name, tmp)
            ort_nodes, ort_total = profile_ort(path, args.runs)
            ov_nodes, ov_total = profile_openvino(path, args.runs)
            torch_ops, torch_total = profile_torch(name, args.runs)
            results[name] = dict(macs=macs(name), ort=(ort_nodes, ort_total),
                                 openvino=(ov_nodes, ov_total), torch=(torch_ops, torch_total))
    base = results['resnet50_add']
    lines = ['# What the attention costs, layer by layer', '',
             'Measured %s by `benchmarks/attention_cost.py --runs %d` on %s (%d cores; flags: '
             '%s), Python %s; batch 1, 224 px, random weights, one process. "attention" is '
             'the time of the nodes inside the fusion blocks (by name), from ONNX Runtime\'s '
             'profiler and OpenVINO\'s performance counters; the whole-run times are measured '
             'without the profilers.' % (
                 datetime.date.today().isoformat(), args.runs, cpu_model(),
                 len(os.sched_getaffinity(0)),
                 flags_present(), platform.python_version()), '',
             '## Time against multiply-adds', '',
             '| network | MACs (G) | MACs vs add | attention share of MACs | path | ms per '
             'image | time vs add | profiled ms more than add | of which convolutions |',
             '|---|---|---|---|---|---|---|---|---|']
    for name in MODELS:
        total, att = results[name]['macs']
        for path in ('ort', 'openvino', 'torch'):
            nodes, ms = results[name][path]
            if path == 'torch':
                times = {k: (k, t) for k, t in nodes.items()}
                base_times = {k: (k, t) for k, t in base[path][0].items()}
                conv = lambda d: sum(t for k, (_, t) in d.items() if 'conv' in k)  # noqa
            else:
                times, base_times = nodes, base[path][0]
                conv = lambda d: sum(t for _, (k, t) in d.items() if k in ('Conv', 'Convolution'))  # noqa
            extra = sum(t for _, t in times.values()) - sum(t for _, t in base_times.values())
            lines.append('| %s | %.3f | %.3fx | %.1f%% | %s | %.1f | %.2fx | %+.1f | %+.1f |' % (
                name, total / 1e9, total / float(base['macs'][0]), 100.0 * att / total,
                {'ort': 'ONNX Runtime', 'openvino': 'OpenVINO f32', 'torch': 'PyTorch eager'}
                [path], ms, ms / base[path][1], extra, conv(times) - conv(base_times)))
    lines += ['', 'If time followed the multiply-adds, "time vs add" would equal "MACs vs add". '
              'The convolutions the attention adds (1x1, C -> C/16 -> C in stages 3 and 4, '
              'at every pixel and on the pooled vector) cost more than their share because '
              'their arithmetic '
              'intensity is low; the rest of the extra time is element-wise passes over full '
              'feature maps (the sums, the sigmoid, the blend, their layout reorders) that '
              'neither runtime fuses into the convolutions, and the global pooling.']
    for path, title in (('ort', 'ONNX Runtime'), ('openvino', 'OpenVINO f32')):
        note = (' (by node name; OpenVINO renames a convolution fused with its BatchNorm, so '
                'its convolutions are missing here: see the difference below)'
                if path == 'openvino' else ' (by node name)')
        lines += ['', '## %s: the attention nodes of iaff_resnet50 by kind%s' % (title, note), '',
                  '| node kind | ms per image | share of the attention time |', '|---|---|---|']
        kinds = by_type(results['iaff_resnet50'][path][0], True)
        all_att = sum(kinds.values()) or 1
        for kind, ms in kinds.most_common(12):
            lines.append('| %s | %.2f | %.0f%% |' % (kind, ms, 100 * ms / all_att))
        lines += ['', 'The whole network by kind (iaff_resnet50 minus resnet50_add, ms):', '',
                  '| node kind | resnet50_add | iaff_resnet50 | difference |', '|---|---|---|---|']
        a, b = by_type(base[path][0], False), by_type(results['iaff_resnet50'][path][0], False)
        for kind in sorted(set(a) | set(b), key=lambda k: -(b[k] - a[k]))[:10]:
            lines.append('| %s | %.2f | %.2f | %+.2f |' % (kind, a[kind], b[kind], b[kind] - a[kind]))
    lines += ['', '## PyTorch twin (eager): operators, iaff_resnet50 minus resnet50_add', '',
              '| operator | resnet50_add ms | iaff_resnet50 ms | difference |', '|---|---|---|---|']
    a, b = base['torch'][0], results['iaff_resnet50']['torch'][0]
    for op in sorted(set(a) | set(b), key=lambda k: -(b.get(k, 0) - a.get(k, 0)))[:10]:
        lines.append('| %s | %.2f | %.2f | %+.2f |' % (op, a.get(op, 0), b.get(op, 0),
                                                     b.get(op, 0) - a.get(op, 0)))
    text = '\n'.join(lines) + '\n'
    # keep the sections other benches write into this page: the physical account
    # (attention_bound.py) and the fused pair of maps (neck_cost.py)
    from attention_bound import BEGIN, END
    from neck_cost import PAIR_BEGIN, PAIR_END
    try:
        with open(args.out) as f:
            old = f.read()
    except OSError:
        old = ''
    for begin, end in ((BEGIN, END), (PAIR_BEGIN, PAIR_END)):
        if begin in old and end in old:
            text += '\n' + old[old.index(begin):old.index(end) + len(end)] + '\n'
    with open(args.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
