"""Each host family, tiny, against the NumPy reference written from the spec."""
import mxnet as mx
import numpy as np
import pytest

import npref
from helpers import numpy_params, randomize
from gluon_aff.model_zoo import get_model

CASES = [
    # (zoo name, constructor kwargs, reference, reference kwargs, input size)
    ('iaff_resnet50', dict(layers=[2, 1, 1, 1], start_layer=2, stem_width=8),
     npref.imagenet_resnet, dict(layers=[2, 1, 1, 1], kind='iaff', start_layer=2), 67),
    ('aff_resnet50', dict(layers=[1, 2, 1, 1], start_layer=1, stem_width=8),
     npref.imagenet_resnet, dict(layers=[1, 2, 1, 1], kind='aff', start_layer=1), 65),
    ('aff_resnext50_32x4d', dict(layers=[2, 1, 1, 1], start_layer=2, stem_width=16),
     npref.imagenet_resnext, dict(layers=[2, 1, 1, 1], kind='aff', start_layer=2), 67),
    ('cifar_iaff_resnet20', dict(blocks=2, channel_times=1, start_layer=2),
     npref.cifar_resnet, dict(layers=[2, 2, 2], kind='iaff', start_layer=2), 17),
    ('cifar_aff_resnext38_32x4d', dict(blocks=1, channel_times=1),
     npref.cifar_resnext, dict(layers=[1, 1, 1], kind='aff', start_layer=1), 15),
]


@pytest.mark.parametrize('name,kwargs,ref,ref_kwargs,size', CASES,
                         ids=[c[0] for c in CASES])
def test_matches_numpy_reference(name, kwargs, ref, ref_kwargs, size):
    net = randomize(get_model(name, classes=7, **kwargs), seed=1)
    x = np.random.RandomState(2).uniform(-1, 1, (2, 3, size, size))
    out = net(mx.nd.array(x)).asnumpy()
    expected = ref(x, numpy_params(net), **ref_kwargs)
    assert out.shape == expected.shape == (2, 7)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_data_batchnorm_ignores_gamma_but_adds_beta():
    net = randomize(get_model('cifar_add_resnet20', blocks=1, channel_times=1), seed=3)
    x = mx.nd.array(np.random.RandomState(4).uniform(-1, 1, (1, 3, 8, 8)))
    base = net(x).asnumpy()
    net.features[0].gamma.set_data(mx.nd.array([5.0, -3.0, 9.0]))
    np.testing.assert_allclose(net(x).asnumpy(), base, rtol=1e-6)
    net.features[0].beta.set_data(mx.nd.array([1.0, -1.0, 0.5]))
    assert np.abs(net(x).asnumpy() - base).max() > 1e-3
    assert net.features[0].gamma.grad_req == 'null' and net.features[0].beta.grad_req == 'null'


HOSTS = [
    # the same-layer scenario: 3x3 and dilated 3x3 branches, one fusion per block
    ('cifar_inception_aff_b1', dict(blocks=2, channel_times=1), npref.cifar_inception,
     dict(blocks=2, kind='aff'), 13),
    ('cifar_inception_concat_b1', dict(blocks=1, channel_times=1), npref.cifar_inception,
     dict(blocks=1, kind='concat'), 11),
    ('cifar_inception_sk_b1', dict(blocks=1, channel_times=1), npref.cifar_inception,
     dict(blocks=1, kind='sk'), 11),
]


@pytest.mark.parametrize('name,kwargs,ref,ref_kwargs,size', HOSTS, ids=[h[0] for h in HOSTS])
def test_scenario_hosts_match_numpy_reference(name, kwargs, ref, ref_kwargs, size):
    net = randomize(get_model(name, classes=7, **kwargs), seed=5)
    x = np.random.RandomState(6).uniform(-1, 1, (2, 3, size, size))
    expected = ref(x, numpy_params(net), **ref_kwargs)
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('fusion', ['aff', 'iaff', 'gau'])
def test_fpn_matches_numpy_reference(fusion):
    net = randomize(get_model('fpn_resnet20_%s_b1' % fusion, blocks=2, classes=2), seed=7)
    x = np.random.RandomState(8).uniform(-1, 1, (2, 3, 14, 14))    # odd sizes on the way up
    out = net(mx.nd.array(x)).asnumpy()
    expected = npref.fpn_resnet(x, numpy_params(net), blocks=2, kind=fusion)
    assert out.shape == expected.shape == (2, 2, 14, 14)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


TINY_MOBILENET = [(1, 8, 1, 1), (6, 12, 3, 1), (6, 16, 2, 2)]


@pytest.mark.parametrize('setting', [None, 'A', 'B'])
def test_afinets_match_numpy_reference(setting):
    suffix = {None: '', 'A': '', 'B': '_b'}[setting]
    rng = np.random.RandomState(9)
    cases = [
        ('cifar_%sresnet32%s' % ('afi_' if setting else '', suffix), dict(blocks=3),
         lambda x, P: npref.cifar_afi_resnet(x, P, 3, setting), 9),
        ('cifar_%smobilenetv2%s' % ('afi_' if setting else '', suffix),
         dict(config=TINY_MOBILENET),
         lambda x, P: npref.cifar_afi_mobilenetv2(x, P, TINY_MOBILENET, setting), 8),
        ('cifar_%sshufflenetv2%s' % ('afi_' if setting else '', suffix), dict(net_size=0.5),
         lambda x, P: npref.cifar_afi_shufflenetv2(x, P, (3, 7, 3), setting), 8),
    ]
    for name, kwargs, ref, size in cases:
        net = randomize(get_model(name, classes=7, **kwargs), seed=10)
        x = rng.uniform(-1, 1, (2, 3, size, size))
        np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), ref(x, numpy_params(net)),
                                   rtol=1e-5, atol=1e-5, err_msg=name)
