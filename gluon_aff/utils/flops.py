"""Multiply-adds and parameters counted from a network's own symbolic graph.

Every operator of ``net(mx.sym.var('data'))`` becomes a row with its output shape,
the parameters it reads and its multiply-adds: a convolution counts
``output elements x (input channels / groups) x kernel area``, a dense layer
``batch x inputs x outputs``; element-wise work, pooling and normalisation count 0
multiply-adds (they are listed, with their parameters). Rows inside fusion/attention
blocks (MS-CAM, AFF, iAFF and any registered fusion with parameters) are marked, so the
attention's share can be read off for any zoo network.
"""
import json
from collections import namedtuple

import mxnet as mx
import numpy as np

__all__ = ['LayerCount', 'count_graph', 'attention_prefixes', 'format_table']

LayerCount = namedtuple('LayerCount', ['name', 'op', 'shape', 'params', 'macs', 'attention'])


def attention_prefixes(net):
    """Name prefixes of the attention blocks inside ``net`` (their ops' names start so)."""
    from ..nn import MSCAM
    from ..nn.registry import fusion_classes
    kinds = tuple(fusion_classes()) + (MSCAM,)
    prefixes = []

    def visit(block):
        if isinstance(block, kinds) and list(block.collect_params().keys()):
            prefixes.append(block.prefix)
    net.apply(visit)
    return tuple(prefixes)


def count_graph(net, input_shape):
    """[LayerCount] for every operator of ``net`` on an input of ``input_shape`` (NCHW)."""
    out = net(mx.sym.var('data'))
    if isinstance(out, (list, tuple)):
        out = mx.sym.Group(list(out))
    internals = out.get_internals()
    arg_shapes, out_shapes, aux_shapes = internals.infer_shape(data=tuple(input_shape))
    shapes = dict(zip(internals.list_outputs(), out_shapes))
    shapes.update(zip(internals.list_arguments(), arg_shapes))
    shapes.update(zip(internals.list_auxiliary_states(), aux_shapes))
    nodes = json.loads(out.tojson())['nodes']
    marked = attention_prefixes(net)
    rows = []
    for node in nodes:
        if node['op'] == 'null':
            continue
        name, op, attrs = node['name'], node['op'], node.get('attrs', {})
        shape = shapes.get(name + '_output') or shapes.get(name + '_output0')
        inputs = [nodes[i[0]] for i in node['inputs']]
        params = sum(int(np.prod(shapes[n['name']])) for n in inputs
                     if n['op'] == 'null' and n['name'] != 'data')
        macs = 0
        if op == 'Convolution':
            weight = shapes[inputs[1]['name']]          # (out, in / groups, kh, kw)
            macs = int(np.prod(shape)) * int(np.prod(weight[1:]))
        elif op == 'FullyConnected':
            weight = shapes[inputs[1]['name']]          # (out, in)
            macs = int(shape[0]) * int(weight[0]) * int(weight[1])
        del attrs
        rows.append(LayerCount(name, op, tuple(shape) if shape else (), params, macs,
                               name.startswith(marked) if marked else False))
    return rows


def format_table(rows, title=None):
    """A text table of the rows and their totals."""
    lines = []
    if title:
        lines.append(title)
    header = ('layer', 'op', 'output shape', 'params', 'mult-adds', 'att')
    cells = [(r.name, r.op, 'x'.join(str(d) for d in r.shape), format(r.params, ','),
              format(r.macs, ','), '*' if r.attention else '') for r in rows]
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(len(header))]
    fmt = '  '.join('%%-%ds' % w if i < 3 else '%%%ds' % w for i, w in enumerate(widths))
    lines.append(fmt % header)
    lines.append(fmt % tuple('-' * w for w in widths))
    lines += [fmt % c for c in cells]
    total_params = sum(r.params for r in rows)
    total_macs = sum(r.macs for r in rows)
    att_macs = sum(r.macs for r in rows if r.attention)
    att_params = sum(r.params for r in rows if r.attention)
    lines.append('')
    lines.append('total: %s parameters (incl. BN statistics), %s multiply-adds (%.3f G)'
                 % (format(total_params, ','), format(total_macs, ','), total_macs / 1e9))
    lines.append('attention (rows marked *): %s parameters (%.1f%%), %s multiply-adds (%.1f%%)'
                 % (format(att_params, ','), 100.0 * att_params / max(total_params, 1),
                    format(att_macs, ','), 100.0 * att_macs / max(total_macs, 1)))
    return '\n'.join(lines)
