"""The one check of a zoo network's build arguments, for both frameworks.

Every argument is named in the error: an unknown one with the closest accepted names, a
bad value with what it must be. Each framework passes the arguments only it understands
(MXNet's ``ctx``, ``norm_layer``; timm's ``drop_path_rate``, ``dtype`` ...) as ``extras``;
the rest must be the name's own (``ModelInfo.arguments``) or ``classes``.
"""
import difflib
import numbers

__all__ = ['check_arguments', 'ARGUMENT_KINDS']

# argument -> (kind, what it is); kinds: count (whole number >= 1), counts (a list of
# them), flag (True/False), rate (a number in [0, 1)), name (a string), setting, size
ARGUMENT_KINDS = {
    'classes': ('count', 'the number of classes'),
    'blocks': ('count', 'blocks per stage'),
    'channel_times': ('count', 'the width multiplier'),
    'r': ('count', 'the reduction ratio of the attention'),
    'start_layer': ('count', 'the first stage with attention'),
    'stem_width': ('count', 'the stem width'),
    'cardinality': ('count', 'the number of groups'),
    'bottleneck_width': ('count', 'the width of a group'),
    'layers': ('counts', 'the blocks of each stage'),
    'fusion': ('name', 'the fusion type'),
    'setting': ('setting', 'the AFI setting'),
    'net_size': ('size', "ShuffleNetV2's width"),
    'deep_stem': ('flag', 'three 3x3 convolutions instead of a 7x7'),
    'avg_down': ('flag', 'average-pool projection shortcuts'),
    'last_gamma': ('flag', "zero-initialised last BatchNorm gamma"),
    'dilated': ('flag', 'dilated stages 3-4'),
    'use_global_stats': ('flag', "frozen BatchNorm statistics of the host"),
    'use_se': ('flag', 'squeeze-and-excitation'),
    'final_drop': ('rate', 'the dropout rate before the classifier'),
    'drop_rate': ('rate', 'the dropout rate before the classifier'),
}
NET_SIZES = (0.5, 1, 1.5, 2)


def _is_count(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _problem(kind, value):
    """What is wrong with ``value`` for ``kind``, or None."""
    if kind == 'count' and not _is_count(value):
        return 'must be a whole number of at least 1'
    if kind == 'counts' and (isinstance(value, (str, bytes)) or not hasattr(value, '__len__')
                             or not value or not all(_is_count(n) for n in value)):
        return 'must be a list of whole numbers >= 1, e.g. [3, 4, 6, 3]'
    if kind == 'flag' and not isinstance(value, bool):
        return 'must be True or False'
    if kind == 'rate' and (not isinstance(value, numbers.Real) or isinstance(value, bool)
                           or not 0 <= value < 1):
        return 'must be a number in [0, 1)'
    if kind == 'name' and not isinstance(value, str):
        return 'must be a name such as \'aff\', \'iaff\' or \'add\''
    if kind == 'setting' and value not in (None, 'A', 'B'):
        return "must be 'A' (r=4), 'B' (r=16) or None (the plain network)"
    if kind == 'size' and value not in NET_SIZES:
        return 'must be one of %s' % ', '.join(str(s) for s in NET_SIZES)
    return None


def check_arguments(info, kwargs, extras=()):
    """Raise ValueError for an argument ``info`` (a ``ModelInfo``) does not take, or a value
    it cannot take, naming the argument, what it is and what it must be. ``extras``: the
    names the calling framework handles itself (not checked here)."""
    accepted = set(info.arguments) | {'classes'}
    unknown = sorted(k for k in kwargs if k not in accepted and k not in extras)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(accepted | set(extras)), n=2,
                                              cutoff=0.6)
            hints.append("'%s'%s" % (key, ' (did you mean %s?)' % ' or '.join(close)
                                     if close else ''))
        raise ValueError('%s does not take %s. It takes %s, and the arguments its '
                         "framework's get_model lists." % (info.name, ', '.join(hints),
                                                          ', '.join(sorted(accepted))))
    for key, value in kwargs.items():
        if key not in ARGUMENT_KINDS or (key in extras and key not in accepted):
            continue
        kind, what = ARGUMENT_KINDS[key]
        problem = _problem(kind, value)
        if problem:
            raise ValueError('%s: %s=%r is not valid; %s %s' % (info.name, key, value, what,
                                                               problem))
