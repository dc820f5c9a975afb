"""Which feature maps a caller asks for, with timm's rules, for both frameworks."""
import numbers

__all__ = ['take_indices']


def take_indices(count, indices, what='out_indices'):
    """``(picked, highest)`` for ``indices`` into ``count`` feature maps (``feature_info``:
    the stem, then the stages), as timm's ``feature_take_indices``: None takes all; an int
    n the last n; a sequence those indices, negative ones counting from the end. An index
    out of range is a ValueError naming the valid ones (never wrapped around)."""
    if indices is None:
        picked = list(range(count))
    elif isinstance(indices, numbers.Integral) and not isinstance(indices, bool):
        if not 1 <= indices <= count:
            raise ValueError('%s=%d: an int takes the last n of the %d feature maps, so it '
                             'must be between 1 and %d' % (what, indices, count, count))
        picked = list(range(count - indices, count))
    else:
        try:
            raw = list(indices)
        except TypeError:
            raise ValueError('%s=%r must be an int or a sequence of ints' % (what, indices))
        bad = [i for i in raw if not isinstance(i, numbers.Integral) or isinstance(i, bool)
               or not -count <= i < count]
        if bad or not raw:
            raise ValueError('%s=%r: there are %d feature maps (0 the stem, then the stages), '
                             'so indices must be in %d..%d (negative ones count from the end)'
                             % (what, tuple(raw), count, -count, count - 1))
        picked = [int(i) % count for i in raw]
    return picked, max(picked)
