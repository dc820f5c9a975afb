"""Inputs a network cannot take get a message that says what to do."""
import mxnet as mx
import numpy as np
import pytest

from gluon_aff.model_zoo import get_model


@pytest.fixture(scope='module')
def imagenet_net():
    net = get_model('aff_resnet50', layers=[1, 1, 1, 1])
    net.initialize()
    return net


def test_one_channel_input(imagenet_net):
    with pytest.raises(ValueError) as err:
        imagenet_net(mx.nd.zeros((1, 1, 224, 224)))
    assert 'expects 3 input channels, got 1' in str(err.value)
    assert 'repeat' in str(err.value)


def test_channels_last_input(imagenet_net):
    with pytest.raises(ValueError, match='channels first'):
        imagenet_net(mx.nd.zeros((1, 224, 224, 3)))


def test_tiny_input_to_imagenet_network(imagenet_net):
    with pytest.raises(ValueError) as err:
        imagenet_net(mx.nd.zeros((1, 3, 8, 8)))
    assert 'at least 32x32' in str(err.value) and 'got 8x8' in str(err.value)
    assert 'trained at 224x224' in str(err.value)


def test_missing_batch_axis(imagenet_net):
    with pytest.raises(ValueError, match='expand_dims'):
        imagenet_net(mx.nd.zeros((3, 224, 224)))


def test_checks_also_apply_when_hybridized():
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
    net.initialize()
    net.hybridize()
    assert net(mx.nd.zeros((1, 3, 32, 32))).shape == (1, 100)
    with pytest.raises(ValueError, match='expects 3 input channels'):
        net(mx.nd.zeros((1, 1, 32, 32)))
    with pytest.raises(ValueError, match='trained at 32x32'):
        net(mx.nd.zeros((1, 3, 2, 2)))


def test_unknown_fusion_type_through_the_zoo():
    with pytest.raises(ValueError) as err:
        get_model('aff_resnet50', fusion='ASKCFus')
    assert "unknown fusion type 'ASKCFus'" in str(err.value) and "'aff'" in str(err.value)
    # rejected even when no stage would use it (the original failed only then)
    with pytest.raises(ValueError, match='unknown fusion type'):
        get_model('aff_resnet50', fusion='bogus', start_layer=5)


@pytest.mark.parametrize('name,kwargs,named', [
    ('cifar_aff_resnet20', dict(classes='ten'), "classes='ten'"),
    ('cifar_aff_resnet20', dict(classes=0), 'classes=0'),
    ('cifar_aff_resnet20', dict(r=0), 'r=0'),
    ('cifar_aff_resnet20', dict(channel_times=1.5), 'channel_times=1.5'),
    ('cifar_aff_resnet20', dict(blocks=0), 'blocks=0'),
    ('cifar_aff_resnet20', dict(start_layer='x'), "start_layer='x'"),
    ('aff_resnet50', dict(layers=49), 'layers=49'),
    ('aff_resnet50', dict(layers=[3, 0, 6, 3]), 'layers=[3, 0, 6, 3]'),
])
def test_constructor_arguments_are_checked_before_mxnet_sees_them(name, kwargs, named):
    with pytest.raises(ValueError) as err:
        get_model(name, **kwargs)
    assert str(err.value).startswith('%s: %s is not valid; ' % (name, named))
    assert 'must be' in str(err.value) or 'give the blocks' in str(err.value)


@pytest.mark.parametrize('dtype', ['float64', 'uint8'])
def test_batches_of_another_dtype(imagenet_net, dtype):
    with pytest.raises(ValueError) as err:
        imagenet_net(mx.nd.zeros((1, 3, 64, 64), dtype=dtype))
    assert ('expects float32 input (its parameters are float32), got %s; convert the batch '
            "with x.astype('float32')" % dtype) in str(err.value)


def test_a_batch_of_zero_images_is_named_in_both_frameworks():
    import torch
    from gluon_aff import torch as twin
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
    net.initialize()
    empty = mx.nd.array(np.zeros((0, 3, 32, 32), np.float32))    # (mx.nd.zeros cannot)
    with pytest.raises(ValueError, match=r'got a batch of 0 images \(input shape \(0, 3, 32, 32'):
        net(empty)
    tnet = twin.get_model('cifar_aff_resnet20', blocks=1, channel_times=1).eval()
    with pytest.raises(ValueError, match=r'got a batch of 0 images \(input shape \(0, 3, 32, 32'):
        tnet(torch.zeros(0, 3, 32, 32))
