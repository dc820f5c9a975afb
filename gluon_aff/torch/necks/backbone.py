"""``fpn_backbone``: any timm name (the zoo's or timm's own) with a feature pyramid on top,
shaped as torchvision's detectors take a backbone (``resnet_fpn_backbone``'s contract)."""
import difflib
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import timm
from torch import Tensor, nn
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, LastLevelMaxPool

from .fpn import AFFFPN

__all__ = ['FPNBackbone', 'fpn_backbone']


class FPNBackbone(nn.Module):
    """``body`` (a timm ``features_only`` network) then ``fpn``: ``forward(images)`` gives
    an OrderedDict of maps named '0', '1', ... (one per ``out_indices``, highest resolution
    first) and the extra blocks' ('pool', or 'p6', 'p7'), each of ``out_channels``, as
    torchvision's ``BackboneWithFPN``."""

    def __init__(self, body: nn.Module, fpn: AFFFPN, out_channels: int):
        super().__init__()
        self.body = body
        self.fpn = fpn
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        features = self.body(x)
        return self.fpn(OrderedDict([(str(i), f) for i, f in enumerate(features)]))


def _stage_of_children(body):
    """{child name: stage} for a timm features network: stage 0 the stem (up to its
    first feature module), stage k the modules up to the k-th feature module."""
    ends = [info['module'].split('.')[0] for info in body.feature_info.info]
    stages, stage = {}, 0
    for name, _ in body.named_children():
        stages[name] = min(stage, len(ends) - 1)
        if stage < len(ends) and name == ends[stage]:
            stage += 1
    return stages, len(ends)


def freeze_stages(body, trainable_layers):
    """Freeze all but the last ``trainable_layers`` stages of ``body`` (the stem counts as
    one: 0 freezes the backbone, ``len(feature_info)`` trains it all), as torchvision's
    ``trainable_layers``."""
    stages, count = _stage_of_children(body)
    if not 0 <= trainable_layers <= count:
        raise ValueError('trainable_layers=%d: this backbone has %d stages (stem included); '
                         'give 0 (frozen) to %d (all trained)' % (trainable_layers, count, count))
    for name, child in body.named_children():
        if stages[name] < count - trainable_layers:
            child.requires_grad_(False)


def fpn_backbone(name: str, fusion='aff', out_channels: int = 256,
                 out_indices: Sequence[int] = (1, 2, 3, 4),
                 extra_blocks: Optional[ExtraFPNBlock] = None, pretrained: bool = False,
                 trainable_layers: Optional[int] = None, r: int = 4,
                 **timm_kwargs) -> FPNBackbone:
    """A detector backbone: ``timm.create_model(name, features_only=True,
    out_indices=out_indices, pretrained=pretrained, **timm_kwargs)`` and an ``AFFFPN`` of
    ``fusion`` on its maps. ``extra_blocks`` defaults to ``LastLevelMaxPool()`` (a 'pool'
    level, as torchvision's ``resnet_fpn_backbone``; RetinaNet takes
    ``out_indices=(2, 3, 4), extra_blocks=LastLevelP6P7(out_channels, out_channels)``).
    ``trainable_layers``: how many stages, counted from the last, are trained (None: 3
    with pretrained weights, all without, as torchvision).

    The zoo's names (e.g. 'iaff_resnet50', registered with timm by ``gluon_aff.torch``)
    and timm's own (e.g. 'resnet50') both work."""
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=4, cutoff=0.6)
        raise ValueError("fpn_backbone: '%s' is not a timm model name%s (the zoo's: "
                         "gluon_aff.torch.list_models(); timm's: timm.list_models())"
                         % (name, '; close: ' + ', '.join(close) if close else ''))
    body = timm.create_model(name, features_only=True, out_indices=tuple(out_indices),
                             pretrained=pretrained, **timm_kwargs)
    if trainable_layers is None:
        trainable_layers = 3 if pretrained else len(body.feature_info.info)
    freeze_stages(body, trainable_layers)
    fpn = AFFFPN(body.feature_info.channels(), out_channels,
                 extra_blocks=LastLevelMaxPool() if extra_blocks is None else extra_blocks,
                 fusion=fusion, r=r)
    return FPNBackbone(body, fpn, out_channels)
