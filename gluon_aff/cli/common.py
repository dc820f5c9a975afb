"""What several subcommands share: building a zoo network from a checkpoint file."""
from ..model_zoo import get_model, get_model_info
from ..model_zoo.pretrained import load_params, read_params
from .args import add_arg_option, parse_kwargs  # noqa: F401 (the subcommands import them here)

__all__ = ['parse_kwargs', 'load_checkpoint_network', 'add_arg_option']


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
