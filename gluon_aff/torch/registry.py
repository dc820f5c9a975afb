"""The twin's names, made from the one declaration (``gluon_aff.core.zoo``), in timm's
registry.

A family module implements a declared family with ``register_family(name, builder)``;
``make_entries`` gives every declared name an entry function ``fn(pretrained=False,
**kwargs)`` (``gluon_aff.torch.zoo.NAME``) registered with timm, with a pretrained config
per released file (``iaff_resnet50.in1k``; ``cifar_aff_resnet32.cifar100`` and
``.cifar100_coarse``). ``build_model`` is the one path from a name to a network: the one
argument check, timm's arguments, the family's class, the original's initialisation,
attention BatchNorms, weights, features.
"""
import contextlib
import inspect
import logging
import os
import sys
from collections import OrderedDict

import torch
from timm.models import generate_default_cfgs, register_model
from timm.models._builder import pretrained_cfg_for_features, resolve_pretrained_cfg
from timm.models._features import FeatureDictNet, FeatureGetterNet, FeatureHookNet, FeatureListNet
from timm.models._features_fx import FeatureGraphNet
from timm.models._hub import load_state_dict_from_hf
from timm.models._input import _init_model_traits

from ..core.arguments import check_arguments
from ..core.attention_norm import ATTENTION_NORMS, check_attention_norm  # noqa: F401
from ..core.features import take_indices
from ..core.model_info import class_names_of
from ..core.released import DEFAULT_BASE_URL, LABEL_SETS, CheckpointError, select_checkpoint
from ..core.zoo import ZOO, get_model_info, list_models  # noqa: F401 (re-exported)
from .fusion import MultiAFF
from .init import init_like_original
from .layers import BatchNorm2d
from . import pretrained as pretrained_module  # (its loader looked up at call time)

__all__ = ['register_family', 'make_entries', 'get_model', 'list_models', 'get_model_info',
           'build_model', 'pretrained_cfgs', 'set_attention_norm', 'implemented_families',
           'TIMM_ARGUMENTS']

logger = logging.getLogger('gluon_aff')

_BUILDERS = OrderedDict()       # family -> (builder(**class arguments), its network class)

# timm's create_model arguments the twin takes besides a family's own (each either works
# or raises naming itself: see build_model)
TIMM_ARGUMENTS = ('num_classes', 'global_pool', 'drop_rate', 'drop_path_rate',
                  'output_stride', 'in_chans', 'features_only', 'out_indices', 'feature_cls',
                  'feature_cfg', 'pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir',
                  'device', 'dtype', 'pretrained_model_args')
# the twin's own: where released files go, the attention BatchNorms, stages by number
TWIN_ARGUMENTS = ('root', 'attention_norm', 'out_stages')
# timm's arguments a family class takes itself, when it supports them
_CLASS_ARGUMENTS = ('drop_rate', 'drop_path_rate', 'output_stride', 'global_pool')
_FEATURE_CLASSES = ('list', 'getter', 'hook', 'dict', 'fx')


def register_family(family, builder, network_class=None):
    """``builder(**class_arguments)`` builds the twin's network of the declared ``family``
    (``gluon_aff.core.families``); ``network_class``: the class it builds, when
    ``builder`` is a function."""
    if family in _BUILDERS:
        raise ValueError('family %s is implemented twice' % family)
    _BUILDERS[family] = (builder, network_class or builder)
    return builder


def implemented_families():
    return list(_BUILDERS)


def pretrained_cfgs(info):
    """timm's pretrained configs of a name, by tag ('' for a name without released files),
    every field timm's own models carry: the evaluation preprocessing the zoo uses (resize
    the short side to ``input_size / crop_pct``, centre crop), ``pool_size``,
    ``first_conv`` and ``classifier`` (the key paths timm adapts when it loads weights
    with another ``in_chans`` or ``num_classes``), where the released file lives, and what
    it was trained on."""
    size = info.input_size
    base = dict(
        architecture=info.name, input_size=(3, size, size), min_input_size=(3, 32, 32),
        fixed_input_size=False, interpolation=info.interpolation or 'bilinear', crop_pct=info.crop_ratio,
        crop_mode='center', mean=info.mean, std=info.std, num_classes=info.classes,
        pool_size=info.pool_size, first_conv=info.first_conv,
        classifier=info.classifier_key, license='apache-2.0', paper_ids='arXiv:2009.14082',
        paper_name='Attentional Feature Fusion', origin_url='https://github.com/YimianDai/open-aff',
        description=info.description)
    cfgs = OrderedDict()
    for tag in info.pretrained_tags:
        ckpt = _checkpoint_for_tag(info, tag)
        cfgs[tag] = dict(base, url=DEFAULT_BASE_URL + ckpt.path, tag=tag,
                         label_names=_label_names(info, ckpt),
                         notes=('released by the authors; %s %s %.4f' % (
                             ckpt.labels, 'top-1 error' if ckpt.metric == 'top1_err'
                             else 'accuracy', ckpt.value),))
    if not cfgs:
        cfgs[''] = dict(base)
    return cfgs


def _checkpoint_for_tag(info, tag):
    labels = LABEL_SETS.get(tag)
    if labels is None:
        raise ValueError("%s has no pretrained tag '%s'; its tags: %s"
                         % (info.name, tag, ', '.join(info.pretrained_tags) or 'none'))
    return select_checkpoint(info.name, labels)


def _label_names(info, ckpt):
    return class_names_of(ckpt.labels)


def _entry(info):
    name = info.name

    def entry(pretrained=False, **kwargs):
        return build_model(info, pretrained=pretrained, **kwargs)
    entry.__name__ = entry.__qualname__ = name
    entry.__module__ = 'gluon_aff.torch.zoo'
    entry.__doc__ = '%s. Takes %s, and timm\'s arguments.' % (
        info.description, ', '.join(('num_classes',) + info.arguments))
    return entry


def make_entries():
    """One entry function per declared name in ``gluon_aff.torch.zoo``; the classification
    names are registered with timm, with their pretrained configs. The segmentation
    networks (per-pixel logits) break timm's classifier contract (``num_classes=0``,
    ``global_pool``, ``forward_head``), so they stay out of timm's registry and are built
    by ``get_model`` alone."""
    from . import zoo
    module = sys.modules[zoo.__name__]
    cfgs = {}
    for name, info in ZOO.items():
        if info.task == 'classification':
            for tag, cfg in pretrained_cfgs(info).items():
                cfgs[name + ('.' + tag if tag else '')] = cfg
    module.default_cfgs = generate_default_cfgs(cfgs)
    for name, info in ZOO.items():
        if not hasattr(module, name):
            fn = _entry(info)
            setattr(module, name, fn)
            if info.task == 'classification':
                register_model(fn)


def get_model(name, pretrained=False, **kwargs):
    """Build a zoo network in PyTorch.

    ``name``: a zoo name, with a pretrained tag if you like (``iaff_resnet50.in1k``).
    ``pretrained``: False (the original's initialisation), True (the released file of the
    tag, or the default one: downloaded and verified by git blob id into ``root``, default
    ``~/.mxnet/models``), a tag or label set (``'cifar100_coarse'``, ``'coarse'``), or a path
    (an MXNet ``.params``, a ``.safetensors`` or a PyTorch state dict). Other arguments: the
    name's own (``get_model_info(name).arguments``: ``blocks``, ``layers`` ...), ``classes``
    or timm's ``num_classes``, timm's ``global_pool``, ``drop_rate``, ``drop_path_rate``,
    ``output_stride``, ``features_only``/``out_indices``/``feature_cls``, ``device``,
    ``dtype``, and ``attention_norm``.
    """
    info = get_model_info(name)
    if '.' in str(name):
        kwargs.setdefault('pretrained_cfg', str(name).split('.', 1)[1])
    return build_model(info, pretrained=pretrained, **kwargs)


def set_attention_norm(net, mode):
    """Make the BatchNorms inside the fusion modules run on their running statistics
    (``'global_stats'``), also untrained (``'frozen'``), or on batch statistics (``'batch'``,
    as released): ``gluon_aff.core.attention_norm``. Returns how many BatchNorms it set."""
    check_attention_norm(mode)
    norms = []
    for module in net.modules():
        if hasattr(type(module), 'fusion_name') or isinstance(module, MultiAFF):
            norms.extend(m for m in module.modules() if isinstance(m, BatchNorm2d))
    for bn in norms:
        bn.use_global_stats = mode != 'batch'
        for p in (bn.weight, bn.bias):
            p.requires_grad_(mode != 'frozen')
    net.attention_norm = mode
    return len(norms)


def _class_arguments(info, network_class, timm_args):
    """The timm arguments the family's class takes; one it lacks is refused by name
    unless it has its neutral value."""
    cls_params = inspect.signature(network_class).parameters
    taken, neutral = {}, {'drop_rate': 0.0, 'drop_path_rate': 0.0, 'output_stride': None,
                          'global_pool': 'avg'}
    for key, value in timm_args.items():
        if key in cls_params:
            taken[key] = value
        elif value != neutral[key]:
            raise ValueError('%s does not take %s=%r: %s' % (info.name, key, value, {
                'output_stride': 'only the ImageNet ResNet and ResNeXt hosts dilate '
                                 '(output_stride 8 or 16)',
                'drop_path_rate': 'its blocks have no residual branch to drop',
                'drop_rate': 'a segmentation network has no classifier dropout',
                'global_pool': 'a segmentation network keeps its map unpooled'}[key]))
    return taken


def _resolve_cfg(info, pretrained_cfg, overlay):
    """The pretrained config as timm's builder makes it (``resolve_pretrained_cfg``, then
    ``PretrainedCfg.to_dict()``) from a tag (default: the name's first), a dict or timm's
    PretrainedCfg, updated with the overlay. Tags are looked up in the zoo's released files
    as they are now, not as timm's registry recorded them at import."""
    if pretrained_cfg is None or isinstance(pretrained_cfg, str):
        cfgs = pretrained_cfgs(info)
        tag = pretrained_cfg or next(iter(cfgs))
        if tag not in cfgs:
            raise ValueError("%s has no pretrained tag '%s'; its tags: %s"
                             % (info.name, tag,
                                ', '.join(t for t in cfgs if t) or 'none (no released file)'))
        pretrained_cfg = cfgs[tag]
    elif not isinstance(pretrained_cfg, dict):
        pretrained_cfg = pretrained_cfg.to_dict(remove_source=False, remove_null=False)
    return resolve_pretrained_cfg(info.name, pretrained_cfg, overlay).to_dict()


def _weights_source(info, pretrained, cfg):
    """What ``pretrained=True`` loads under ``cfg``: (kind, location)."""
    source = cfg.get('source')
    if source == 'local-dir':
        return 'file', _hub_dir_weights(cfg['file'])
    if source == 'hf-hub':
        return 'hf-hub', cfg['hf_hub_id']
    if cfg.get('state_dict') is not None:
        return 'state_dict', cfg['state_dict']
    if cfg.get('file'):
        path = cfg['file']
        return 'file', _hub_dir_weights(path) if os.path.isdir(path) else path
    tag = cfg.get('tag')
    if not info.pretrained_tags:
        return 'released', True         # names the released ones in the error
    return 'released', LABEL_SETS[tag] if tag else True


def _classes_from_file(kwargs, path):
    """A ``.safetensors`` of gluon-aff's says how many classes its head has (the class
    names in its metadata): the network is built with that head."""
    names = pretrained_module.checkpoint_metadata(os.path.expanduser(path)).get('class_names')
    if names:
        kwargs['classes'] = len(names)


def _hub_dir_weights(folder):
    for candidate in ('model.safetensors', 'pytorch_model.bin'):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise CheckpointError('%s holds no model.safetensors (nor pytorch_model.bin); write the '
                          'folder with `gluon-aff convert NAME --hub-dir %s`' % (folder, folder))


def _network_arguments(info, network_class, kwargs, pretrained):
    """The family class's keyword arguments from the user's (the zoo's and timm's), and
    the pooling of a headless network (timm's ``num_classes=0``), or False."""
    num_classes = kwargs.pop('num_classes', None)
    if num_classes is not None:
        if 'classes' in kwargs and kwargs['classes'] != num_classes:
            raise ValueError('%s: classes=%r and num_classes=%r disagree; give one'
                             % (info.name, kwargs['classes'], num_classes))
        kwargs['classes'] = num_classes
    timm_args = {k: kwargs.pop(k) for k in _CLASS_ARGUMENTS if k in kwargs}
    headless = False
    if kwargs.get('classes') == 0:      # timm: no classifier; forward gives the features
        del kwargs['classes']
        headless = timm_args.pop('global_pool', None)
    elif 'classes' not in kwargs and isinstance(pretrained, str):
        _classes_from_file(kwargs, pretrained)
    check_arguments(info, kwargs)
    return (dict(info.class_arguments(kwargs),
                 **_class_arguments(info, network_class, timm_args)), headless)


def _load_weights(net, info, pretrained, cfg, root, cache_dir):
    """``pretrained``: True (what ``cfg`` names: the released file of its tag, a file, a
    Hub folder or repository), a tag or label set, or a path."""
    if pretrained is True:
        kind, pretrained = _weights_source(info, pretrained, cfg)
        if kind == 'hf-hub':
            pretrained = load_state_dict_from_hf(pretrained, cache_dir=cache_dir)
    pretrained_module.load_checkpoint(net, info.name, pretrained, root=root)


def build_model(info, pretrained=False, root=None, attention_norm='batch', out_stages=None,
                features_only=False, out_indices=None, feature_cls=None, feature_cfg=None,
                pretrained_cfg=None, pretrained_cfg_overlay=None, cache_dir=None, device=None,
                dtype=None, pretrained_model_args=None, in_chans=3, **kwargs):
    """The one path from a declared name to a twin network (see ``get_model``), as timm's
    ``build_model_with_cfg``: the resolved pretrained config, the network, its traits,
    the weights, the feature wrapper."""
    if info.family not in _BUILDERS:
        raise NotImplementedError('%s: the PyTorch twin has no implementation of the family %s '
                                  '(gluon_aff/torch/models/ registers none)'
                                  % (info.name, info.family))
    builder, network_class = _BUILDERS[info.family]
    if in_chans != 3:
        raise ValueError('%s takes RGB images: in_chans=%r is not supported' % (info.name,
                                                                               in_chans))
    check_attention_norm(attention_norm)
    class_args, headless = _network_arguments(info, network_class, kwargs, pretrained)
    if feature_cls is not None and str(feature_cls).lower() not in _FEATURE_CLASSES:
        raise ValueError("feature_cls=%r: the twin's features come as timm's %s"
                         % (feature_cls, ', '.join("'%s'" % c for c in _FEATURE_CLASSES)))
    cfg = _resolve_cfg(info, pretrained_cfg, pretrained_cfg_overlay)
    on_meta = device is not None and torch.device(device).type == 'meta'
    if pretrained and on_meta:
        raise ValueError("%s: weights cannot be loaded on device='meta'; build it there with "
                         'pretrained=False and load them later (load_state_dict(..., '
                         'assign=True))' % info.name)
    with torch.device(device) if device is not None else contextlib.nullcontext():
        net = builder(**class_args)
        if not on_meta:
            init_like_original(net, info.init)
    net.zoo_name = info.name
    net.train_size = info.input_size
    net.pretrained_cfg = net.default_cfg = cfg
    net.pretrained_model_args = dict(pretrained_model_args or {})
    _init_model_traits(net, {}, cfg)
    net.check_contract()
    set_attention_norm(net, attention_norm)
    if pretrained:
        _load_weights(net, info, pretrained, cfg, root, cache_dir)
    if headless is not False:
        net.reset_classifier(0, headless)
    if dtype is not None:
        net.to(dtype)
    if features_only or out_indices is not None or out_stages is not None:
        return feature_network(net, out_indices, out_stages, feature_cls, feature_cfg)
    return net


def feature_network(net, out_indices=None, out_stages=None, feature_cls=None,
                    feature_cfg=None):
    """``net`` wrapped by timm's feature class ``feature_cls`` ('list' by default, as
    timm's ResNets; 'getter', 'hook', 'dict', 'fx'), returning the maps of ``out_indices``
    (into ``feature_info``: 0 the stem, then the stages; default all) or of ``out_stages``
    (stage numbers, 0 the stem)."""
    count = len(net.feature_info)
    if out_stages is not None:
        picked = [s for s in (out_stages if hasattr(out_stages, '__len__') else [out_stages])]
        if out_indices is not None or any(not isinstance(s, int) or not 0 <= s < count
                                          for s in picked) or not picked:
            raise ValueError('out_stages=%r: stage numbers between 1 and %d (0 the stem), '
                             'and not together with out_indices' % (out_stages, count - 1))
    else:
        picked, _ = take_indices(count, out_indices, 'out_indices')
    kind = str(feature_cls or 'list').lower()
    cfg = dict(feature_cfg or {})
    if kind in ('list', 'dict', 'hook'):
        cfg.setdefault('flatten_sequential', net.flatten_features)
    cls = {'list': FeatureListNet, 'dict': FeatureDictNet, 'hook': FeatureHookNet,
           'getter': FeatureGetterNet, 'fx': FeatureGraphNet}[kind]
    features = cls(net, out_indices=tuple(picked), **cfg)
    features.zoo_name = net.zoo_name
    features._traits = dict(net._traits)
    features.pretrained_cfg = features.default_cfg = pretrained_cfg_for_features(
        net.pretrained_cfg)
    return features
