"""``UNetDecoderBlock``: a U-Net decoder step whose skip connection fuses instead of
concatenating."""
from typing import Callable, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops.misc import Conv2dNormActivation

from .merge import merge_factory

__all__ = ['UNetDecoderBlock']


class UNetDecoderBlock(nn.Module):
    """``y = conv2(conv1(F(P_x(up(x)), P_s(skip))))``: ``x`` upsampled (nearest) to the
    skip's size, each map projected to ``out_channels`` where its channels differ (1x1
    convolution + norm), fused by ``fusion`` (the decoder's map first: its receptive
    field is the wider), then two 3x3 convolutions + norm + ReLU, as a U-Net's (and
    segmentation_models_pytorch's ``DecoderBlock``, which concatenates instead).
    ``skip_channels=0`` (a last block without skip): upsampled (by 2, or to ``size``),
    then the convolutions.

    ``forward(x, skip=None, size=None)``; ``fusion``: a name of ``gluon_aff.torch.list_fusions()``
    ('aff', 'iaff', 'add' ...) or a callable ``fusion(channels) -> module``."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int,
                 fusion: Union[str, Callable[[int], nn.Module]] = 'aff', r: int = 4,
                 norm_layer: Optional[Callable[..., nn.Module]] = nn.BatchNorm2d):
        super().__init__()
        self.in_channels, self.skip_channels = in_channels, skip_channels
        make = merge_factory(fusion, r)

        def projection(c):
            return (Conv2dNormActivation(c, out_channels, 1, norm_layer=norm_layer,
                                         activation_layer=None)
                    if c != out_channels else nn.Identity())
        self.x_proj = projection(in_channels)
        self.skip_proj = projection(skip_channels) if skip_channels else None
        self.fusion = make(out_channels) if (make is not None and skip_channels) else None
        self.conv1 = Conv2dNormActivation(out_channels, out_channels, 3, norm_layer=norm_layer)
        self.conv2 = Conv2dNormActivation(out_channels, out_channels, 3, norm_layer=norm_layer)

    def forward(self, x: Tensor, skip: Optional[Tensor] = None,
                size: Optional[List[int]] = None) -> Tensor:
        """``size``: the output's height and width (default: the skip's, else twice x's)."""
        if not torch.jit.is_scripting():
            self._check(x, skip)
        if size is None:
            size = [int(s) for s in (skip.shape[-2:] if skip is not None
                                     else [2 * x.shape[-2], 2 * x.shape[-1]])]
        x = self.x_proj(F.interpolate(x, size=size, mode='nearest'))
        if skip is not None:
            s = self.skip_proj(skip) if self.skip_proj is not None else skip
            x = self.fusion(x, s) if self.fusion is not None else x + s
        return self.conv2(self.conv1(x))

    @torch.jit.unused
    def _check(self, x, skip):
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError('%s: x has shape %s, the block takes N x %d x H x W '
                             '(in_channels=%d)' % (name, tuple(x.shape), self.in_channels,
                                                   self.in_channels))
        if (skip is None) != (self.skip_channels == 0):
            raise ValueError('%s was built with skip_channels=%d: %s' % (
                name, self.skip_channels, 'give forward(x, skip)' if self.skip_channels
                else 'it takes no skip map (build it with skip_channels=C)'))
        if skip is not None and (skip.dim() != 4 or skip.shape[1] != self.skip_channels):
            raise ValueError('%s: skip has shape %s, the block takes N x %d x H x W '
                             '(skip_channels=%d)' % (name, tuple(skip.shape),
                                                     self.skip_channels, self.skip_channels))
