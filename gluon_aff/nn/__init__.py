"""Attention and fusion blocks: MS-CAM, addition, AFF, iAFF, their registry, and the
AFINets AFI module."""
from .mscam import MSCAM, local_context, global_context, mscam_weight
from .fusion import Add, AFF, IAFF
from .afi import AFI
from .registry import (register_fusion, resolve_fusion, create_fusion, list_fusions,
                       get_fusion_class)

__all__ = ['MSCAM', 'Add', 'AFF', 'IAFF', 'AFI', 'local_context', 'global_context',
           'mscam_weight', 'register_fusion', 'resolve_fusion', 'create_fusion',
           'list_fusions', 'get_fusion_class']
