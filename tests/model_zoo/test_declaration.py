"""One declaration of the zoo, two frameworks: each lists exactly the declared names,
implements every declared family, takes the same arguments with the same errors, and
the words they share (feature_info, forward_features, forward_head, get_model_info, the
attention-norm modes) mean the same in both. A family or name added on one side only
fails here."""
import mxnet as mx
import numpy as np
import pytest
import timm
import torch

import gluon_aff
from gluon_aff import model_zoo, nn as mxnn
from gluon_aff import torch as twin
from gluon_aff.core import attention_norm, zoo
from gluon_aff.core.families import FAMILIES
from helpers import distinct_names

NAMES = zoo.list_models()


def test_each_framework_lists_exactly_the_declared_names():
    assert len(NAMES) == 86 and NAMES == sorted(zoo.ZOO)
    assert model_zoo.list_models() == twin.list_models() == gluon_aff.list_models() == NAMES
    for name in NAMES:
        assert getattr(model_zoo, name).__name__ == name
        assert getattr(twin.zoo, name).__name__ == name
    classifiers = [n for n in NAMES if zoo.get_model_info(n).task == 'classification']
    assert len(classifiers) == 70 and set(NAMES) & set(timm.list_models()) == set(classifiers)
    assert model_zoo.list_models('*iaff_resnet*') == ['cifar_iaff_resnet110', 'cifar_iaff_resnet20',
                                                      'cifar_iaff_resnet32', 'cifar_iaff_resnet44',
                                                      'cifar_iaff_resnet56', 'iaff_resnet101',
                                                      'iaff_resnet152', 'iaff_resnet50']


def test_every_declared_family_has_both_implementations():
    assert set(model_zoo.implemented_families()) == set(FAMILIES)
    assert set(twin.implemented_families()) == set(FAMILIES)
    assert {zoo.get_model_info(n).family for n in NAMES} == set(FAMILIES)


def test_a_family_without_its_twin_is_an_error_that_names_it(monkeypatch):
    from gluon_aff.torch import registry
    builders = dict(registry._BUILDERS)
    del builders['cifar_afi_shufflenet']
    monkeypatch.setattr(registry, '_BUILDERS', builders)
    with pytest.raises(NotImplementedError, match='no implementation of the family '
                                                  'cifar_afi_shufflenet'):
        twin.get_model('cifar_shufflenetv2')


def test_one_model_info_for_both():
    for name in NAMES:
        info = zoo.get_model_info(name)
        assert model_zoo.get_model_info(name) is info is twin.get_model_info(name)
    assert zoo.get_model_info('iaff_resnet50.in1k') is zoo.get_model_info('iaff_resnet50')
    with pytest.raises(ValueError, match="unknown model 'iaff_resnet5'.*iaff_resnet50"):
        twin.get_model('iaff_resnet5')
    with pytest.raises(ValueError, match="unknown model 'iaff_resnet5'.*iaff_resnet50"):
        model_zoo.get_model('iaff_resnet5')


def test_one_list_of_attention_norm_modes():
    assert mxnn.ATTENTION_NORMS is attention_norm.ATTENTION_NORMS
    assert twin.registry.ATTENTION_NORMS is attention_norm.ATTENTION_NORMS
    for build in (model_zoo.get_model, twin.get_model):
        with pytest.raises(ValueError, match="attention_norm must be one of 'batch', "
                                             "'global_stats', 'frozen', got 'freeze'"):
            build('cifar_aff_resnet20', attention_norm='freeze', blocks=1, channel_times=1)


@pytest.mark.parametrize('name', NAMES)
def test_both_frameworks_take_the_same_arguments_with_the_same_errors(name):
    """Every argument the declaration lists builds on both sides; a misspelt one and a bad
    value are refused with the same message by both."""
    info = zoo.get_model_info(name)
    for kwargs in (dict(blocks_per_stage=2), dict(classes=0.5)):
        errors = []
        for build in (model_zoo.get_model, twin.get_model):
            with pytest.raises(ValueError) as e:
                build(name, **kwargs)
            errors.append(str(e.value))
        assert errors[0] == errors[1], name
    assert "does not take 'blocks_per_stage'" in errors[0] or 'classes=0.5' in errors[1]
    assert set(info.smallest) <= set(info.arguments)


@pytest.mark.parametrize('name', distinct_names(NAMES))
def test_the_shared_words_mean_the_same_in_both(name):
    """feature_info (0 the stem, then the stages), forward_features (the last stage's map),
    forward_head(pre_logits) and forward_intermediates give the same shapes, at the
    name's smallest configuration (once per distinct network: names that differ only in
    depth build the same one there)."""
    info = zoo.get_model_info(name)
    kwargs = info.smallest
    mnet = model_zoo.get_model(name, **kwargs)
    mnet.initialize()
    tnet = twin.get_model(name, **kwargs).eval()
    keys = ('num_chs', 'reduction', 'module', 'index')
    assert [{k: f[k] for k in keys} for f in mnet.feature_info] == \
        [{k: f[k] for k in keys} for f in tnet.feature_info]
    size = 2 * mnet.total_stride if info.family != 'fpn_resnet' else 16
    x = np.zeros((1, 3, size, size), np.float32)
    mx_maps = mnet.forward_intermediates(mx.nd.array(x), intermediates_only=True)
    with torch.no_grad():
        t_maps = tnet.forward_intermediates(torch.from_numpy(x), intermediates_only=True)
        t_last = tnet.forward_features(torch.from_numpy(x))
    assert [m.shape for m in mx_maps] == [tuple(m.shape) for m in t_maps]
    assert mnet.forward_features(mx.nd.array(x)).shape == tuple(t_last.shape) == \
        mx_maps[-1].shape
    if info.family != 'fpn_resnet':
        with torch.no_grad():
            pooled = tnet.forward_head(t_last, pre_logits=True)
        assert mnet.forward_head(mnet.forward_features(mx.nd.array(x)), pre_logits=True).shape \
            == tuple(pooled.shape) == (1, tnet.head_hidden_size)
