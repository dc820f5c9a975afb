"""Convolutions with their weights in oneDNN's own layout, and the ReLU and residual sum
that follow them computed inside them: the last step of ``optimize`` on the CPU.

PyTorch's eager ``Conv2d`` hands oneDNN a plain weight, which oneDNN reorders into its
blocked layout on every call (at batch 1, a quarter of a ResNet-50's time on an AVX-512
CPU). ``PackedConv2d`` reorders once and calls the operator ``torch.compile`` uses
for frozen convolutions (``mkldnn::_convolution_pointwise``), with its post-operations:
``relu(conv(x))``, ``conv(x) + other`` and ``relu(conv(x) + other)`` are one pass each.
"""
import collections
import operator

import torch
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

__all__ = ['PackedConv2d', 'prepack_available', 'prepack', 'module_calls', 'replace_module']

_RELU = {('call_method', 'relu'), ('call_method', 'relu_'), ('call_function', torch.relu),
         ('call_function', torch.relu_), ('call_function', torch.nn.functional.relu)}
_ADD = {('call_function', operator.add), ('call_function', torch.add),
        ('call_method', 'add'), ('call_method', 'add_')}
_SIGMOID = {('call_method', 'sigmoid'), ('call_method', 'sigmoid_'),
            ('call_function', torch.sigmoid), ('call_function', torch.sigmoid_)}


def prepack_available():
    """Whether this PyTorch has oneDNN and the prepacked-convolution operators."""
    return (torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkldnn, '_convolution_pointwise')
            and hasattr(torch.ops.mkldnn, '_reorder_convolution_weight'))


class PackedConv2d(nn.Module):
    """``post(conv(x) [+ other])`` with the weight in oneDNN's layout (inference only, CPU,
    float32). ``post``: 'none', 'relu' or 'sigmoid'; ``residual``: None, 'map' (``other``
    has the output's shape) or 'vector' (N x C x 1 x 1, an attention's global branch: at
    batch 1 it joins the bias, so that ``sigmoid(conv(x) + b + g)`` is one pass). oneDNN
    picks the weight's layout for ``input_size`` (N, C, H, W); other sizes run too, and
    slower (at batch 1 without it, twice as slow)."""

    def __init__(self, conv, input_size, post='none', residual=None):
        super().__init__()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size = conv.kernel_size
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        self.post, self.residual = post, residual
        weight = conv.weight.detach().contiguous()
        self.packed = torch.ops.mkldnn._reorder_convolution_weight(
            weight, self.padding, self.stride, self.dilation, self.groups, list(input_size))
        self.bias = torch.zeros(conv.out_channels) if conv.bias is None \
            else conv.bias.detach().clone()

    def _unary(self, x, bias, post):
        return torch.ops.mkldnn._convolution_pointwise(
            x, self.packed, bias, self.padding, self.stride, self.dilation, self.groups,
            post, [], '')

    def forward(self, x, other=None):
        if other is None:
            return self._unary(x, self.bias, self.post)
        if self.residual == 'vector' and x.shape[0] == 1:
            return self._unary(x, self.bias + other.reshape(-1), self.post)
        binary_post = self.post if self.residual == 'map' else 'none'
        y = torch.ops.mkldnn._convolution_pointwise.binary(
            x, other, self.packed, self.bias, self.padding, self.stride, self.dilation,
            self.groups, 'add', None, None if binary_post == 'none' else binary_post, [], None)
        if self.post != binary_post:
            y = torch.sigmoid_(y) if self.post == 'sigmoid' else torch.relu_(y)
        return y

    def extra_repr(self):
        return '%d, %d, kernel_size=%s, stride=%s, post=%s%s' % (
            self.in_channels, self.out_channels, tuple(self.kernel_size), tuple(self.stride),
            self.post, '' if self.residual is None else ', + ' + self.residual)


def _kind(node, modules):
    if node.op == 'call_module':
        return type(modules[node.target])
    return (node.op, node.target)


def _is_relu(node, modules):
    kind = _kind(node, modules)
    return kind in _RELU or kind is nn.ReLU


def prepack(net, example):
    """``net`` (eval mode, BatchNorms folded) as a ``torch.fx.GraphModule`` whose
    convolutions are ``PackedConv2d``, each taking the ReLU and the residual sum after
    it where nothing else reads its output. ``example``: an input, for the shapes (a sum
    is taken into a convolution only when both sides have the same shape)."""
    gm = torch.fx.symbolic_trace(net)
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):       # the folded BatchNorms' places
        if node.op == 'call_module' and type(modules[node.target]) is nn.Identity:
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
    gm.recompile()
    ShapeProp(gm).propagate(example)
    calls = module_calls(gm.graph)
    for node in list(gm.graph.nodes):
        if node.op != 'call_module' or type(modules[node.target]) is not nn.Conv2d \
                or calls[node.target] != 1 or modules[node.target].padding_mode != 'zeros':
            continue
        absorbed, other, residual, post = [], None, None, 'none'
        user = _single_user(node)
        if user is not None and _kind(user, modules) in _ADD and len(user.args) == 2 \
                and not user.kwargs:
            other = user.args[1] if user.args[0] is node else user.args[0]
            residual = _residual(node, other)
            if residual is not None:
                absorbed.append(user)
                user = _single_user(user)
        if user is not None and _is_relu(user, modules):
            post = 'relu'
        elif user is not None and residual != 'map' and _kind(user, modules) in _SIGMOID:
            post = 'sigmoid'
        if post != 'none':
            absorbed.append(user)
        replace_module(gm, node.target, PackedConv2d(modules[node.target],
                                                     _shape(node.args[0]), post, residual))
        if residual is not None:
            absorbed[0].prepend(node)        # after ``other``, which may come later
            node.args = (node.args[0], other)
        if absorbed:
            absorbed[-1].replace_all_uses_with(node)
            for gone in reversed(absorbed):
                gm.graph.erase_node(gone)
    gm.graph.lint()
    gm.recompile()
    return gm


def _residual(conv, other):
    """'map' or 'vector' when ``conv(x) + other`` can be one ``PackedConv2d``; else None."""
    if not isinstance(other, torch.fx.Node) or other is conv:
        return None
    shape, other_shape = _shape(conv), _shape(other)
    if shape is None or other_shape is None:
        return None
    if other_shape == shape:
        return 'map'
    if other_shape == shape[:2] + (1, 1):
        return 'vector'
    return None


def _single_user(node):
    return next(iter(node.users)) if len(node.users) == 1 else None


def _shape(node):
    meta = node.meta.get('tensor_meta')
    return None if meta is None else tuple(meta.shape)


def module_calls(graph):
    """How many times the traced ``graph`` calls each submodule (by path): a module called
    once is one place in the network, which a pass may rewrite."""
    return collections.Counter(n.target for n in graph.nodes if n.op == 'call_module')


def replace_module(root, path, module):
    """``root``'s submodule at ``path`` (dotted) becomes ``module`` (``set_submodule``
    before PyTorch 2.3)."""
    parent, _, name = path.rpartition('.')
    setattr(root.get_submodule(parent) if parent else root, name, module)
