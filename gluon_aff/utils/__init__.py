"""Leaf utilities over MXNet that every layer may use: multiply-add counting of a network's
graph (``flops``) and well-scaled random weights (``random_weights``)."""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.utils')
