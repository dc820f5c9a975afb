"""Multiply-adds and parameters of a twin network, layer by layer, with the MXNet side's
rules (``gluon_aff.utils.flops``): a convolution counts ``output elements x (input
channels / groups) x kernel area``, a linear layer ``batch x inputs x outputs``;
element-wise work, pooling and normalisation count 0; parameters include BatchNorm
statistics; layers inside a fusion module are marked as the attention's."""
import torch
from torch import nn

from ..core.layer_counts import LayerCount, format_table, totals  # noqa: F401 (re-exported)
from .fusion import GlobalContext, MultiAFF

__all__ = ['LayerCount', 'count_layers', 'totals', 'format_table']


def _attention_paths(net):
    return tuple(name + '.' for name, m in net.named_modules()
                 if name and (hasattr(type(m), 'fusion_name') or isinstance(m, MultiAFF))
                 and any(True for _ in m.parameters()))


def count_layers(net, input_shape):
    """[LayerCount] for every leaf module ``net`` runs on a zero input of ``input_shape``
    (NCHW), in the order they run."""
    rows, hooks = [], []
    attention = _attention_paths(net)

    def hook(name):
        def record(module, inputs, output):
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
            params = sum(t.numel() for k, t in module.state_dict().items()
                         if not k.endswith('num_batches_tracked'))
            macs = 0
            if isinstance(module, nn.modules.conv._ConvNd):
                macs = output.numel() * module.weight[0].numel()
            elif isinstance(module, nn.Linear):
                macs = output.numel() * module.in_features
            rows.append(LayerCount(name, type(module).__name__, shape, params, macs,
                                   (name + '.').startswith(attention) if attention else False))
        return record
    def vector_hook(name):
        # a global branch computed on the pooled vector calls none of its layers: one row
        # per layer, a point-wise convolution counting ``batch x inputs x outputs``
        def record(module, inputs, output):
            ones = (1,) * module.dims
            current = output.new_zeros((output.shape[0], module[1].in_channels) + ones)
            for child_name, child in module.named_children():
                if isinstance(child, nn.modules.conv._ConvNd):
                    current = output.new_zeros((output.shape[0], child.out_channels) + ones)
                hook('%s.%s' % (name, child_name))(child, None, current)
        return record
    vectors = tuple(name + '.' for name, m in net.named_modules()
                    if isinstance(m, GlobalContext) and m.on_vector)
    for name, module in net.named_modules():
        if name + '.' in vectors:
            hooks.append(module.register_forward_hook(vector_hook(name)))
        elif name and not list(module.children()) and not name.startswith(vectors or ('\0',)):
            hooks.append(module.register_forward_hook(hook(name)))
    was = net.training
    net.eval()
    try:
        weight = next(net.parameters())
        with torch.no_grad():
            net(torch.zeros(input_shape, dtype=weight.dtype, device=weight.device))
    finally:
        net.train(was)
        for h in hooks:
            h.remove()
    return rows
