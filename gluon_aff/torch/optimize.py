"""The twin's inference form (the MXNet side's ``gluon_aff.deploy.optimize``): the same
outputs within float32 rounding, less work.

``optimize(net)`` returns a copy of ``net`` in eval mode where

- every BatchNorm that reads a convolution's output (alone) is folded into it
  (``w' = w g / s``, ``b' = (b - mean) g / s + beta``, ``s = sqrt(var + eps)``, ``g = 1``
  for a fixed gamma);
- an attention's global branch (already computed on the pooled vector by the block's
  own forward, ``fusion.GlobalContext``) becomes two ``Linear`` layers with its
  BatchNorms folded in (``PooledMLP``);
- (AFF's and iAFF's blends are one ``torch.lerp`` each in every form: the blocks' own
  forward, ``gluon_aff.torch.fusion.blend``);
- the memory format is channels-last (oneDNN's own layout), unless ``channels_last=False``;
- on a CPU, the convolutions are prepacked and take the ReLU, residual sum and sigmoid
  after them (``packed_conv.py``; ``prepack=False`` keeps the module tree above, what
  ``torch.compile`` should be given).

For inference only (``torch.inference_mode``/``no_grad``). Equal to the network it came
from within 1e-5 of the logits on every name (``tests/torch_twin/test_optimize.py``).
"""
import copy

import torch
from torch import nn

from .fusion import GlobalContext
from .packed_conv import (module_calls, prepack as prepack_convolutions, prepack_available,
                          replace_module)

__all__ = ['optimize', 'fold_batchnorm', 'PooledMLP']


def _bn_scale_shift(bn):
    std = torch.sqrt(bn.running_var + bn.eps)
    gamma = torch.ones_like(bn.running_var) if getattr(bn, 'fix_gamma', False) else bn.weight
    scale = gamma / std
    return scale, bn.bias - bn.running_mean * scale


def fold_batchnorm(conv, bn):
    """A convolution computing ``bn(conv(x))`` (eval mode) in one."""
    scale, shift = _bn_scale_shift(bn)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                       conv.padding, conv.dilation, conv.groups, bias=True,
                       padding_mode=conv.padding_mode).to(conv.weight.device, conv.weight.dtype)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
        folded.bias.copy_(bias * scale + shift)
    return folded


class PooledMLP(nn.Module):
    """An attention's global branch on the pooled vector: the mean over the spatial axes,
    ``Linear``, ReLU, ``Linear`` (its norms folded in), as N x C x 1 x 1 (``dims`` ones)."""

    def __init__(self, fc1, fc2, dims=2):
        super().__init__()
        self.fc1, self.fc2 = fc1, fc2
        self.axes = list(range(2, 2 + dims))

    def forward(self, x):
        v = self.fc2(torch.relu(self.fc1(x.mean(self.axes))))
        for _ in self.axes:
            v = v.unsqueeze(-1)
        return v


def _folded_linear(conv, norm):
    """``norm(conv(v))`` on a pooled vector, ``conv`` 1x1, as one ``Linear``."""
    linear = nn.Linear(conv.in_channels, conv.out_channels).to(conv.weight.device,
                                                                 conv.weight.dtype)
    weight = conv.weight.reshape(conv.out_channels, conv.in_channels)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(weight[:, 0])
    if isinstance(norm, nn.BatchNorm2d):
        scale, shift = _bn_scale_shift(norm)
        weight, bias = weight * scale[:, None], bias * scale + shift
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    return linear


def _global_to_vector(branch):
    """A global branch (``GlobalContext`` with BatchNorm or no norm) as a ``PooledMLP``;
    None when ``branch`` is not one."""
    if not (isinstance(branch, GlobalContext) and branch.on_vector
            and all(branch[i].groups == 1 for i in (1, 4))):
        return None
    return PooledMLP(_folded_linear(branch[1], branch[2]),
                     _folded_linear(branch[4], branch[5]), branch.dims)


class _BatchNormLeaves(torch.fx.Tracer):
    """torch.fx's tracer, stopping at every BatchNorm (the twin's is a subclass)."""

    def is_leaf_module(self, m, qualname):
        return isinstance(m, nn.BatchNorm2d) or super().is_leaf_module(m, qualname)


def _fold_all(net):
    """Fold every BatchNorm that reads a convolution's output and nothing else does, wherever
    the two modules sit (found in the traced graph: a ResNet-D stem's last convolution and
    ``bn1``, a concatenation's projection and the next block part's BatchNorm). A module
    torch.fx cannot trace as a whole (a neck taking a dict of maps) is folded child by
    child."""
    try:
        graph = _BatchNormLeaves().trace(net)
    except (torch.fx.proxy.TraceError, TypeError, AttributeError, NotImplementedError):
        for child in net.children():
            _fold_all(child)
        return
    modules = dict(net.named_modules())
    calls = module_calls(graph)
    for node in graph.nodes:
        if node.op != 'call_module' or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        source = node.args[0]
        if (isinstance(source, torch.fx.Node) and source.op == 'call_module'
                and type(modules[source.target]) is nn.Conv2d and len(source.users) == 1
                and calls[source.target] == calls[node.target] == 1):
            replace_module(net, source.target, fold_batchnorm(modules[source.target],
                                                              modules[node.target]))
            replace_module(net, node.target, nn.Identity())


def optimize(net, channels_last=True, prepack=None, example=None):
    """The inference form of ``net`` (a twin network or block), a new module in eval mode;
    ``net`` itself is not changed.

    ``prepack`` (default: on a CPU whose PyTorch has oneDNN, for float32 weights): the
    result is a ``torch.fx.GraphModule`` whose convolutions keep their weights in oneDNN's
    layout and take the ReLU and residual sum after them (``packed_conv.py``): forward
    only, for eager inference; give ``torch.compile`` ``prepack=False`` (and
    ``torch._inductor.config.freezing = True``, which packs the same way). ``example``:
    an input of the shape the network will see (default: one image of its
    ``pretrained_cfg['input_size']``)."""
    out = copy.deepcopy(net).eval()
    for module in list(out.modules()):
        for name, child in list(module.named_children()):
            vector = _global_to_vector(child)
            if vector is not None:
                setattr(module, name, vector)
    _fold_all(out)
    if channels_last:
        out = out.to(memory_format=torch.channels_last)
    if prepack is None:
        weights = [p for p in out.parameters() if p.dim() == 4]
        prepack = prepack_available() and all(
            p.device.type == 'cpu' and p.dtype == torch.float32 for p in weights)
    if prepack:
        if example is None:
            size = getattr(net, 'pretrained_cfg', {}).get('input_size')
            if size is None:
                raise ValueError('optimize(prepack=True) needs an example input for %s (it '
                                 'has no pretrained_cfg input_size): pass example=...'
                                 % type(net).__name__)
            example = torch.zeros((1,) + tuple(size))
        if channels_last and example.dim() == 4:
            example = example.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            out = prepack_convolutions(out, example)
    return out
