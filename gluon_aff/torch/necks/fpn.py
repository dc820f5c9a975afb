"""``AFFFPN``: torchvision's feature pyramid network with each top-down merge done by a
fusion block (the AFF paper's long skip connection)."""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork

from ..layers import tracing_or_compiling
from .merge import merge_factory

__all__ = ['AFFFPN', 'check_levels']


def check_levels(owner, names, maps, in_channels_list):
    """ValueError naming the level and both channel counts for maps that do not fit."""
    if len(maps) != len(in_channels_list):
        raise ValueError('%s was built for %d levels (in_channels_list=%s), got %d maps (%s)'
                         % (owner, len(in_channels_list), list(in_channels_list), len(maps),
                            ', '.join(map(str, names))))
    for level, (name, m, want) in enumerate(zip(names, maps, in_channels_list)):
        if m.dim() != 4 or m.shape[1] != want:
            raise ValueError("%s: level %d ('%s') has shape %s, in_channels_list[%d] says %d "
                             "channels (N x %d x H x W); build it with in_channels_list=%s"
                             % (owner, level, name, tuple(m.shape), level, want, want,
                                [int(t.shape[1]) if t.dim() > 1 else None for t in maps]))


class AFFFPN(FeaturePyramidNetwork):
    """torchvision's ``FeaturePyramidNetwork`` whose top-down merges fuse instead of add:
    ``P_i = layer_i(F(up(inner_{i+1}), lateral_i))`` with ``F`` the fusion (AFF:
    ``2 (U W + L (1 - W))``, ``W = M(U + L)``; U the upsampled map of the wider receptive
    field, L the lateral), where torchvision computes ``lateral_i + up(inner_{i+1})``.

    The same arguments first (``in_channels_list``, ``out_channels``, ``extra_blocks``,
    ``norm_layer``: those of the lateral and output convolutions), the same forward (an
    OrderedDict of maps, highest resolution first, in; the same names and shapes out, extra
    blocks' maps included) and the same state-dict keys, plus ``fusions.{i}`` (the merge
    into level i, one fewer than the levels). ``fusion``: a name of
    ``gluon_aff.torch.list_fusions()`` ('aff', 'iaff', ...; ``'add'``: torchvision's FPN,
    whose state dicts load strictly) or a callable ``fusion(channels) -> module`` called
    as ``module(upsampled, lateral)``; ``r``: the fusion's channel reduction."""

    def __init__(self, in_channels_list: List[int], out_channels: int,
                 extra_blocks: Optional[ExtraFPNBlock] = None,
                 norm_layer: Optional[Callable[..., nn.Module]] = None,
                 fusion: Union[str, Callable[[int], nn.Module]] = 'aff', r: int = 4):
        super().__init__(in_channels_list, out_channels, extra_blocks, norm_layer)
        make = merge_factory(fusion, r)
        self.in_channels_list = list(in_channels_list)
        self.fusion = fusion if isinstance(fusion, str) else getattr(fusion, '__name__', 'custom')
        self.fusions = (nn.ModuleList([make(out_channels)
                                       for _ in range(len(in_channels_list) - 1)])
                        if make is not None else None)

    def merge(self, top_down: Tensor, lateral: Tensor, idx: int) -> Tensor:
        """The merge into level ``idx``: the fusion's, or torchvision's sum."""
        if self.fusions is None:
            return lateral + top_down
        out = lateral
        for i, fuse in enumerate(self.fusions):   # TorchScript indexes a ModuleList so
            if i == idx:
                out = fuse(top_down, lateral)
        return out

    def forward(self, x: Dict[str, Tensor]) -> Dict[str, Tensor]:
        names = list(x.keys())
        maps = list(x.values())
        if not torch.jit.is_scripting():
            self._check(names, maps)
        last_inner = self.get_result_from_inner_blocks(maps[-1], -1)
        results = [self.get_result_from_layer_blocks(last_inner, -1)]
        for idx in range(len(maps) - 2, -1, -1):
            lateral = self.get_result_from_inner_blocks(maps[idx], idx)
            top_down = F.interpolate(last_inner, size=lateral.shape[-2:], mode='nearest')
            last_inner = self.merge(top_down, lateral, idx)
            results.insert(0, self.get_result_from_layer_blocks(last_inner, idx))
        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, maps, names)
        return OrderedDict([(k, v) for k, v in zip(names, results)])

    @torch.jit.unused
    def _check(self, names, maps):
        if not tracing_or_compiling():
            check_levels(type(self).__name__, names, maps, self.in_channels_list)
