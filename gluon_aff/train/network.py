"""Networks and checkpoint names from the training scripts' options."""
import logging

from ..model_zoo import get_model, get_model_info, list_models
from ..model_zoo.cifar_resnet import CIFARAFFResNet
from ..model_zoo.cifar_resnext import CIFARAFFResNeXt
from ..model_zoo.pretrained import load_pretrained
from ..model_zoo.resnet import AFFResNet, RESNET_LAYERS
from ..model_zoo.resnext import AFFResNeXt, RESNEXT_LAYERS
from ..nn import list_fusions, resolve_fusion, set_attention_norm

__all__ = ['build_cifar_network', 'build_imagenet_network', 'ORIGINAL_FUSION_NAMES',
           'disable_wd_on_norm_and_bias']

logger = logging.getLogger('gluon_aff')

# Checkpoint names use the original strings, as the released files do.
ORIGINAL_FUSION_NAMES = {'add': 'DirectAdd', 'aff': 'ASKCFuse',
                         'iaff': 'ResGlobLocaforGlobLocaCha'}


def _model_choice(opt):
    if not opt.model:
        raise ValueError('--model is required: resnet or resnext (with --askc-type), or a zoo '
                         "name such as cifar_aff_resnet32 (`gluon-aff list`)")
    model = opt.model.lower()
    if model in ('resnet', 'resnext'):
        return model
    try:
        get_model_info(model)
    except ValueError as e:
        raise ValueError('--model %s: %s Or use --model resnet / resnext.' % (opt.model, e))
    return model


def _fusion_choice(opt):
    if not opt.askc_type:
        raise ValueError('--askc-type is required with --model %s: one of %s (or the '
                         'original DirectAdd, ASKCFuse, ResGlobLocaforGlobLocaCha)'
                         % (opt.model, ', '.join(list_fusions())))
    try:
        return resolve_fusion(opt.askc_type)
    except ValueError as e:
        raise ValueError('--askc-type: %s' % e)


def _type_string(fusion):
    return ORIGINAL_FUSION_NAMES.get(fusion, fusion)


def _given(opt, dest):
    """Whether an option overrides the zoo name's value: given (not None), or a switch
    that is on."""
    value = getattr(opt, dest)
    return value is not None and value is not False


def _zoo_kwargs(opt, mapping):
    """Constructor arguments of a zoo network from the options given."""
    kwargs = {}
    if opt.askc_type:
        kwargs['fusion'] = _fusion_choice(opt)
    for dest, arg in mapping:
        if _given(opt, dest):
            kwargs[arg] = getattr(opt, dest)
    return kwargs


# the options an AFINets family takes (the AFI settings fix widths and ratios)
_AFI_OPTIONS = {'cifar_afi_resnet': ('blocks',)}


def _afi_mapping(info, opt, mapping):
    """The AFINets families take few of the AFF options; name the ones given in vain."""
    allowed = _AFI_OPTIONS.get(info.family, ())
    given = [dest for dest, _ in mapping if _given(opt, dest) and dest not in allowed]
    if given:
        raise ValueError('--%s does not apply to %s (%s); %s' % (
            given[0].replace('_', '-'), info.name, info.family,
            'it takes --%s' % ', --'.join(allowed) if allowed else 'it takes none of '
            '--blocks/--channel-times/--r/--start-layer/--deep-stem/--drop-rate'))
    return [(dest, arg) for dest, arg in mapping if dest in allowed]


def _load_release(net, zoo_name, ctx):
    info = get_model_info(zoo_name) if zoo_name in list_models() else None
    if info is None or not info.checkpoints:
        released = sorted({c.model for n in list_models() for c in get_model_info(n).checkpoints})
        raise ValueError('--use-pretrained: %s has no released checkpoint; released ones exist '
                         'for %s' % (zoo_name, ', '.join(released)))
    load_pretrained(net, zoo_name, True, ctx=ctx)
    logger.info('started from the released checkpoint %s', net.checkpoint.file)


def build_cifar_network(opt, classes, ctx=None):
    """(network, model name for checkpoints, zoo name or None) for train_cifar.py: ``opt``
    is a ``CifarConfig`` (or any object with its fields)."""
    model = _model_choice(opt)
    start_layer = opt.start_layer if opt.start_layer is not None else 1
    if model in ('resnet', 'resnext'):
        fusion = _fusion_choice(opt)
        kind = _type_string(fusion)
        # the original script's defaults for its host networks
        blocks = 1 if opt.blocks is None else opt.blocks
        channel_times = 4 if opt.channel_times is None else opt.channel_times
        drop_rate = opt.drop_rate or 0.0
        if model == 'resnet':
            depth = 6 * blocks + 2
            net = CIFARAFFResNet(fusion, start_layer, [blocks] * 3,
                                 [c * channel_times for c in (16, 16, 32, 64)],
                                 classes=classes, deep_stem=opt.deep_stem,
                                 r=opt.r or 4, drop_rate=drop_rate)
            name = '%s-%s-resnet-%d-c-%d-s-%d' % (opt.dataset, kind, depth, channel_times,
                                                  start_layer)
            zoo = 'cifar_%s_resnet%d' % (fusion, depth)
        else:
            depth = 9 * blocks + 2
            width = 16 * channel_times
            cardinality = 64 if width == 128 else 32    # the original's choice for 8x
            net = CIFARAFFResNeXt(fusion, start_layer, [blocks] * 3, channels=width,
                                  cardinality=cardinality, bottleneck_width=4, classes=classes,
                                  deep_stem=opt.deep_stem, r=opt.r or 16,
                                  drop_rate=drop_rate)
            name = '%s-%s-resneXt-%d-%dx4-c-%d-s-%d' % (opt.dataset, kind, depth, cardinality,
                                                       channel_times, start_layer)
            zoo = 'cifar_%s_resnext%d_32x4d' % (fusion, depth)
        net.zoo_name = zoo
    else:
        info = get_model_info(model)
        mapping = [('start_layer', 'start_layer'), ('r', 'r')]
        if info.family.startswith('cifar'):
            mapping += [('blocks', 'blocks'), ('channel_times', 'channel_times'),
                        ('deep_stem', 'deep_stem'), ('drop_rate', 'drop_rate')]
        if '_afi_' in info.family:
            mapping = _afi_mapping(info, opt, mapping)
        net = get_model(model, classes=classes, **_zoo_kwargs(opt, mapping))
        zoo = model
        name = '%s-%s' % (opt.dataset, model)
    set_attention_norm(net, opt.attention_norm)
    if opt.use_pretrained:
        _load_release(net, zoo, ctx)
    return net, name, zoo


def build_imagenet_network(opt, classes=1000, ctx=None):
    """(network, model name for checkpoints, zoo name or None) for train_imagenet.py:
    ``opt`` is an ``ImageNetConfig`` (or any object with its fields)."""
    model = _model_choice(opt)
    start_layer = opt.start_layer if opt.start_layer is not None else 3
    norm = {}
    if opt.use_gn:
        from gluoncv.nn import GroupNorm
        norm = dict(norm_layer=GroupNorm, norm_kwargs={'ngroups': 32})
    if model in ('resnet', 'resnext'):
        fusion = _fusion_choice(opt)
        layers = (RESNET_LAYERS if model == 'resnet' else RESNEXT_LAYERS).get(opt.num_layer)
        if layers is not None and getattr(opt, 'test_layers', None):
            layers = [opt.test_layers] * 4
        if layers is None:
            raise ValueError('--num-layer %d is not available for --model %s; use %s' % (
                opt.num_layer, model, '/'.join(str(k) for k in sorted(
                    RESNET_LAYERS if model == 'resnet' else RESNEXT_LAYERS))))
        if model == 'resnet':
            net = AFFResNet(fusion, start_layer, layers, classes=classes, deep_stem=True,
                            avg_down=True, last_gamma=opt.last_gamma, r=opt.r or 16, **norm)
        else:
            # The ResNeXt block's flag is inverted (see AFFResNeXtBlock): pass the
            # opposite so that --last-gamma means zero-initialised gammas here too.
            net = AFFResNeXt(fusion, start_layer, layers, classes=classes,
                             last_gamma=not opt.last_gamma, use_se=opt.use_se,
                             r=opt.r or 16, **norm)
        name = 'ImageNet-%s-%s--%d-s-%d' % (_type_string(fusion), model, opt.num_layer,
                                             start_layer)
        prefix = {'add': '', 'aff': 'aff_', 'iaff': 'iaff_'}.get(fusion)
        zoo = None if prefix is None else (
            'resnet50_add' if (model, fusion, opt.num_layer) == ('resnet', 'add', 50) else
            '%s%s%d%s' % (prefix, model, opt.num_layer, '_32x4d' if model == 'resnext' else ''))
        net.zoo_name = zoo or name
    else:
        info = get_model_info(model)
        mapping = [('start_layer', 'start_layer'), ('r', 'r')]
        if info.family == 'imagenet_resnext':
            mapping.append(('use_se', 'use_se'))
        if '_afi_' in info.family:
            mapping = _afi_mapping(info, opt, mapping)
            if opt.use_gn or opt.last_gamma:
                raise ValueError('--use-gn/--last-gamma do not apply to %s' % info.name)
        kwargs = _zoo_kwargs(opt, mapping)
        if info.family in ('imagenet_resnet', 'imagenet_resnext'):
            if getattr(opt, 'test_layers', None):
                kwargs['layers'] = [opt.test_layers] * 4
            if opt.last_gamma:
                kwargs['last_gamma'] = info.family == 'imagenet_resnet'
            kwargs.update(norm)
        net = get_model(model, classes=classes, **kwargs)
        zoo = model
        name = 'ImageNet-%s' % model
    set_attention_norm(net, opt.attention_norm)
    if opt.use_pretrained:
        _load_release(net, zoo, ctx)
    return net, name, zoo


def disable_wd_on_norm_and_bias(net):
    """--no-wd: weight-decay multiplier 0 for BN/GN gamma and beta and all biases."""
    params = net.collect_params('.*beta|.*gamma|.*bias')
    for p in params.values():
        p.wd_mult = 0.0
    return sorted(params.keys())
