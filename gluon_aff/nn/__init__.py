"""Attention and fusion blocks: MS-CAM, addition, AFF, iAFF, their registry, and the
AFINets AFI module."""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.nn')
from .mscam import MSCAM, local_context, global_context, mscam_weight
from .pooling import GlobalAvgPool
from .fusion import Add, AFF, IAFF
from .afi import AFI
from .multi import MultiAFF
from . import ablation  # noqa: F401  (registers the ablation variants)
from .ablation import (Concat, GlobalGlobal, LocalLocal, MSGAU, MSSE, MSSA, HalfAFF,
                       ConcatAFF, RecursiveAFF, SE, SK, GAU)
from .attention_norm import ATTENTION_NORMS, attention_batchnorms, set_attention_norm
from .registry import (register_fusion, resolve_fusion, create_fusion, list_fusions,
                       get_fusion_class)

__all__ = ['MSCAM', 'Add', 'AFF', 'IAFF', 'AFI', 'MultiAFF', 'Concat', 'GlobalGlobal',
           'LocalLocal', 'MSGAU', 'MSSE', 'MSSA', 'HalfAFF', 'ConcatAFF', 'RecursiveAFF', 'SE',
           'SK', 'GAU', 'GlobalAvgPool', 'local_context', 'global_context',
           'mscam_weight', 'register_fusion', 'resolve_fusion', 'create_fusion',
           'list_fusions', 'get_fusion_class', 'ATTENTION_NORMS', 'attention_batchnorms',
           'set_attention_norm']
