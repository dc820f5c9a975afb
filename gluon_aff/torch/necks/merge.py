"""The merge of two maps in a neck: a fusion block by name (``gluon_aff.torch.fusion``'s
table: 'add', 'aff', 'iaff', ...) or any callable ``fusion(channels) -> module``."""
from typing import Callable, Optional, Union

from torch import nn

from ..fusion import create_fusion, resolve_fusion

__all__ = ['merge_factory']


def merge_factory(fusion: Union[str, Callable[[int], nn.Module]],
                  r: int = 4) -> Optional[Callable[[int], nn.Module]]:
    """``channels -> module`` fusing ``forward(wide, narrow)`` (the map of the wider
    receptive field first, as AFF's ``x``), or None for ``'add'`` (the neck adds, and
    has no fusion modules: its state dict is the plain neck's)."""
    if callable(fusion):
        return fusion
    if not isinstance(fusion, str):
        raise ValueError('fusion=%r: give a fusion name (%s ...) or a callable '
                         'fusion(channels) -> module' % (fusion, "'add', 'aff', 'iaff'"))
    name = resolve_fusion(fusion)
    if name == 'add':
        return None
    return lambda channels: create_fusion(name, channels, r)
