"""The MXNet zoo's names, made from the one declaration (``gluon_aff.core.zoo``).

A family module implements a declared family with ``register_family(name, builder)``;
``make_entries`` then gives every declared name an entry function
``fn(pretrained=False, ctx=cpu(), root=None, **kwargs)`` (``gluon_aff.model_zoo.NAME``,
and gluoncv's table), and ``build_model`` is the one path from there to a network:
the one argument check, the family's class, the ZooNet contract, features, attention
BatchNorms, weights.
"""
import inspect
from collections import OrderedDict

from mxnet import cpu

from ..core.arguments import check_arguments
from ..core.model_info import ModelInfo  # noqa: F401 (re-exported)
from ..core.zoo import ZOO, get_model_info, list_models  # noqa: F401 (re-exported)

__all__ = ['ModelInfo', 'register_family', 'make_entries', 'entry_function', 'get_model',
           'list_models', 'get_model_info', 'build_model', 'implemented_families',
           'GLUONCV_ALIASES']

_BUILDERS = OrderedDict()   # family -> (builder, the MXNet-only arguments it takes)
_ENTRIES = OrderedDict()    # zoo name -> entry function

# arguments every MXNet zoo network takes besides its family's (gluon_aff.core.families)
MXNET_ARGUMENTS = ('features_only', 'out_stages', 'out_indices', 'attention_norm')


# the MXNet-only arguments a family's class may take (gluoncv's norm_layer convention)
_MXNET_ONLY = ('norm_layer', 'norm_kwargs')


def register_family(family, builder, network_class=None):
    """``builder(**class_arguments)`` builds the MXNet network of the declared ``family``
    (``gluon_aff.core.families``); ``network_class``: the class it builds, when
    ``builder`` is a function. Where that class takes ``norm_layer``/``norm_kwargs``
    (gluoncv's convention), users may pass them too."""
    if family in _BUILDERS:
        raise ValueError('family %s is implemented twice' % family)
    taken = inspect.signature(network_class or builder).parameters
    _BUILDERS[family] = (builder, tuple(k for k in _MXNET_ONLY if k in taken))
    return builder


def implemented_families():
    """The families this side implements."""
    return list(_BUILDERS)


def _entry(info):
    name = info.name

    def entry(pretrained=False, ctx=cpu(), root=None, **kwargs):
        return get_model(name, pretrained=pretrained, ctx=ctx, root=root, **kwargs)
    entry.__name__ = entry.__qualname__ = name
    entry.__module__ = 'gluon_aff.model_zoo'
    entry.__doc__ = '%s. Takes %s.' % (info.description, ', '.join(
        ('classes',) + info.arguments))
    return entry


def make_entries():
    """One entry function per declared name (``gluon_aff.model_zoo.NAME``), put in
    gluoncv's table when gluoncv is installed."""
    for name, info in ZOO.items():
        if name not in _ENTRIES:
            _ENTRIES[name] = _entry(info)
            _register_in_gluoncv(name, _ENTRIES[name])


def entry_function(name):
    """The entry function of a zoo name (what gluoncv's table holds)."""
    return _ENTRIES[get_model_info(name).name]


# zoo name -> the name it has in gluoncv's table, where gluoncv has a network of its own
# under the zoo name (gluoncv's is kept under that name)
GLUONCV_ALIASES = OrderedDict()


def _register_in_gluoncv(name, fn):
    """Make ``gluoncv.model_zoo.get_model(name)`` build the same network; a name gluoncv
    already uses for its own network is registered as ``gluon_aff_NAME``
    (``GLUONCV_ALIASES``)."""
    try:
        from gluoncv.model_zoo import model_zoo as gcv_zoo
    except ImportError:  # gluoncv is optional for the zoo itself
        return
    if name in gcv_zoo._models and gcv_zoo._models[name] is not fn:
        GLUONCV_ALIASES[name] = 'gluon_aff_' + name
        name = GLUONCV_ALIASES[name]
    gcv_zoo._models[name] = fn


def get_model(name, pretrained=False, ctx=cpu(), root=None, classes=None, **kwargs):
    """Build a zoo network.

    Parameters
    ----------
    name : str
        A name from ``list_models()``.
    pretrained : bool or str
        False: uninitialised network (call ``net.initialize()``), as gluoncv.
        True: the model's default released checkpoint; a tag (``'in1k'``, ``'cifar100'``,
        ``'cifar100_coarse'``) or a label set (``'fine'``/``'coarse'``) picks one; a path
        loads that file.
    ctx : Context
        Where loaded parameters live.
    root : str
        Folder of released checkpoints (default ``$MXNET_HOME/models`` or
        ``~/.mxnet/models``).
    classes : int
        Size of the classifier; with a checkpoint of another size, everything
        but the classifier is loaded and the classifier is re-initialised.
    features_only : bool
        Return feature maps instead of logits: those of ``out_indices`` (indices into
        ``feature_info``: 0 the stem, then the stages, as timm's), default all.
    out_stages : sequence of int
        The same by stage number (1-based; the stem is stage 0).
    attention_norm : 'batch', 'global_stats' or 'frozen'
        How the attention modules' BatchNorms run: 'batch' as released;
        'global_stats'/'frozen' for training with one image per device
        (``gluon_aff.core.attention_norm``). Checkpoint keys are the same.
    **kwargs
        The name's build arguments (``get_model_info(name).arguments``: ``layers``,
        ``blocks``, ``channel_times``, ``start_layer``, ``r`` ...) and, where the family
        takes them, ``norm_layer``/``norm_kwargs``.
    """
    info = get_model_info(name)
    if classes is not None:
        kwargs['classes'] = classes
    return build_model(info, pretrained=pretrained, ctx=ctx, root=root, **kwargs)


def build_model(info, pretrained=False, ctx=cpu(), root=None, features_only=False,
                out_stages=None, out_indices=None, attention_norm='batch', **kwargs):
    """The one path from a declared name to an MXNet network: check the arguments, build
    the family's class, check the ZooNet contract, pick the feature maps, set how the
    attention BatchNorms run (``gluon_aff.nn.set_attention_norm``), load weights."""
    if info.family not in _BUILDERS:
        raise NotImplementedError('%s: the MXNet zoo has no implementation of the family %s '
                                  '(gluon_aff/model_zoo/ registers none)'
                                  % (info.name, info.family))
    builder, extras = _BUILDERS[info.family]
    check_arguments(info, kwargs, extras)
    mxnet_only = {k: kwargs.pop(k) for k in extras if k in kwargs}
    net = builder(**info.class_arguments(kwargs), **mxnet_only)
    net.zoo_name = info.name
    net.train_size = info.input_size
    net.check_contract()
    if features_only or out_stages is not None or out_indices is not None:
        net.set_features(out_indices=out_indices, out_stages=out_stages)
    from ..nn.attention_norm import set_attention_norm
    set_attention_norm(net, attention_norm)
    if pretrained:
        from .pretrained import load_pretrained
        load_pretrained(net, info.name, pretrained, ctx=ctx, root=root)
    return net
