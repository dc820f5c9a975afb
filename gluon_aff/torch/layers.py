"""The few layers whose MXNet meaning PyTorch's own do not have out of the box."""
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['BatchNorm2d', 'AvgPoolDown', 'GlobalAvgPool']


class BatchNorm2d(nn.BatchNorm2d):
    """MXNet's ``gluon.nn.BatchNorm`` in PyTorch.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta``; in training mode ``mean`` and
    ``var`` are the batch's (``var`` biased, divided by N), in eval mode the running ones.

    Where the frameworks differ and how this layer follows MXNet:

    - running statistics: ``running = momentum * running + (1 - momentum) * batch`` with
      MXNet's ``momentum=0.9``; PyTorch's ``momentum=0.1`` is the weight of the batch, the
      same update, but PyTorch folds the *unbiased* variance into ``running_var`` and
      MXNet the biased one. This layer updates the statistics itself, with the biased one;
    - MXNet updates them in the backward pass, PyTorch (and this layer) in the forward:
      a forward and backward in training mode leaves the same statistics in both. MXNet
      runs no backward for a layer none of whose inputs needs a gradient, so such a layer
      never updates its statistics (the CIFAR ResNet's input BatchNorm, whose gamma and
      beta are fixed, keeps mean 0 and variance 1 through training); this layer updates
      them only when grad mode is on and the input, gamma or beta requires a gradient;
    - ``fix_gamma`` (MXNet's ``scale=False``): gamma is used as 1 whatever is stored;
      ``center=False``: beta is not trained but is still added, as MXNet does;
    - ``use_global_stats``: the running statistics are used in training mode too.

    Parameter names are PyTorch's (``weight``, ``bias``); an MXNet checkpoint's
    ``gamma``/``beta`` map onto them (``gluon_aff.torch.weights``).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.9, fix_gamma=False, center=True,
                 use_global_stats=False):
        super().__init__(num_features, eps=eps, momentum=1.0 - momentum)
        self.fix_gamma = fix_gamma
        self.use_global_stats = use_global_stats
        if fix_gamma:
            self.weight.requires_grad_(False)
        if not center:
            self.bias.requires_grad_(False)

    def forward(self, x):
        weight = torch.ones_like(self.weight) if self.fix_gamma else self.weight
        if not self.training or self.use_global_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, weight, self.bias,
                                False, 0.0, self.eps)
        if self.track_running_stats and torch.is_grad_enabled() and (
                x.requires_grad or self.weight.requires_grad or self.bias.requires_grad):
            with torch.no_grad():
                var, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(var.to(self.running_var.dtype), self.momentum)
                self.num_batches_tracked.add_(1)
        return F.batch_norm(x, None, None, weight, self.bias, True, 0.0, self.eps)


class AvgPoolDown(nn.AvgPool2d):
    """MXNet's ``AvgPool2D(k, k, ceil_mode=True, count_include_pad=False)``: a window cut
    by the border averages the pixels it holds (the projection shortcuts' pooling)."""

    def __init__(self, stride):
        super().__init__(stride, stride, ceil_mode=True, count_include_pad=False)


class GlobalAvgPool(nn.Module):
    """MXNet's ``GlobalAvgPool2D``: N x C x H x W -> N x C x 1 x 1."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True)

