"""Which framework a command that works with either builds its networks in: MXNet where it
is installed (the zoo's reference), else the PyTorch twin; ``--framework`` chooses."""
import importlib.util

from ..mxnet_compat import mxnet_installed

__all__ = ['add_framework_option', 'pick_framework', 'count_trainable']

TWIN_INSTALL = "pip install 'gluon-aff[torch]'"


def _torch_installed():
    try:
        return importlib.util.find_spec('torch') is not None and \
            importlib.util.find_spec('timm') is not None
    except ValueError:
        return False


def add_framework_option(parser):
    parser.add_argument('--framework', choices=('mxnet', 'torch'), default=None,
                        help='build the networks with MXNet or the PyTorch twin (default: '
                             'MXNet where installed, else the twin)')


def pick_framework(choice=None):
    """'mxnet' or 'torch', or an ImportError saying what to install."""
    from ..mxnet_compat import missing_mxnet_message
    if choice == 'mxnet' or (choice is None and mxnet_installed()):
        if not mxnet_installed():
            raise ImportError(missing_mxnet_message('--framework mxnet'))
        return 'mxnet'
    if not _torch_installed():
        raise ImportError('neither MXNet nor the PyTorch twin is installed: %s, or %s'
                          % (TWIN_INSTALL, missing_mxnet_message('the MXNet zoo')))
    return 'torch'


def build(framework, name, **kwargs):
    """The zoo network ``name`` in ``framework``."""
    if framework == 'mxnet':
        from ..model_zoo import get_model
    else:
        from ..torch import get_model
    return get_model(name, **kwargs)


def count_trainable(framework, net):
    """The trainable parameters (MXNet: grad_req != 'null'; PyTorch: requires_grad)."""
    if framework == 'mxnet':
        from ..train.report import count_parameters
        return count_parameters(net)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
