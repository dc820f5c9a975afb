"""``PAN``: a path-aggregation neck (PANet, the YOLO necks): an FPN's top-down path, then a
bottom-up path, a fusion block at every merge."""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops.misc import Conv2dNormActivation

from ..layers import tracing_or_compiling
from .fpn import check_levels
from .merge import merge_factory

__all__ = ['PAN']


def _fuse_at(fusions: Optional[nn.ModuleList], wide: Tensor, narrow: Tensor, idx: int):
    if fusions is None:
        return wide + narrow
    out = narrow
    for i, fuse in enumerate(fusions):
        if i == idx:
            out = fuse(wide, narrow)
    return out


class PAN(nn.Module):
    """Path aggregation over maps ``C_0..C_n`` (highest resolution first):

    - top-down: ``T_n = lat_n(C_n)``, ``T_i = F(up(T_{i+1}), lat_i(C_i))``,
      ``P_i = smooth_i(T_i)`` (FPN);
    - bottom-up: ``N_0 = P_0``, ``N_i = out_i(G(P_i, down_i(N_{i-1})))``, ``down`` a 3x3
      stride-2 convolution (+ norm, ReLU).

    ``F``/``G``: the fusion (``fusion``: a name of ``gluon_aff.torch.list_fusions()``,
    ``'add'`` for PANet's sums, or a callable ``fusion(channels) -> module``), called with
    the map of the wider receptive field first (the upsampled one top-down; ``P_i``
    bottom-up). Every map is projected to ``out_channels`` by ``lat_i`` (1x1); a
    downsampled map whose size differs from ``P_i``'s by rounding is resized to it. Out: an
    OrderedDict of the N maps, the input's names, ``out_channels`` each."""

    def __init__(self, in_channels_list: List[int], out_channels: int,
                 fusion: Union[str, Callable[[int], nn.Module]] = 'aff', r: int = 4,
                 norm_layer: Optional[Callable[..., nn.Module]] = nn.BatchNorm2d):
        super().__init__()
        if len(in_channels_list) < 2:
            raise ValueError('PAN aggregates two or more levels, got in_channels_list=%s'
                             % (list(in_channels_list),))
        self.in_channels_list = list(in_channels_list)
        levels, make = len(in_channels_list), merge_factory(fusion, r)

        def conv(k, stride=1, act=None):
            return Conv2dNormActivation(out_channels, out_channels, k, stride,
                                        norm_layer=norm_layer, activation_layer=act)
        self.lateral = nn.ModuleList([
            Conv2dNormActivation(c, out_channels, 1, norm_layer=norm_layer,
                                 activation_layer=None) for c in in_channels_list])
        self.smooth = nn.ModuleList([conv(3) for _ in range(levels)])
        self.down = nn.ModuleList([conv(3, 2, nn.ReLU) for _ in range(levels - 1)])
        self.out = nn.ModuleList([conv(3) for _ in range(levels - 1)])
        self.top_down = (nn.ModuleList([make(out_channels) for _ in range(levels - 1)])
                         if make is not None else None)
        self.bottom_up = (nn.ModuleList([make(out_channels) for _ in range(levels - 1)])
                          if make is not None else None)

    def forward(self, x: Dict[str, Tensor]) -> Dict[str, Tensor]:
        names = list(x.keys())
        maps = list(x.values())
        if not torch.jit.is_scripting():
            self._check(names, maps)
        laterals: List[Tensor] = []
        for i, lat in enumerate(self.lateral):
            laterals.append(lat(maps[i]))
        n = len(laterals)
        inner = laterals[n - 1]
        merged: List[Tensor] = [inner]
        for idx in range(n - 2, -1, -1):
            up = F.interpolate(inner, size=laterals[idx].shape[-2:], mode='nearest')
            inner = _fuse_at(self.top_down, up, laterals[idx], idx)
            merged.insert(0, inner)
        pyramid: List[Tensor] = []
        for i, smooth in enumerate(self.smooth):
            pyramid.append(smooth(merged[i]))
        results: List[Tensor] = [pyramid[0]]
        last = pyramid[0]
        for i, (down, out) in enumerate(zip(self.down, self.out)):
            d = down(last)
            if d.shape[-2:] != pyramid[i + 1].shape[-2:]:
                d = F.interpolate(d, size=pyramid[i + 1].shape[-2:], mode='nearest')
            last = out(_fuse_at(self.bottom_up, pyramid[i + 1], d, i))
            results.append(last)
        return OrderedDict([(k, v) for k, v in zip(names, results)])

    @torch.jit.unused
    def _check(self, names, maps):
        if not tracing_or_compiling():
            check_levels(type(self).__name__, names, maps, self.in_channels_list)
