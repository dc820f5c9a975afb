"""Tools users reach for before training: the graph-based counter, Grad-CAM."""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.tools')
