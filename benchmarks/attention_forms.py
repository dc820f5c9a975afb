"""Does writing the fusion blocks in another, equal form make ONNX Runtime and OpenVINO run
them faster? Rewrites the exported ONNX graph of aff_resnet50 and iaff_resnet50 (batch 1,
random weights) in each form below, checks that every form computes what the exported graph
computes, and times them against resnet50_add, interleaved in one process. Writes
benchmarks/attention_forms.md.

    .venv/bin/python benchmarks/attention_forms.py [--runs 15] [--threads 1] [--out FILE]

Forms (each exact up to float rounding):
- exported: what ``gluon_aff.deploy.export_onnx`` writes (``X + (Y - X) * W``).
- blocked-layout: ``Y - X`` as ``Y + X * (-1)`` and ``2 * Z`` as ``Z * 2``, both with a
  per-channel constant. ONNX Runtime keeps a network in its blocked NCHWc layout only
  through Add/Mul/Sigmoid with per-channel operands; a Sub or a scalar constant sends the
  main path back to NCHW around every fusion block (ReorderInput/ReorderOutput nodes).
- global-bias: BatchNorms folded into the convolutions, then the global term ``g`` added
  to the bias of the local branch's last convolution (``L + g`` in one node; batch 1 only),
  so that the runtime can fuse that convolution with the sigmoid.
- global-gemm: BatchNorms folded, the global branch's 1x1 convolutions on the pooled vector
  written as Gemm (matrix products) on a flat vector.
"""
import argparse
import datetime
import os
import platform
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

NETWORKS = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']


class Graph(object):
    """An ONNX model with lookups: initializers as arrays, producer and users of a tensor."""

    def __init__(self, model):
        self.model, self.graph = model, model.graph
        self.refresh()

    def refresh(self):
        from onnx import numpy_helper
        self.inits = {i.name: i for i in self.graph.initializer}
        self.array = lambda name: numpy_helper.to_array(self.inits[name])
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.users = {}
        for n in self.graph.node:
            for i in n.input:
                self.users.setdefault(i, []).append(n)

    def constant(self, name, value):
        from onnx import numpy_helper
        self.graph.initializer.append(numpy_helper.from_array(value, name))
        self.inits[name] = self.graph.initializer[-1]
        return name

    def op(self, tensor):
        node = self.producer.get(tensor)
        return node.op_type if node is not None else None

    def shapes(self):
        from onnx import shape_inference
        inferred = shape_inference.infer_shapes(self.model).graph
        return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in list(inferred.value_info) + list(inferred.input)}

    def rename_uses(self, old, new):
        for n in self.graph.node:
            for k, name in enumerate(n.input):
                if name == old:
                    n.input[k] = new

    def set_nodes(self, nodes):
        """Replace the node list, in an order where every input exists before its use."""
        ready = {i.name for i in self.graph.input} | set(self.inits) | {''}
        ordered, pending = [], list(nodes)
        while pending:
            left = []
            for n in pending:
                if all(i in ready for i in n.input):
                    ordered.append(n)
                    ready.update(n.output)
                else:
                    left.append(n)
            if len(left) == len(pending):
                raise ValueError('the rewritten graph has a cycle or a missing input: %s'
                                 % left[0].name)
            pending = left
        del self.graph.node[:]
        self.graph.node.extend(ordered)
        self.refresh()


def fold_batchnorm(model):
    """Every Conv -> BatchNormalization pair whose convolution feeds only the BatchNorm
    becomes one convolution with a bias: ``W' = W * s``, ``b' = (b - mean) * s + beta``,
    ``s = scale / sqrt(var + eps)``."""
    g = Graph(model)
    keep = []
    for n in g.graph.node:
        conv = g.producer.get(n.input[0]) if n.op_type == 'BatchNormalization' else None
        if conv is None or conv.op_type != 'Conv' or len(g.users[n.input[0]]) != 1:
            keep.append(n)
            continue
        eps = next((a.f for a in n.attribute if a.name == 'epsilon'), 1e-5)
        scale, beta, mean, var = (g.array(x).astype(np.float64) for x in n.input[1:5])
        s = scale / np.sqrt(var + eps)
        weight = g.array(conv.input[1]).astype(np.float64)
        bias = g.array(conv.input[2]).astype(np.float64) if len(conv.input) > 2 else 0.0
        w_name, b_name = conv.name + '_folded_weight', conv.name + '_folded_bias'
        g.constant(w_name, (weight * s.reshape(-1, 1, 1, 1)).astype(np.float32))
        g.constant(b_name, ((bias - mean) * s + beta).astype(np.float32))
        del conv.input[1:]
        conv.input.extend([w_name, b_name])
        g.rename_uses(n.output[0], conv.output[0])
        for out in g.graph.output:
            if out.name == n.output[0]:
                out.name = conv.output[0]
    g.set_nodes(keep)
    return _drop_unused(model)


def _drop_unused(model):
    used = {i for n in model.graph.node for i in n.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def blocked_layout(model):
    """``Sub(y, x)`` of two equal 4-D shapes -> ``Add(y, Mul(x, -1_c))``; ``Mul(z, k)`` with a
    scalar constant ``k`` -> ``Mul(z, k_c)``; ``_c`` a (1, C, 1, 1) constant."""
    from onnx import helper
    g = Graph(model)
    shapes = g.shapes()
    nodes = []
    for n in g.graph.node:
        a_shape = shapes.get(n.input[0], []) if n.input else []
        if n.op_type == 'Sub' and len(a_shape) == 4 and shapes.get(n.input[1]) == a_shape:
            neg = g.constant(n.name + '_minus_one', -np.ones((1, a_shape[1], 1, 1), np.float32))
            nodes.append(helper.make_node('Mul', [n.input[1], neg], [n.name + '_negated'],
                                          name=n.name + '_negated'))
            nodes.append(helper.make_node('Add', [n.input[0], n.name + '_negated'],
                                          list(n.output), name=n.name))
            continue
        if (n.op_type == 'Mul' and len(a_shape) == 4 and n.input[1] in g.inits
                and g.array(n.input[1]).size == 1):
            k = float(g.array(n.input[1]).reshape(()))
            n.input[1] = g.constant(n.name + '_per_channel',
                                    np.full((1, a_shape[1], 1, 1), k, np.float32))
        nodes.append(n)
    g.set_nodes(nodes)
    return _drop_unused(model)


def _local_and_global(g, add):
    """(local convolution, global term) of a fusion block's ``L + g`` Add, or None."""
    if add.op_type != 'Add' or 'broadcast_add' not in add.name:
        return None
    local, glob = add.input
    if g.op(local) != 'Conv':
        return None
    return g.producer[local], glob


def global_as_bias(model):
    """``Conv(h, W, b) + g`` -> ``Conv(h, W, b + reshape(g, [C]))`` (batch 1 only; run after
    fold_batchnorm so that the local branch ends in a convolution)."""
    from onnx import helper
    g = Graph(model)
    nodes = []
    for n in g.graph.node:
        pair = _local_and_global(g, n)
        if pair is None:
            nodes.append(n)
            continue
        conv, glob = pair
        flat, bias = n.name + '_flat', n.name + '_bias'
        shape = g.constant(n.name + '_shape', np.array([-1], np.int64))
        nodes.append(helper.make_node('Reshape', [glob, shape], [flat], name=flat))
        nodes.append(helper.make_node('Add', [conv.input[2], flat], [bias], name=bias))
        conv.input[2] = bias
        g.rename_uses(n.output[0], conv.output[0])
    g.set_nodes(nodes)
    return model


def global_as_gemm(model):
    """GlobalAveragePool -> Conv -> Relu -> Conv (the folded global branch) -> Flatten ->
    Gemm -> Relu -> Gemm -> Reshape to (N, C, 1, 1)."""
    from onnx import helper
    g = Graph(model)
    pooled = {n.output[0] for n in g.graph.node if n.op_type == 'GlobalAveragePool'}
    nodes = []
    for n in g.graph.node:
        first = n.op_type == 'Conv' and n.input[0] in pooled
        second = (n.op_type == 'Conv' and g.op(n.input[0]) == 'Relu'
                  and g.producer[n.input[0]].input[0] in g.producer
                  and g.op(g.producer[n.input[0]].input[0]) == 'Conv'
                  and g.producer[g.producer[n.input[0]].input[0]].input[0] in pooled)
        if not (first or second):
            nodes.append(n)
            continue
        weight = g.array(n.input[1])
        w2d = g.constant(n.name + '_matrix', weight.reshape(weight.shape[0], -1))
        if first:
            flat = n.input[0] + '_flat'
            nodes.append(helper.make_node('Flatten', [n.input[0]], [flat], name=flat, axis=1))
            nodes.append(helper.make_node('Gemm', [flat, w2d, n.input[2]], list(n.output),
                                          name=n.name, transB=1))
        else:
            vector = n.output[0] + '_vector'
            nodes.append(helper.make_node('Gemm', [n.input[0], w2d, n.input[2]], [vector],
                                          name=n.name, transB=1))
            shape = g.constant(n.name + '_shape', np.array([0, -1, 1, 1], np.int64))
            nodes.append(helper.make_node('Reshape', [vector, shape], list(n.output),
                                          name=n.name + '_reshape'))
    g.set_nodes(nodes)
    return _drop_unused(model)


FORMS = [
    ('exported', lambda m: m),
    ('blocked-layout', blocked_layout),
    ('global-bias', lambda m: global_as_bias(fold_batchnorm(m))),
    ('global-gemm', lambda m: global_as_gemm(fold_batchnorm(m))),
]


def ort_runner(path, threads, x, optimized):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.optimized_model_filepath = optimized
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: x})[0]


def ov_runner(path, threads, x):
    import openvino as ov
    compiled = ov.Core().compile_model(path, 'CPU', {
        'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32',
        'INFERENCE_NUM_THREADS': threads})
    request = compiled.create_infer_request()
    return lambda: request.infer([x])[compiled.output(0)].copy()


def reorders(optimized):
    import onnx
    return sum(n.op_type in ('ReorderInput', 'ReorderOutput')
               for n in onnx.load(optimized).graph.node)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--runs', type=int, default=15)
    p.add_argument('--threads', type=int, default=1,
                   help='threads per runtime (default 1: on a shared 2-core machine the '
                        'two-thread times of the same graph varied by 20%% between runs)')
    p.add_argument('--out', default=os.path.join(HERE, 'attention_forms.md'))
    args = p.parse_args()
    import onnx
    import gluon_aff  # noqa: F401  (before mxnet)
    from attention_cost import export
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    runners, info = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in NETWORKS:
            print('exporting %s ...' % name, file=sys.stderr, flush=True)
            exported = export(name, tmp)
            for form, rewrite in FORMS if name != 'resnet50_add' else FORMS[:1]:
                path = os.path.join(tmp, '%s-%s.onnx' % (name, form))
                model = rewrite(onnx.load(exported))
                onnx.checker.check_model(model)
                onnx.save(model, path)
                optimized = path + '.ort.onnx'
                runners[(name, form, 'ort')] = ort_runner(path, args.threads, x, optimized)
                runners[(name, form, 'ov')] = ov_runner(path, args.threads, x)
                info[(name, form)] = reorders(optimized)
        outputs = {key: run() for key, run in runners.items()}
        times = {key: [] for key in runners}
        print('timing %d rounds ...' % args.runs, file=sys.stderr, flush=True)
        for _ in range(args.runs):
            for key, run in runners.items():
                start = time.perf_counter()
                run()
                times[key].append((time.perf_counter() - start) * 1000)
    lines = ['# Equal forms of the attention, timed', '',
             'Measured %s by `benchmarks/attention_forms.py --runs %d --threads %d` on %s '
             '(flags: %s), Python %s; batch 1, 224 px, random weights; every graph timed '
             'in turn within each round, %d rounds in one process. ms: fastest round '
             '(median in brackets); "vs add": fastest against resnet50_add\'s fastest. "max '
             'difference": largest output difference to the exported graph on the same '
             'runtime, relative to the largest output. See the script\'s docstring for the '
             'forms.' % (datetime.date.today().isoformat(), args.runs, args.threads,
                         cpu_model(), flags_present(), platform.python_version(), args.runs),
             '',
             '| network | form | ONNX Runtime reorder nodes | ONNX Runtime ms | vs add | '
             'OpenVINO f32 ms | vs add | max difference |', '|---|---|---|---|---|---|---|---|']
    base = {rt: min(times[('resnet50_add', 'exported', rt)]) for rt in ('ort', 'ov')}
    for (name, form), count in info.items():
        cells = []
        diff = 0.0
        for rt in ('ort', 'ov'):
            t = times[(name, form, rt)]
            cells.append('%.1f (%.1f) | %.3fx' % (min(t), float(np.median(t)), min(t) / base[rt]))
            ref = outputs[(name, 'exported', rt)]
            diff = max(diff, float(np.abs(outputs[(name, form, rt)] - ref).max()
                                   / np.abs(ref).max()))
        lines.append('| %s | %s | %d | %s | %.1e |' % (name, form, count, ' | '.join(cells), diff))
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
