"""How the attention modules' BatchNorms run: the three modes, for both frameworks.

The BatchNorms inside MS-CAM, AFF, iAFF, the other fusion blocks and MultiAFF
are plain BatchNorms whatever the host's normalisation (the original's, and so
the released checkpoints'). In training mode, a global branch's BatchNorm, which comes
after global average pooling, sees one value per channel and image. With one image per
batch (per device: detection and segmentation fine-tuning) that value normalises to 0,
the branch outputs its beta alone, and the moving variance decays towards 0, so that the
network later misbehaves in inference mode.

``set_attention_norm(net, mode)`` (``gluon_aff.nn`` for MXNet, ``gluon_aff.torch`` for
PyTorch), ``get_model(..., attention_norm=mode)`` in both, or ``--attention-norm`` in the
training commands, changes only how those BatchNorms run; parameters and checkpoint keys
stay, so released files load unchanged:

- ``'batch'`` (default, the original): batch statistics in training, moving ones in
  inference; the moving statistics are updated.
- ``'global_stats'``: the stored moving statistics in training too (none are updated);
  gamma and beta still learn (gluoncv's ``use_global_stats``).
- ``'frozen'``: as ``'global_stats'``, and gamma and beta are not trained either: each
  attention BatchNorm is a fixed affine map.

The host's own BatchNorms are not touched.
"""

__all__ = ['ATTENTION_NORMS', 'check_attention_norm']

ATTENTION_NORMS = ('batch', 'global_stats', 'frozen')


def check_attention_norm(mode):
    """``mode``, or a ValueError naming the three."""
    if mode not in ATTENTION_NORMS:
        raise ValueError('attention_norm must be one of %s, got %r'
                         % (', '.join("'%s'" % m for m in ATTENTION_NORMS), mode))
    return mode
