"""Every name in the zoo keeps the zoo's contract. A new entry is walked without anyone
writing a test for it.

Each name builds at its own configuration (classes, stages, declared channels), and at its
family's smallest configuration (one block per stage, ``gluon_aff.core.families``) the
same network, parameter for parameter, as the name walked for it: names that differ only
in depth build one network there (``helpers.distinct_names``). Each distinct network then
runs at its input size: logits of the right shape, per-stage features with the declared
channels at the declared reductions, the same outputs hybridized, and the same outputs from
its ONNX export in ONNX Runtime for the fewest names that hold every family, fusion and
setting at CIFAR sizes (``helpers.covering_names``: an export's converters are per
operator, and a block's operators are the same in every family) and for the ImageNet names
in ``IMAGENET_ONNX``.
"""
import functools

import mxnet as mx
import numpy as np
import pytest

from helpers import covering_names, distinct_names, randomize, stand_in
from gluon_aff.deploy import export_onnx, run_onnx
from gluon_aff.model_zoo import (GLUONCV_ALIASES, entry_function, get_model, get_model_info,
                                 list_models)

# the ImageNet names exported at 224 pixels: the released flagship (each such export costs
# seconds; tests/deploy/test_export.py exports the ResNeXt and AFI-ResNet hosts smaller)
IMAGENET_ONNX = ('iaff_resnet50',)
NAMES = list_models()
DISTINCT = distinct_names(list(IMAGENET_ONNX) + NAMES)     # the flagship walks for its depths
ONNX_AT_CIFAR_SIZE = covering_names([n for n in NAMES if get_model_info(n).input_size <= 128])


def _smallest(name):
    return get_model_info(name).smallest     # the family's, declared in gluon_aff.core


@functools.lru_cache(maxsize=None)     # the walked names come back for each of theirs
def _shapes(name):
    net = get_model(name, **_smallest(name))
    return {k: p.shape for k, p in net._collect_params_with_prefix().items()}


@pytest.mark.parametrize('name', NAMES)
def test_every_name_builds_as_declared(name):
    info = get_model_info(name)
    full = get_model(name)
    assert full.classes == info.classes
    assert len(full.feature_info) == full.num_stages + 1 == len(full.feature_channels) + 1
    assert [f['num_chs'] for f in full.feature_info[1:]] == list(full.feature_channels)
    assert [f['index'] for f in full.feature_info] == list(range(full.num_stages + 1))
    # at the smallest configuration, the network walked for it below
    walked = stand_in(name, DISTINCT)
    assert _shapes(name) == _shapes(walked), walked
    assert get_model_info(walked).input_size == info.input_size


@pytest.mark.parametrize('name', DISTINCT)
def test_every_network_keeps_the_contract(name, tmp_path):
    info = get_model_info(name)
    kwargs = _smallest(name)
    net = randomize(get_model(name, **kwargs), seed=5)
    size = info.input_size
    x = mx.nd.array(np.random.RandomState(6).uniform(-1, 1, (1, 3, size, size)))
    logits = net(x).asnumpy()
    segmentation = info.family == 'fpn_resnet'
    assert logits.shape == ((1, info.classes, size, size) if segmentation
                            else (1, info.classes))
    assert np.isfinite(logits).all()

    path = str(tmp_path / 'net.params')
    net.save_parameters(path)
    features = get_model(name, features_only=True, pretrained=path, **kwargs)
    maps = features(x)
    maps = list(maps) if isinstance(maps, (list, tuple)) else [maps]
    assert [m.shape for m in maps] == [
        (1, f['num_chs'], size // f['reduction'], size // f['reduction'])
        for f in net.feature_info[1:]]
    assert len(maps) == net.num_stages

    scale = np.abs(logits).max()
    net.hybridize()
    assert np.abs(net(x).asnumpy() - logits).max() <= 1e-4 * scale

    if (size <= 128 and name in ONNX_AT_CIFAR_SIZE) or name in IMAGENET_ONNX:
        onnx_path = export_onnx(net, str(tmp_path / 'net.onnx'), x.shape)
        assert np.abs(run_onnx(onnx_path, x.asnumpy()) - logits).max() <= 1e-4 * scale

    net.reset_classifier(3)
    assert net.classes == 3 and net(x).shape[:2] == (1, 3)
    assert sorted(net._collect_params_with_prefix()) == sorted(
        get_model(name, **kwargs)._collect_params_with_prefix())      # the same keys


def test_the_walk_covers_every_family():
    assert set(IMAGENET_ONNX) <= set(DISTINCT) and set(ONNX_AT_CIFAR_SIZE) <= set(DISTINCT)


def test_every_name_is_in_gluoncvs_table():
    import gluoncv
    from gluoncv.model_zoo import model_zoo as table
    for name in NAMES:
        assert table._models[GLUONCV_ALIASES.get(name, name)] is entry_function(name)
    # gluoncv's own network of that name stays; ours is there under the alias
    assert dict(GLUONCV_ALIASES) == {'cifar_resnext29_32x4d': 'gluon_aff_cifar_resnext29_32x4d'}
    assert type(gluoncv.model_zoo.get_model('cifar_resnext29_32x4d')).__module__.startswith(
        'gluoncv.')
    assert type(gluoncv.model_zoo.get_model('gluon_aff_cifar_resnext29_32x4d')) is \
        type(get_model('cifar_resnext29_32x4d'))


def test_features_only_refuses_stages_the_network_lacks():
    with pytest.raises(ValueError, match='between 1 and 7'):
        get_model('cifar_mobilenetv2', out_stages=(8,))
    assert get_model('cifar_mobilenetv2', features_only=True).out_stages == tuple(range(1, 8))
