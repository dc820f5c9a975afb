"""The twin's table of zoo names: ``register_model``, ``get_model``, ``list_models``.

Each name is an entry function in its family's module under ``gluon_aff/torch/models``,
decorated with ``@register_model`` as in timm (and registered with timm when timm is
installed, with a pretrained config that carries the zoo's preprocessing). ``build_model``
is the one path from an entry function to a network: timm's arguments, the ZooNet contract,
attention BatchNorms, weights, features.
"""
import difflib
import fnmatch
import logging
import sys
from collections import OrderedDict

__all__ = ['register_model', 'get_model', 'list_models', 'get_model_info', 'build_model',
           'pretrained_cfg', 'set_attention_norm']

logger = logging.getLogger('gluon_aff')

_MODELS = OrderedDict()     # name -> dict(fn, family, fusion, preprocess)

ATTENTION_NORMS = ('batch', 'global_stats', 'frozen')


def pretrained_cfg(name, family, preprocess):
    """timm's pretrained config of a zoo name: the evaluation preprocessing the zoo uses
    (resize the short side to ``input_size / crop_pct``, centre crop), and where the
    released checkpoint lives, if there is one."""
    from ..core.released import DEFAULT_BASE_URL, checkpoints_for
    released = checkpoints_for(name)
    size = preprocess['input_size']
    return dict(
        url=DEFAULT_BASE_URL + released[0].path if released else '',
        architecture=name, input_size=(3, size, size), min_input_size=(3, 32, 32),
        interpolation=preprocess['interpolation'] or 'bilinear',
        crop_pct=preprocess['crop_ratio'], crop_mode='center', mean=preprocess['mean'],
        std=preprocess['std'], num_classes=preprocess['classes'],
        classifier={'imagenet_resnet': 'fc', 'fpn_resnet': 'head.2'}.get(family, 'output'),
        license='apache-2.0', paper_ids='arXiv:2009.14082',
        description='gluon-aff %s (%s fusion), weights from MXNet' % (family, name))


def register_model(family, fusion, preprocess):
    """Decorator: add the entry function ``fn(pretrained=False, **kwargs)`` under its own
    name, and to timm's registry when timm is installed."""
    def decorate(fn):
        name = fn.__name__
        if name in _MODELS:
            raise ValueError('zoo name %s is registered twice' % name)
        _MODELS[name] = dict(fn=fn, family=family, fusion=fusion, preprocess=dict(preprocess))
        try:
            import timm.models
        except ImportError:
            return fn
        module = sys.modules[fn.__module__]
        if not hasattr(module, 'default_cfgs'):
            module.default_cfgs = {}
        module.default_cfgs[name] = pretrained_cfg(name, family, preprocess)
        timm.models.register_model(fn)
        return fn
    return decorate


def list_models(pattern=None):
    """Sorted zoo names of the twin, optionally filtered by a shell-style wildcard."""
    names = sorted(_MODELS)
    return [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())] if pattern else names


def get_model_info(name):
    """``dict(fn, family, fusion, preprocess)`` of a zoo name (ValueError listing close
    names if unknown)."""
    entry = _MODELS.get(str(name).lower())
    if entry is None:
        close = difflib.get_close_matches(str(name), list(_MODELS), n=5, cutoff=0.6)
        raise ValueError("unknown model '%s'.%s gluon_aff.torch.list_models() lists all %d."
                         % (name, ' Closest names: %s.' % ', '.join(close) if close else '',
                            len(_MODELS)))
    return entry


def get_model(name, pretrained=False, **kwargs):
    """Build a zoo network in PyTorch.

    ``pretrained``: False (initialised at random), True or ``'fine'``/``'coarse'`` (the
    released checkpoint, downloaded and verified by git blob id into ``root``, default
    ``~/.mxnet/models``), or a path (an MXNet ``.params`` file, a ``.safetensors`` or a
    PyTorch state dict). Other arguments as the MXNet ``get_model`` (``classes``,
    ``features_only``, ``out_stages``, ``attention_norm``, ``blocks``, ``layers`` ...) and
    timm's (``num_classes``, ``features_only``, ``out_indices``).
    """
    return get_model_info(name)['fn'](pretrained=pretrained, **kwargs)


def set_attention_norm(net, mode):
    """Make the BatchNorms inside the fusion modules run on their running statistics
    (``'global_stats'``), also untrained (``'frozen'``), or on batch statistics (``'batch'``,
    as released): the option for fine-tuning with one image per device. Returns how many
    BatchNorms it set."""
    from .fusion import AFI, MSCAM, MultiAFF
    from .layers import BatchNorm2d
    if mode not in ATTENTION_NORMS:
        raise ValueError('attention_norm must be one of %s, got %r'
                         % (', '.join("'%s'" % m for m in ATTENTION_NORMS), mode))
    norms = []
    for module in net.modules():
        if hasattr(type(module), 'fusion_name') or isinstance(module, (MSCAM, MultiAFF, AFI)):
            norms.extend(m for m in module.modules() if isinstance(m, BatchNorm2d))
    for bn in norms:
        bn.use_global_stats = mode != 'batch'
        for p in (bn.weight, bn.bias):
            p.requires_grad_(mode != 'frozen')
    net.attention_norm = mode
    return len(norms)


# timm's arguments that this zoo takes under other names or not at all
_TIMM_DROPPED = ('pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir', 'feature_cfg',
                 'output_stride', 'drop_path_rate', 'device', 'dtype')


def build_model(name, cls, args, pretrained, kwargs):
    """Merge the entry's arguments with the caller's, build, check the contract, set the
    attention norms, load weights, pick features; timm's arguments are understood."""
    from .init import ORIGINAL_INIT, init_like_original
    from .weights import load_checkpoint
    entry = get_model_info(name)
    kwargs = dict(kwargs)
    overlay = kwargs.get('pretrained_cfg_overlay') or {}
    root = kwargs.pop('root', None)
    for key in _TIMM_DROPPED:
        kwargs.pop(key, None)
    if 'num_classes' in kwargs:
        kwargs['classes'] = kwargs.pop('num_classes')
    in_chans = kwargs.pop('in_chans', 3)
    if in_chans != 3:
        raise ValueError('%s takes RGB images: in_chans=%r is not supported' % (name, in_chans))
    global_pool = kwargs.pop('global_pool', None)
    if global_pool not in (None, 'avg'):
        raise ValueError("%s pools by averaging: global_pool=%r is not supported"
                         % (name, global_pool))
    features_only = kwargs.pop('features_only', False)
    out_indices = kwargs.pop('out_indices', None)
    out_stages = kwargs.pop('out_stages', None)
    attention_norm = kwargs.pop('attention_norm', 'batch')
    merged = dict(args)
    merged.update(kwargs)
    merged.setdefault('classes', entry['preprocess']['classes'])
    _check_counts(name, merged)
    net = cls(**merged)
    init_like_original(net, ORIGINAL_INIT.get(entry['family'], 'xavier'))
    net.zoo_name = name
    net.train_size = entry['preprocess']['input_size']
    net.check_contract()
    net.pretrained_cfg = dict(pretrained_cfg(name, entry['family'], entry['preprocess']),
                              **overlay)
    net.default_cfg = net.pretrained_cfg
    set_attention_norm(net, attention_norm)
    if overlay.get('file') and pretrained is True:
        pretrained = overlay['file']
    if pretrained:
        load_checkpoint(net, name, pretrained, root=root)
    if features_only or out_indices is not None:
        try:
            from timm.models._features import FeatureGetterNet
        except ImportError:
            FeatureGetterNet = None
        if FeatureGetterNet is not None and out_stages is None:
            n = net.num_stages
            return FeatureGetterNet(net, out_indices=n if out_indices is None else out_indices)
        net.set_out_stages(out_stages or [i + 1 for i in (out_indices or range(net.num_stages))])
    elif out_stages:
        net.set_out_stages(out_stages)
    return net


def _check_counts(name, args):
    import numbers
    for key in ('classes', 'r', 'start_layer', 'stem_width', 'cardinality', 'bottleneck_width'):
        value = args.get(key)
        if value is not None and (not isinstance(value, numbers.Integral) or
                                  isinstance(value, bool) or value < 1):
            raise ValueError('%s: %s=%r is not valid; it must be a whole number of at least 1'
                             % (name, key, value))
    layers = args.get('layers')
    if layers is not None and not all(isinstance(n, numbers.Integral) and n >= 1
                                      for n in layers):
        raise ValueError('%s: layers=%r is not valid; give whole numbers >= 1 per stage'
                         % (name, layers))
