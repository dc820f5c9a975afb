"""A frozen inference form of a network that computes the same outputs, faster.

``optimize(net)`` traces the network with its fusion blocks in their inference
form (``X + (Y - X) * W``), folds every BatchNorm that directly follows a
convolution into that convolution's weights and bias, and returns the result as
a hybridized ``SymbolBlock`` (MXNet's MKLDNN subgraph backend when the build has
it). Load the checkpoint into the zoo network first, then optimize; the returned
block does not train (its BatchNorms are gone).
"""
import contextlib
import json
import warnings

import mxnet as mx
from mxnet.gluon import SymbolBlock

__all__ = ['optimize', 'inference_form', 'inference_symbol', 'fold_batchnorm', 'mkldnn_available']


def mkldnn_available():
    """Whether this MXNet build has the MKLDNN (oneDNN) subgraph backend."""
    from mxnet.runtime import Features
    return Features().is_enabled('MKLDNN')


@contextlib.contextmanager
def inference_form(net):
    """Within the ``with`` block, every fusion block of ``net`` computes its inference
    form (``X + (Y - X) * W``); restored afterwards."""
    changed = []

    def visit(block):
        if hasattr(type(block), 'inference_form'):
            changed.append((block, block.inference_form))
            block.inference_form = True
    net.apply(visit)
    try:
        yield net
    finally:
        for block, value in changed:
            block.inference_form = value


def inference_symbol(net):
    """``(symbol, params)`` of ``net`` with the fusion blocks in their inference form.

    ``params`` maps every variable name of the symbol but 'data' to its NDArray
    (weights and BatchNorm statistics alike). ``net`` itself is left unchanged.
    """
    with inference_form(net):
        out = net(mx.sym.var('data'))
    sym = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    params = {p.name: p.data() for p in net.collect_params().values()}
    needed = set(sym.list_arguments()) | set(sym.list_auxiliary_states())
    return sym, {k: v for k, v in params.items() if k in needed}


_ACTIVATION_OPS = ('relu', 'sigmoid')


def _bool(attr):
    return str(attr).lower() in ('true', '1')


def fold_batchnorm(sym, params):
    """Rewrite the inference graph's BatchNorms; returns ``(symbol, params, n_folded)``.

    - A ``Convolution -> BatchNorm`` pair whose convolution output feeds that
      BatchNorm only (channel axis 1) becomes one biased convolution. With
      ``s = gamma / sqrt(var + eps)`` (gamma = 1 under fix_gamma):
      ``W' = W * s`` per output channel, ``b' = (b - mean) * s + beta``.
    - A BatchNorm fed by a convolution whose output is also used elsewhere (the
      CIFAR ResNet's stem output feeds both the first block's BN and its shortcut)
      becomes ``x * s + (beta - mean * s)``: MXNet 1.9.1's MKLDNN backend fuses
      such a pair anyway and then computes the shortcut from the normalised map
      (measured: outputs off by 40% of the logits' scale).
    - ``relu``/``sigmoid`` become the ``Activation`` operator, which MKLDNN runs
      with oneDNN's vectorised kernels and fuses into a preceding convolution.
    ``params`` is not modified; the returned dict holds the new weights.
    """
    graph = json.loads(sym.tojson())
    nodes = graph['nodes']
    users = {}
    for i, node in enumerate(nodes):
        for src in node['inputs']:
            users.setdefault(src[0], []).append((i, src[1]))
    for head in graph['heads']:
        users.setdefault(head[0], []).append((None, head[1]))

    params = dict(params)
    fold, affine = {}, set()        # conv id -> bn id; ids of BNs made affine
    for i, node in enumerate(nodes):
        if node['op'] != 'BatchNorm' or int(node.get('attrs', {}).get('axis', 1)) != 1:
            continue
        if any(o != 0 for _, o in users.get(i, [])):
            continue                # someone reads the batch mean/var outputs
        src = node['inputs'][0][0]
        conv = nodes[src]
        if conv['op'] != 'Convolution' or conv.get('attrs', {}).get('layout', 'NCHW') != 'NCHW':
            continue
        if users.get(src) == [(i, 0)]:
            fold[src] = i
        else:
            affine.add(i)

    new_nodes, remap = [], {}
    for i, node in enumerate(nodes):
        if i in fold.values():
            continue                # its consumers now read the folded convolution
        node = dict(node, inputs=[[remap[s[0]], s[1], s[2]] for s in node['inputs']])
        if i in fold:
            node = _fold_pair(node, nodes[fold[i]], nodes, params, new_nodes)
            remap[fold[i]] = len(new_nodes)
        elif i in affine:
            node = _affine_batchnorm(node, nodes, params, new_nodes)
        elif node['op'] in _ACTIVATION_OPS:
            node = dict(node, op='Activation', attrs={'act_type': node['op']})
        remap[i] = len(new_nodes)
        new_nodes.append(node)
    graph['nodes'] = new_nodes
    graph['arg_nodes'] = [i for i, n in enumerate(new_nodes) if n['op'] == 'null']
    graph['heads'] = [[remap[h[0]], h[1], h[2]] for h in graph['heads']]
    graph.pop('node_row_ptr', None)
    folded = mx.sym.load_json(json.dumps(graph))
    needed = set(folded.list_arguments()) | set(folded.list_auxiliary_states())
    return folded, {k: v for k, v in params.items() if k in needed}, len(fold)


def _bn_scale_shift(bn, nodes, params):
    """(s, beta - mean * s) of a BatchNorm node in inference mode, as float64 NDArrays.

    The arithmetic stays in NDArray operations on purpose: copying large arrays to
    NumPy from the main thread (asnumpy) left MXNet's threaded engine about 2x slower
    for the rest of the process here (an OpenMP pool of the main thread competing
    with the engine's)."""
    attrs = bn.get('attrs', {})
    gamma, beta, mean, var = (params[nodes[src[0]]['name']].astype('float64')
                              for src in bn['inputs'][1:5])
    if _bool(attrs.get('fix_gamma', 'True')):
        gamma = mx.nd.ones_like(gamma)
    scale = gamma / mx.nd.sqrt(var + float(attrs.get('eps', 1e-3)))
    return scale, beta - mean * scale


def _add_variable(new_nodes, params, name, value, dtype):
    params[name] = value.astype(dtype)
    new_nodes.append({'op': 'null', 'name': name, 'inputs': []})
    return [len(new_nodes) - 1, 0, 0]


def _affine_batchnorm(bn, nodes, params, new_nodes):
    """``x * s + t`` in place of a BatchNorm (``bn`` has its data input remapped)."""
    scale, shift = _bn_scale_shift(bn, nodes, params)
    dtype = params[nodes[bn['inputs'][1][0]]['name']].dtype
    shape = (1, -1, 1, 1)
    s = _add_variable(new_nodes, params, bn['name'] + '_scale', scale.reshape(shape), dtype)
    t = _add_variable(new_nodes, params, bn['name'] + '_shift', shift.reshape(shape), dtype)
    new_nodes.append({'op': 'broadcast_mul', 'name': bn['name'] + '_mul',
                      'inputs': [bn['inputs'][0], s]})
    return {'op': 'broadcast_add', 'name': bn['name'] + '_add',
            'inputs': [[len(new_nodes) - 1, 0, 0], t]}


def _fold_pair(conv, bn, nodes, params, new_nodes):
    """The folded convolution node (its inputs already remapped); writes the new
    weight/bias into ``params``, adding a bias variable when the convolution had none."""
    scale, shift = _bn_scale_shift(bn, nodes, params)
    weight_name = new_nodes[conv['inputs'][1][0]]['name']
    dtype = params[weight_name].dtype
    weight = params[weight_name].astype('float64')
    attrs = dict(conv.get('attrs', {}))
    if _bool(attrs.get('no_bias', 'False')):
        zeros = mx.nd.zeros((weight.shape[0],), dtype='float64')
        bias_input = _add_variable(new_nodes, params, conv['name'] + '_folded_bias', zeros, dtype)
        conv = dict(conv, inputs=conv['inputs'][:2] + [bias_input])
        attrs['no_bias'] = 'False'
    bias_name = new_nodes[conv['inputs'][2][0]]['name']
    bias = params[bias_name].astype('float64')
    params[weight_name] = (weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))).astype(dtype)
    params[bias_name] = (bias * scale + shift).astype(dtype)
    return dict(conv, attrs=attrs)


def optimize(net, backend='auto', fold_bn=True):
    """The frozen inference form of ``net`` (weights as loaded now).

    Parameters
    ----------
    net : HybridBlock
        A zoo network (or any HybridBlock taking one input 'data') with its
        weights loaded, e.g. ``get_model('iaff_resnet50', pretrained=True)``.
    backend : str or None, default 'auto'
        Subgraph backend for ``hybridize``: 'auto' picks 'MKLDNN' when this build
        has it, None uses MXNet's plain executor.
    fold_bn : bool, default True
        Fold BatchNorms into the preceding convolutions.

    Returns
    -------
    SymbolBlock, hybridized with static_alloc/static_shape. Outputs equal the
    network's in inference mode (to float rounding).
    """
    sym, params = inference_symbol(net)
    if fold_bn:
        sym, params, _ = fold_batchnorm(sym, params)
    with warnings.catch_warnings():      # "Cannot decide type for ... data": it is float32
        warnings.simplefilter('ignore', UserWarning)
        block = SymbolBlock(sym, mx.sym.var('data'))
    ctx = next(iter(params.values())).context if params else mx.cpu()
    block.collect_params().load_dict(params, ctx=ctx)
    if backend == 'auto':
        backend = 'MKLDNN' if mkldnn_available() else None
    block.hybridize(static_alloc=True, static_shape=True, backend=backend)
    return block
