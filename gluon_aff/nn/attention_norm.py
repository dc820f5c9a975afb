"""How the attention modules' BatchNorms run, for the MXNet blocks: the three modes
(``'batch'``, ``'global_stats'``, ``'frozen'``) are ``gluon_aff.core.attention_norm``'s,
which says what each does and why."""
import warnings

from mxnet import autograd
from mxnet.gluon import nn

from ..core.attention_norm import ATTENTION_NORMS, check_attention_norm

__all__ = ['ATTENTION_NORMS', 'attention_batchnorms', 'set_attention_norm',
           'warn_if_single_sample']


def _is_attention(block):
    from .mscam import MSCAM
    from .multi import MultiAFF
    return hasattr(type(block), 'fusion_name') or isinstance(block, (MSCAM, MultiAFF))


def attention_batchnorms(block):
    """The BatchNorm layers inside the attention/fusion modules of ``block``."""
    found = []

    def visit(b, inside):
        inside = inside or _is_attention(b)
        if inside and isinstance(b, nn.BatchNorm):
            found.append(b)
        for child in b._children.values():
            visit(child, inside)
    visit(block, False)
    return found


def set_attention_norm(block, mode):
    """Make the attention BatchNorms of ``block`` (a network or a fusion block) run in
    ``mode`` ('batch', 'global_stats' or 'frozen'); returns how many it changed."""
    check_attention_norm(mode)
    norms = attention_batchnorms(block)
    for bn in norms:
        bn._kwargs['use_global_stats'] = mode != 'batch'
        for param in (bn.gamma, bn.beta):
            param.grad_req = 'null' if mode == 'frozen' else 'write'
    block.attention_norm = mode

    def clear(b):
        if hasattr(b, '_clear_cached_op'):
            b._clear_cached_op()
    block.apply(clear)      # a hybridized network rebuilds its graph with the new setting
    return len(norms)


def warn_if_single_sample(net, batch_size):
    """Warn once per network when it trains on one sample per batch with attention
    BatchNorms that use batch statistics."""
    if batch_size != 1 or not autograd.is_training() or getattr(net, '_warned_single', False):
        return
    if getattr(net, 'attention_norm', 'batch') != 'batch' or not attention_batchnorms(net):
        return
    net._warned_single = True
    warnings.warn(
        '%s is training on ONE image per batch (per device): the BatchNorms of its attention '
        "modules' global branches see one value per channel, which normalises to 0 (the "
        'branch outputs its beta alone) and drives their moving variance to 0. Freeze them: '
        "get_model(..., attention_norm='global_stats') or 'frozen', "
        "gluon_aff.nn.set_attention_norm(net, 'frozen'), or --attention-norm frozen in the "
        'training scripts; released checkpoints load unchanged.'
        % getattr(net, 'zoo_name', type(net).__name__), UserWarning, stacklevel=4)
