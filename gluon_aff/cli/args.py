"""The ``--arg KEY=VALUE`` option of the subcommands that build a zoo network (no MXNet
needed: ``convert`` uses it too)."""
import ast

__all__ = ['add_arg_option', 'parse_kwargs']


def add_arg_option(parser):
    parser.add_argument('--arg', action='append', default=[], metavar='KEY=VALUE',
                        help='constructor argument of the network, repeatable (e.g. blocks=1 '
                             'channel_times=1), for files saved from non-default variants')


def parse_kwargs(pairs):
    """['blocks=1', "fusion='iaff'"] -> {'blocks': 1, 'fusion': 'iaff'}."""
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError("--arg takes KEY=VALUE, got '%s'" % pair)
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs
