"""What several subcommands share: building a zoo network from a checkpoint file."""
import ast

from ..model_zoo import get_model, get_model_info
from ..model_zoo.pretrained import load_params, read_params

__all__ = ['parse_kwargs', 'load_checkpoint_network', 'add_arg_option']


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


def load_checkpoint_network(name, params_file, kwargs=None):
    """(ModelInfo, network) for zoo ``name`` with the parameters of ``params_file``; the
    classifier takes the file's number of classes."""
    info = get_model_info(name)
    params = read_params(params_file)
    head = params.get('%s.weight' % ('fc' if info.family == 'imagenet_resnet' else 'output'))
    net = get_model(info.name, classes=head.shape[0] if head is not None else None,
                    **(kwargs or {}))
    load_params(net, params, source=params_file)
    return info, net
