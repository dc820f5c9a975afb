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

import mxnet as mx
import numpy as np

from ..core.layer_counts import LayerCount, format_table, totals  # noqa: F401 (re-exported)

__all__ = ['LayerCount', 'count_graph', 'attention_prefixes', 'format_table', 'totals']


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
