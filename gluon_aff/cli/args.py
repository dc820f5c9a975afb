"""The ``--arg KEY=VALUE`` option of the subcommands that build a zoo network (no MXNet
needed: ``convert`` uses it too), and the checks of the numbers commands take."""
import argparse
import ast

__all__ = ['accuracy_drop', 'add_arg_option', 'parse_kwargs', 'positive_int']

# what every command that builds a network passes itself
SET_BY_COMMANDS = {'pretrained': 'from --params', 'ctx': 'on the CPU', 'root': None}


def positive_int(text):
    """An argparse type: a whole number of at least 1 (a batch size, a count)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a whole number' % text)
    if value < 1:
        raise argparse.ArgumentTypeError('%d: give a whole number of at least 1' % value)
    return value


def accuracy_drop(text):
    """An argparse type: a drop of top-1 accuracy, a fraction in [0, 1) (0.005: half a
    point)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number' % text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError('%s: give a fraction of top-1 accuracy, at least 0 '
                                         'and below 1 (0.005 is half a point)' % text)
    return value


def add_arg_option(parser):
    parser.add_argument('--arg', action='append', default=[], metavar='KEY=VALUE',
                        help='constructor argument of the network, repeatable (e.g. blocks=1 '
                             'channel_times=1), for files saved from non-default variants')


def parse_kwargs(pairs, sets=None):
    """['blocks=1', "fusion='iaff'"] -> {'blocks': 1, 'fusion': 'iaff'}. A key the command
    sets itself (``sets``: key -> where from, besides ``SET_BY_COMMANDS``) is a ValueError
    saying so."""
    kwargs = {}
    own = dict(SET_BY_COMMANDS, **(sets or {}))
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError("--arg takes KEY=VALUE, got '%s'" % pair)
        if key in own:
            raise ValueError('--arg %s: the command sets %s itself%s; leave it out'
                             % (pair, key, ' (%s)' % own[key] if own[key] else ''))
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs
