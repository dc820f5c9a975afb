"""The few layers whose MXNet meaning PyTorch's own do not have out of the box, and the
small pieces every family shares (stochastic depth, the FPN's upsampling)."""
from typing import List

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

__all__ = ['BatchNorm2d', 'BatchNorm1d', 'BatchNorm3d', 'AvgPoolDown', 'GlobalAvgPool',
           'spatial_mean',
           'DropPath', 'drop_path_rates', 'upsample_like', 'tracing_or_compiling']


def tracing_or_compiling():
    """Whether inputs are being traced or compiled (torch.jit.trace, torch.fx, export,
    torch.compile): the eager-only checks on them step aside then."""
    return (torch.compiler.is_compiling() or torch.jit.is_tracing()
            or torch.fx._symbolic_trace.is_fx_symbolic_tracing())


class BatchNorm2d(nn.BatchNorm2d):
    """MXNet's ``gluon.nn.BatchNorm`` in PyTorch.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta``; in training mode ``mean`` and
    ``var`` are the batch's (``var`` biased, divided by N), in eval mode the running ones.

    Where the frameworks differ and how this layer follows MXNet:

    - running statistics: ``running = momentum * running + (1 - momentum) * batch`` with
      MXNet's ``momentum=0.9``; PyTorch's ``momentum=0.1`` is the weight of the batch, the
      same update, but PyTorch folds the *unbiased* variance into ``running_var`` and
      MXNet the biased one. This layer updates the statistics itself, with the biased one;
    - MXNet updates them in the backward pass, PyTorch (and this layer) in the forward: a
      forward and backward in training mode leaves the same statistics in both. MXNet
      runs no backward for a layer none of whose inputs needs a gradient, so such a layer
      never updates its statistics: the CIFAR hosts' input BatchNorm, whose gamma and beta
      are fixed, keeps mean 0 and variance 1 through training. ``update_stats=False``
      says so for that layer (fine-tuning may turn it on); every other layer updates its
      statistics in a training-mode forward with gradients enabled;
    - ``fix_gamma`` (MXNet's ``scale=False``): gamma is used as 1 whatever is stored;
      ``center=False``: beta is not trained but is still added, as MXNet does. A value the
      original keeps fixed is a buffer here, not a Parameter (every Parameter is trained),
      under the same state-dict key;
    - ``use_global_stats``: the running statistics are used in training mode too;
    - one value per channel in training (an attention's global branch at batch size 1:
      one pooled vector): a batch has no variance to normalise by (PyTorch's own
      BatchNorm raises, MXNet's gives ``beta`` and pulls the running variance towards 0),
      so this layer normalises it with the running statistics, as in eval mode, and leaves
      them as they are. Larger batches are unchanged.

    ``BatchNorm1d`` and ``BatchNorm3d`` are the same layer for N x C x L and N x C x D x H x W
    (the fusion blocks' ``dims=1`` and ``dims=3``).

    Names are PyTorch's (``weight``, ``bias``); an MXNet checkpoint's ``gamma``/``beta``
    map onto them (``gluon_aff.torch.pretrained``).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.9, fix_gamma=False, center=True,
                 use_global_stats=False, update_stats=True):
        super().__init__(num_features, eps=eps, momentum=1.0 - momentum)
        self.fix_gamma = fix_gamma
        self.use_global_stats = use_global_stats
        self.update_stats = update_stats
        self.batch_weight = 1.0 - momentum      # a float for TorchScript (momentum may be None)
        for name, fixed in (('weight', fix_gamma), ('bias', not center)):
            if fixed:
                value = getattr(self, name).detach().clone()
                delattr(self, name)
                self.register_buffer(name, value)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # MXNet's order (gamma, beta, running_mean, running_var) whichever are buffers
        for name in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'):
            value = self._parameters.get(name, self._buffers.get(name))
            if value is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = value if keep_vars else value.detach()

    @staticmethod
    def _one_value_per_channel(x: torch.Tensor) -> bool:
        if torch.jit.is_scripting():
            return x.numel() == x.shape[1]
        # torch.fx traces a training-mode network with symbolic shapes: no branch on them
        return (not torch.fx._symbolic_trace.is_fx_symbolic_tracing()
                and x.numel() == x.shape[1])

    def forward(self, x):
        weight = torch.ones_like(self.weight) if self.fix_gamma else self.weight
        if not self.training or self.use_global_stats or self._one_value_per_channel(x):
            return F.batch_norm(x, self.running_mean, self.running_var, weight, self.bias,
                                False, 0.0, self.eps)
        if self.update_stats and torch.is_grad_enabled():
            # the batch's statistics from the one pass that normalises: buffers that take
            # them whole (momentum 1), PyTorch's variance unbiased, MXNet's biased
            mean = torch.zeros_like(self.running_mean)
            var = torch.zeros_like(self.running_var)
            out = F.batch_norm(x, mean, var, weight, self.bias, True, 1.0, self.eps)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.batch_weight)
                self.running_var.lerp_(var * ((n - 1) / n), self.batch_weight)
                self.num_batches_tracked.add_(1)
            return out
        return F.batch_norm(x, None, None, weight, self.bias, True, 0.0, self.eps)


class BatchNorm1d(BatchNorm2d):
    """``BatchNorm2d`` (MXNet's BatchNorm) for N x C x L maps."""


class BatchNorm3d(BatchNorm2d):
    """``BatchNorm2d`` (MXNet's BatchNorm) for N x C x D x H x W maps."""


class AvgPoolDown(nn.AvgPool2d):
    """MXNet's ``AvgPool2D(k, k, ceil_mode=True, count_include_pad=False)``: a window cut
    by the border averages the pixels it holds (the projection shortcuts' pooling)."""

    def __init__(self, stride):
        super().__init__(stride, stride, ceil_mode=True, count_include_pad=False)


def spatial_mean(x, axes: List[int], keepdim: bool = False):
    """The mean of ``x`` over ``axes``, computed as their sum over their size: the same
    value, but its gradient is the pooled one broadcast (a view) where ``mean``'s is a new
    NCHW map. In a channels-last network that map met the other branch's channels-last
    gradient, their sum took the NCHW layout, and the kernels behind it (BatchNorm's
    backward above all, five times slower) took their mixed-layout path."""
    size = 1
    for axis in axes:
        size *= x.shape[axis]
    return x.sum(axes, keepdim=keepdim) / size


class GlobalAvgPool(nn.Module):
    """MXNet's ``GlobalAvgPool2D``: N x C x H x W -> N x C x 1 x 1 (``dims=1``: N x C x L ->
    N x C x 1; ``dims=3``: N x C x D x H x W -> N x C x 1 x 1 x 1); ``spatial_mean``."""

    def __init__(self, dims=2):
        super().__init__()
        self.axes: List[int] = list(range(2, 2 + dims))

    def forward(self, x):
        return spatial_mean(x, self.axes, True)


class DropPath(nn.Module):
    """Stochastic depth of a residual branch (timm's ``DropPath``): in training, each
    sample's ``x`` is zeroed with probability ``rate`` and the others scaled by
    ``1 / (1 - rate)``; identity in eval mode. A block ``z = fuse(y, x)`` applies it as
    ``x + DropPath(z - x)``: timm's ``x + DropPath(y)`` for addition, and for a fusing
    block the whole change it makes is dropped."""

    def __init__(self, rate):
        super().__init__()
        self.rate = float(rate)

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = torch.empty([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device)
        return x * mask.bernoulli_(keep).div_(keep)

    def extra_repr(self):
        return 'rate=%g' % self.rate


def drop_path_rates(blocks, rate):
    """timm's ResNet rule: block i of ``blocks`` drops its branch with probability
    ``rate * i / (blocks - 1)``."""
    if blocks <= 1:
        return [0.0] * blocks
    return [rate * i / (blocks - 1) for i in range(blocks)]


def upsample_like(p, ref):
    """``p`` resized to ``ref``'s height and width, bilinear with aligned corners (MXNet's
    ``BilinearResize2D(p, like=ref)``); a leaf function for torch.fx."""
    size: List[int] = [ref.shape[-2], ref.shape[-1]]
    return F.interpolate(p, size=size, mode='bilinear', align_corners=True)


torch.fx.wrap('upsample_like')
