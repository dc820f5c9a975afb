"""The fusion blocks' arguments, checked once for both frameworks (``gluon_aff.nn`` and
``gluon_aff.torch``): the attention's inner width, ``dims`` and ``in_channels``."""

__all__ = ['inner_channels', 'check_dims', 'channel_pair', 'DIMS']

DIMS = (1, 2, 3)


def inner_channels(channels, r):
    """``channels // r``, the attention branches' inner width (ValueError below 1)."""
    if channels // r < 1:
        raise ValueError('reduction ratio r=%d is larger than the channel count %d; use r <= %d'
                         % (r, channels, channels))
    return channels // r


def check_dims(dims):
    if dims not in DIMS:
        raise ValueError('dims=%r: the fusion blocks take dims=1 (maps N x C x L), 2 '
                         '(N x C x H x W) or 3 (N x C x D x H x W)' % (dims,))


def channel_pair(in_channels, channels):
    """``(first map's channels, second map's)`` from ``in_channels``: None (both
    ``channels``), an int, or a pair."""
    if in_channels is None:
        return channels, channels
    if isinstance(in_channels, int):
        return in_channels, in_channels
    pair = tuple(in_channels)
    if len(pair) != 2 or not all(isinstance(c, int) and c > 0 for c in pair):
        raise ValueError('in_channels=%r: give None (both maps have channels=%d), an int, or '
                         'a pair (x_channels, residual_channels)' % (in_channels, channels))
    return pair
