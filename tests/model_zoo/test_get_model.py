"""The zoo as a user of gluoncv's model zoo meets it."""
import logging

import mxnet as mx
import numpy as np
import pytest

import gluon_aff
from helpers import randomize
from gluon_aff.model_zoo import get_model, get_model_info, list_models

HOST_NAMES = (
    ['aff_resnet50', 'iaff_resnet50', 'aff_resnet101', 'iaff_resnet101', 'aff_resnet152',
     'iaff_resnet152', 'aff_resnext50_32x4d', 'iaff_resnext50_32x4d', 'aff_resnext101_32x4d',
     'iaff_resnext101_32x4d', 'resnet50_add']
    + ['cifar_%s_resnet%d' % (f, d) for f in ('aff', 'iaff', 'add') for d in (20, 32, 44, 56, 110)]
    + ['cifar_%s_resnext%d_32x4d' % (f, d) for f in ('aff', 'iaff', 'add') for d in (38, 47)])

# One small network per family: (name, kwargs, input size, stage shapes)
SMALL = [
    ('iaff_resnet50', dict(layers=[1, 1, 1, 1], stem_width=8), 64,
     [(256, 16), (512, 8), (1024, 4), (2048, 2)]),
    ('aff_resnext50_32x4d', dict(layers=[1, 1, 1, 1], stem_width=16), 64,
     [(256, 16), (512, 8), (1024, 4), (2048, 2)]),
    ('cifar_iaff_resnet20', dict(blocks=1, channel_times=1), 32, [(16, 32), (32, 16), (64, 8)]),
    ('cifar_aff_resnext38_32x4d', dict(blocks=1, channel_times=1), 32,
     [(64, 32), (128, 16), (256, 8)]),
]
SMALL_IDS = [s[0] for s in SMALL]


def small(name, kwargs, seed=0, **extra):
    kw = dict(kwargs)
    kw.update(extra)
    return randomize(get_model(name, **kw), seed)


def batch(size, n=2, seed=0):
    return mx.nd.array(np.random.RandomState(seed).uniform(-1, 1, (n, 3, size, size)))


FOUNDATION_FAMILIES = ('imagenet_resnet', 'imagenet_resnext', 'cifar_resnet', 'cifar_resnext')


def test_the_aff_host_families_hold_exactly_these_names():
    from gluon_aff.model_zoo import get_model_info
    foundation = [n for n in list_models() if get_model_info(n).family in FOUNDATION_FAMILIES]
    assert sorted(HOST_NAMES) == foundation


def test_list_models_wildcards():
    assert list_models('*iaff_resnet*') == ['cifar_iaff_resnet110', 'cifar_iaff_resnet20',
                                            'cifar_iaff_resnet32', 'cifar_iaff_resnet44',
                                            'cifar_iaff_resnet56', 'iaff_resnet101',
                                            'iaff_resnet152', 'iaff_resnet50']
    assert list_models('resnet50_add') == ['resnet50_add']
    assert list_models('nothing*') == []
    assert gluon_aff.list_models('*aff*') == list_models('*aff*')


def test_unknown_model_lists_close_names():
    with pytest.raises(ValueError) as err:
        get_model('iaff_resnet05')
    assert "unknown model 'iaff_resnet05'" in str(err.value)
    assert 'iaff_resnet50' in str(err.value)


def test_metadata():
    info = get_model_info('iaff_resnet50')
    assert (info.family, info.fusion, info.input_size, info.classes) == (
        'imagenet_resnet', 'iaff', 224, 1000)
    assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
    assert (info.crop_ratio, info.interpolation) == (0.875, 'bilinear')
    assert [c.labels for c in info.checkpoints] == ['imagenet']
    c = get_model_info('cifar_aff_resnet32')
    assert (c.family, c.input_size, c.classes, c.mean) == (
        'cifar_resnet', 32, 100, (0.4914, 0.4822, 0.4465))
    assert sorted(k.labels for k in c.checkpoints) == ['coarse', 'fine']
    assert get_model_info('resnet50_add').fusion == 'add'
    assert get_model_info('cifar_add_resnext47_32x4d').family == 'cifar_resnext'
    assert get_model_info('aff_resnet152').checkpoints == []


def test_gluoncv_get_model_returns_the_same_network():
    import gluoncv
    ours = get_model('iaff_resnet50')
    theirs = gluoncv.model_zoo.get_model('iaff_resnet50')
    assert type(theirs) is type(ours)
    assert [(k, p.shape) for k, p in theirs._collect_params_with_prefix().items()] == \
        [(k, p.shape) for k, p in ours._collect_params_with_prefix().items()]
    assert gluoncv.model_zoo.get_model('cifar_aff_resnet32', classes=10).classes == 10


def test_constructor_kwargs_reach_the_network():
    net = get_model('cifar_aff_resnet32', blocks=2, channel_times=2, classes=10)
    assert [len(s) for s in net.stage_layers()] == [2, 2, 2]
    assert net.feature_channels == (32, 64, 128) and net.classes == 10
    net = get_model('cifar_aff_resnet32', start_layer=3, r=8)
    assert [type(s[0].attention).__name__ for s in net.stage_layers()] == ['Add', 'Add', 'AFF']
    assert net.features[4][0].attention.local_att[0].weight.shape == (32, 256, 1, 1)
    net = get_model('aff_resnet50', start_layer=5)
    assert all(type(b.attention).__name__ == 'Add' for s in net.stage_layers() for b in s)
    net = get_model('aff_resnet50', layers=[1, 1, 2, 1], fusion='ResGlobLocaforGlobLocaCha')
    assert len(net.layer3) == 2 and type(net.layer4[0].attention).__name__ == 'IAFF'
    net = get_model('cifar_aff_resnext38_32x4d', blocks=1, channel_times=2)
    assert net.feature_channels == (128, 256, 512)


@pytest.mark.parametrize('name,kwargs,size,stages', SMALL, ids=SMALL_IDS)
def test_hybridized_export_and_roundtrip(name, kwargs, size, stages, tmp_path):
    net = small(name, kwargs)
    x = batch(size)
    imperative = net(x).asnumpy()
    net.hybridize(static_alloc=True, static_shape=True)
    np.testing.assert_allclose(net(x).asnumpy(), imperative, rtol=1e-5, atol=1e-6)
    # export -> SymbolBlock.imports
    prefix = str(tmp_path / name)
    net.export(prefix)
    sym = mx.gluon.SymbolBlock.imports(prefix + '-symbol.json', ['data'], prefix + '-0000.params')
    np.testing.assert_allclose(sym(x).asnumpy(), imperative, rtol=1e-5, atol=1e-6)
    # save_parameters -> load into a fresh network
    net.save_parameters(prefix + '.params')
    fresh = get_model(name, **kwargs)
    fresh.load_parameters(prefix + '.params')
    np.testing.assert_allclose(fresh(x).asnumpy(), imperative, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('name,kwargs,size,stages', SMALL, ids=SMALL_IDS)
def test_features_only(name, kwargs, size, stages, tmp_path):
    net = small(name, kwargs)
    x = batch(size, n=1)
    expected = [(1, c, s, s) for c, s in stages]
    assert [f.shape for f in net.forward_intermediates(x, intermediates_only=True)[1:]] == \
        expected
    assert net.forward_features(x).shape == expected[-1]       # the last stage's map
    final, maps = net.forward_intermediates(x, indices=[1, -1])
    assert [m.shape for m in maps] == [expected[0], expected[-1]]
    np.testing.assert_array_equal(final.asnumpy(), maps[-1].asnumpy())
    net.save_parameters(str(tmp_path / 'net.params'))
    # same keys as the classifier network, so its checkpoints load
    feats = get_model(name, features_only=True, pretrained=str(tmp_path / 'net.params'), **kwargs)
    feats.hybridize()
    out = feats(x)
    assert [o.shape for o in out] == expected
    np.testing.assert_allclose(out[-1].asnumpy(), net.forward_features(x).asnumpy(),
                               rtol=1e-5, atol=1e-6)
    two = get_model(name, out_stages=(2,), **kwargs)
    two.initialize()
    assert two(x).shape == expected[1]
    with pytest.raises(ValueError, match='out_stages'):
        get_model(name, out_stages=(0, 9), **kwargs)
    # timm's out_indices: 0 the stem, negative from the end, never wrapped around
    last = get_model(name, features_only=True, out_indices=(-1,), **kwargs)
    last.initialize()
    assert last(x).shape == expected[-1]
    with pytest.raises(ValueError, match=r'out_indices=\(7,\).*indices must be in'):
        get_model(name, features_only=True, out_indices=(7,), **kwargs)


def test_float16_checkpoint_loads_into_float32_network(tmp_path):
    name, kwargs = 'iaff_resnet50', dict(layers=[1, 1, 1, 1], stem_width=8)
    net = small(name, kwargs)
    x = batch(64)
    reference = net(x).asnumpy()
    net.cast('float16')     # as the released ImageNet files: conv/dense float16, BN float32
    path = str(tmp_path / 'half.params')
    net.save_parameters(path)
    saved = mx.nd.load(path)
    assert saved['conv1.0.weight'].dtype == np.float16
    assert saved['bn1.gamma'].dtype == np.float32
    fresh = get_model(name, pretrained=path, **kwargs)
    assert all(np.dtype(p.dtype) == np.float32 for p in fresh.collect_params().values())
    assert all(p.data().dtype == np.float32 for p in fresh.collect_params().values())
    np.testing.assert_allclose(fresh(x).asnumpy(), reference, rtol=2e-2, atol=2e-2)


def test_head_replacement_and_pretrained_with_other_classes(tmp_path, caplog):
    name, kwargs = 'cifar_aff_resnet20', dict(blocks=1, channel_times=1)
    net = small(name, kwargs)
    path = str(tmp_path / 'c100.params')
    net.save_parameters(path)
    x = batch(32)
    feats = net.forward_features(x).asnumpy()
    logger = logging.getLogger('gluon_aff')   # training's setup_logging stops propagation
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger='gluon_aff'):
            tuned = get_model(name, pretrained=path, classes=10, **kwargs)
    finally:
        logger.removeHandler(caplog.handler)
    assert 'classifier was re-initialised' in caplog.text
    assert tuned(x).shape == (2, 10)
    np.testing.assert_allclose(tuned.forward_features(x).asnumpy(), feats, rtol=1e-6)
    net.reset_classifier(5)
    assert net.classes == 5 and net(x).shape == (2, 5)
    assert net.output.weight.shape == (5, 64)
    net.hybridize()
    assert net(x).shape == (2, 5)


def test_group_norm_host():
    from gluoncv.nn import GroupNorm
    net = get_model('aff_resnext50_32x4d', layers=[1, 1, 1, 1], norm_layer=GroupNorm,
                    norm_kwargs={'ngroups': 8})
    keys = list(net._collect_params_with_prefix())
    assert 'features.1.running_mean' not in keys and 'features.1.gamma' in keys
    # attention branches keep BatchNorm, as in the original
    assert 'features.12.0.attention.local_att.1.running_mean' in keys
    net.initialize()
    assert net(batch(64)).shape == (2, 1000)
    net = get_model('cifar_iaff_resnet20', blocks=1, channel_times=1,
                    norm_layer=mx.gluon.nn.GroupNorm, norm_kwargs={'num_groups': 4})
    net.initialize()
    assert net(batch(32)).shape == (2, 100)


def test_dilated_resnet_keeps_stride_8():
    net = get_model('aff_resnet50', layers=[1, 2, 2, 2], stem_width=8, dilated=True,
                    features_only=True)
    net.initialize()
    assert [o.shape[2] for o in net(batch(64, n=1))] == [16, 8, 8, 8]
    assert net.layer4[0].conv2._kwargs['dilate'] == (2, 2)
    assert net.layer4[1].conv2._kwargs['dilate'] == (4, 4)
    assert net.layer3[0].downsample[0]._kwargs['kernel'] == (1, 1)


def test_se_option_and_last_gamma_quirks():
    net = get_model('aff_resnext50_32x4d', layers=[1, 1, 1, 1], use_se=True)
    net.initialize()
    assert net(batch(64)).shape == (2, 1000)
    # ResNeXt: the original's inverted flag (last BN gamma zero when last_gamma=False)
    net = get_model('aff_resnext50_32x4d', layers=[1, 1, 1, 1])
    net.initialize()
    assert net.features[10][0].body[7].gamma.data().abs().sum().asscalar() == 0
    net = get_model('aff_resnext50_32x4d', layers=[1, 1, 1, 1], last_gamma=True)
    net.initialize()
    assert net.features[10][0].body[7].gamma.data().min().asscalar() == 1
    # ResNet: zero gamma when last_gamma=True
    net = get_model('aff_resnet50', layers=[1, 1, 1, 1], last_gamma=True)
    net.initialize()
    assert net.layer1[0].bn3.gamma.data().abs().sum().asscalar() == 0


def test_final_drop_and_use_global_stats():
    net = get_model('aff_resnet50', layers=[1, 1, 1, 1], final_drop=0.5, use_global_stats=True)
    assert net.drop is not None
    assert net.bn1._kwargs['use_global_stats'] is True
    assert net.layer3[0].attention.local_att[1]._kwargs['use_global_stats'] is False


@pytest.mark.parametrize('name,kwargs,size', [
    ('cifar_aff_resnet20', dict(blocks=1, channel_times=1, deep_stem=True), 32),
    ('cifar_iaff_resnext38_32x4d', dict(blocks=1, channel_times=1, deep_stem=True), 32),
    ('aff_resnet50', dict(layers=[1, 1, 1, 1], deep_stem=False), 64),
    ('aff_resnext50_32x4d', dict(layers=[1, 1, 1, 1], deep_stem=False), 64)])
def test_stem_variants(name, kwargs, size):
    net = small(name, kwargs)
    keys = list(net._collect_params_with_prefix())
    if kwargs['deep_stem']:
        assert any(k.startswith('features.%d.6.weight' % (1 if 'resnet20' in name else 0))
                   for k in keys)
    else:
        assert keys[0] in ('conv1.weight', 'features.0.weight')
    out = net(batch(size))
    net.hybridize()
    np.testing.assert_allclose(net(batch(size)).asnumpy(), out.asnumpy(), rtol=1e-5, atol=1e-6)
