"""The one table of zoo names: ``register_model``, ``get_model``, ``list_models``.

Every zoo name is an entry function in its family's module, decorated with
``@register_model`` (as timm's): the function's name is the zoo name, its body calls the
family's builder with the configuration, and ``build_model`` is the one path from there
to a network (arguments, the ZooNet contract, features, attention BatchNorms, weights).
"""
import difflib
import fnmatch
from collections import OrderedDict

from mxnet import cpu

from ..core.preprocessing import CIFAR_PREPROCESS, IMAGENET_PREPROCESS  # noqa: F401 (re-exported)

__all__ = ['ModelInfo', 'register_model', 'get_model', 'list_models', 'get_model_info',
           'build_model', 'check_arguments', 'GLUONCV_ALIASES', 'IMAGENET_PREPROCESS', 'CIFAR_PREPROCESS']



class ModelInfo(object):
    """Metadata of one zoo entry.

    Attributes: ``name``, ``family`` (``imagenet_resnet``, ``imagenet_resnext``,
    ``cifar_resnet``, ``cifar_resnext``), ``fusion`` (canonical fusion name),
    ``input_size``, ``mean``/``std`` (RGB, on [0, 1] pixels), ``crop_ratio``
    and ``interpolation`` of the evaluation resize, ``classes`` (default
    head), ``constructor`` and, via ``checkpoints``, the released files;
    ``preprocessing()`` and ``class_names`` for serving.
    """

    def __init__(self, name, constructor, family, fusion, input_size, mean, std,
                 crop_ratio, interpolation, classes, description=''):
        self.name = name
        self.constructor = constructor
        self.family = family
        self.fusion = fusion
        self.input_size = input_size
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.crop_ratio = crop_ratio
        self.interpolation = interpolation
        self.classes = classes
        self.description = description

    @property
    def checkpoints(self):
        """Released checkpoints of this network (``gluon_aff.model_zoo.pretrained``)."""
        from .pretrained import checkpoints_for
        return checkpoints_for(self.name)

    def preprocessing(self):
        """The evaluation preprocessing as plain data (what exports write beside the model
        and ``deploy.runtimes.preprocess`` reads): input size, crop ratio, interpolation,
        mean and std."""
        return dict(input_size=self.input_size, crop_ratio=self.crop_ratio,
                    interpolation=self.interpolation, mean=list(self.mean), std=list(self.std))

    @property
    def class_names(self):
        """ImageNet's 1,000 class names for the ImageNet networks with the full head, else
        None."""
        if self.classes == 1000 and self.family.startswith('imagenet'):
            from gluoncv.data import ImageNet1kAttr
            return list(ImageNet1kAttr().classes)
        return None

    def as_dict(self):
        return OrderedDict(
            name=self.name, family=self.family, fusion=self.fusion,
            input_size=self.input_size, mean=self.mean, std=self.std,
            crop_ratio=self.crop_ratio, interpolation=self.interpolation,
            classes=self.classes, description=self.description,
            checkpoints=[c.file for c in self.checkpoints])

    def __repr__(self):
        return 'ModelInfo(%s, family=%s, fusion=%s, input_size=%d)' % (
            self.name, self.family, self.fusion, self.input_size)


_MODELS = OrderedDict()


def register_model(family, fusion, preprocess, description=''):
    """Decorator: add the entry function ``fn(pretrained=False, ctx=cpu(), root=None,
    **kwargs)`` to the zoo under its own name, with its family, fusion and the
    preprocessing its weights were trained with."""
    def decorate(fn):
        key = fn.__name__
        if key in _MODELS:
            raise ValueError('zoo name %s is registered twice' % key)
        _MODELS[key] = ModelInfo(key, fn, family, fusion, description=description,
                                 **preprocess)
        _register_in_gluoncv(key, fn)
        return fn
    return decorate


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


def _unknown(name):
    names = list(_MODELS)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    msg = "unknown model '%s'." % name
    if close:
        msg += ' Closest names: %s.' % ', '.join(close)
    msg += (" gluon_aff.model_zoo.list_models('*aff*') (or `gluon-aff list`) lists all %d."
            % len(names))
    return ValueError(msg)


def get_model_info(name):
    """The ``ModelInfo`` of a zoo name (ValueError listing close names if unknown)."""
    info = _MODELS.get(str(name).lower())
    if info is None:
        raise _unknown(name)
    return info


def list_models(pattern=None):
    """Sorted zoo names, optionally filtered by a shell-style wildcard ('*aff*resnet*')."""
    names = sorted(_MODELS)
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
    return names


def get_model(name, pretrained=False, ctx=cpu(), root=None, classes=None, **kwargs):
    """Build a zoo network.

    Parameters
    ----------
    name : str
        A name from ``list_models()``.
    pretrained : bool or str
        False: uninitialised network (call ``net.initialize()``), as gluoncv.
        True: the model's default released checkpoint; ``'fine'``/``'coarse'``
        pick a CIFAR-100 label set; a path loads that file.
    ctx : Context
        Where loaded parameters live.
    root : str
        Folder of released checkpoints (default ``$MXNET_HOME/models`` or
        ``~/.mxnet/models``).
    classes : int
        Size of the classifier; with a checkpoint of another size, everything
        but the classifier is loaded and the classifier is re-initialised.
    features_only : bool
        Return the per-stage feature maps instead of logits (``out_stages``
        picks stages, 1-based).
    attention_norm : 'batch', 'global_stats' or 'frozen'
        How the attention modules' BatchNorms run: 'batch' as released;
        'global_stats'/'frozen' for training with one image per device
        (see ``gluon_aff.nn.set_attention_norm``). Checkpoint keys are the same.
    **kwargs
        Passed to the constructor (``layers``, ``blocks``, ``channel_times``,
        ``start_layer``, ``r``, ``norm_layer`` ...).
    """
    info = get_model_info(name)
    if classes is not None:
        kwargs['classes'] = classes
    check_arguments(info.name, kwargs)     # before the entry function turns them into widths
    return info.constructor(pretrained=pretrained, ctx=ctx, root=root, **kwargs)


# constructor arguments checked before the network is built: name -> (smallest, what)
_COUNTS = {'classes': (1, 'the number of classes'), 'blocks': (1, 'blocks per stage'),
           'channel_times': (1, 'the width multiplier'), 'r': (1, 'the reduction ratio'),
           'start_layer': (1, 'the first stage with attention'),
           'stem_width': (1, 'the stem width')}


def _is_count(value):
    import numbers
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_arguments(name, args):
    """ValueError naming the argument, what it is and what it must be, before MXNet sees
    it: counts are whole numbers from their smallest value, ``layers`` a list of them."""
    for key, (smallest, what) in _COUNTS.items():
        value = args.get(key)
        if value is not None and (not _is_count(value) or value < smallest):
            raise ValueError('%s: %s=%r is not valid; %s must be a whole number of at least %d'
                             % (name, key, value, what, smallest))
    layers = args.get('layers')
    if layers is not None and (isinstance(layers, (str, bytes)) or
                               not hasattr(layers, '__len__') or
                               not all(_is_count(n) and n >= 1 for n in layers)):
        raise ValueError('%s: layers=%r is not valid; give the blocks of each stage as a list '
                         'of whole numbers >= 1, e.g. layers=[3, 4, 6, 3]' % (name, layers))


def build_model(name, cls, args, pretrained=False, ctx=cpu(), root=None,
                features_only=False, out_stages=None, attention_norm='batch', **kwargs):
    """The one path from an entry function to a network: merge the entry's arguments
    with the caller's, build, check the ZooNet contract, pick the feature stages (all of
    the network's own for ``features_only``), set how the attention BatchNorms run
    (``gluon_aff.nn.set_attention_norm``), load weights."""
    info = get_model_info(name)
    args = dict(args)
    args.update(kwargs)
    args.setdefault('classes', info.classes)
    check_arguments(name, args)
    net = cls(**args)
    net.zoo_name = name
    net.train_size = info.input_size
    net.check_contract()
    if features_only or out_stages:
        net.set_out_stages(out_stages or 'all')
    from ..nn.attention_norm import set_attention_norm
    set_attention_norm(net, attention_norm)
    if pretrained:
        from .pretrained import load_pretrained
        load_pretrained(net, name, pretrained, ctx=ctx, root=root)
    return net
