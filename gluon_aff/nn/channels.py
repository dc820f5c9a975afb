"""Channel concatenation that works whatever the CPU's oneDNN block size.

MXNet 1.9.1 runs ``concat`` along the channel axis of 4-D maps with oneDNN, whose
backward pass cuts the incoming gradient into one view per input. oneDNN stores such
gradients in blocks of 8 channels (SSE4.1, AVX2) or 16 (AVX-512). When the
concatenated width is a multiple of the block and a cut falls inside a block, the view
cannot be made: the process dies with SIGFPE (4+4 or 3+5 channels on AVX2, 8+8 on
AVX-512: AFI-ResNet setting A's first stage) or MXNet raises "could not construct a
sub-memory" (12+4 on AVX2). The forward pass is not affected.

``concat_channels`` concatenates a 5-D view ``(N, C, H, W, 1)`` instead, which MXNet
hands to its own kernel rather than to oneDNN's, then drops the extra axis: the same
values and gradients, no alignment requirement.

The reshapes here use only 0, -1 and sizes, never MXNet's special codes (-2, -3, -4),
which its ONNX exporter cannot translate: channels are rearranged last (NHWC).
"""

__all__ = ['concat_channels', 'interleave_groups', 'channel_shuffle']


def concat_channels(F, *maps):
    """Concatenate NCHW maps along the channel axis (any channel counts, any CPU)."""
    if len(maps) == 1:
        return maps[0]
    views = [F.reshape(m, shape=(0, 0, 0, 0, 1)) for m in maps]
    return F.reshape(F.concat(*views, dim=1), shape=(0, 0, 0, -1))


def interleave_groups(F, a, b, groups):
    """Concatenate two NCHW maps of equal width so that group g of the result holds group
    g of ``a`` followed by group g of ``b`` (``groups`` groups each; for a grouped
    convolution over both)."""
    def grouped(m):         # (N, C, H, W) -> (N, H, W, groups, C / groups)
        return F.reshape(F.transpose(m, axes=(0, 2, 3, 1)), shape=(0, 0, 0, groups, -1))
    joined = F.reshape(F.concat(grouped(a), grouped(b), dim=4), shape=(0, 0, 0, -1))
    return F.transpose(joined, axes=(0, 3, 1, 2))


def channel_shuffle(F, x, groups=2):
    """ShuffleNet's channel shuffle: channel ``g * (C / groups) + j`` moves to
    ``j * groups + g``."""
    x = F.reshape(F.transpose(x, axes=(0, 2, 3, 1)), shape=(0, 0, 0, groups, -1))
    x = F.reshape(F.swapaxes(x, 3, 4), shape=(0, 0, 0, -1))
    return F.transpose(x, axes=(0, 3, 1, 2))
