"""The twin as timm sees it: create_model with released weights from a (local) server,
the data config, features, heads, attention norms; the zoo's exact eval transform."""
import numpy as np
import pytest
import timm
import torch
from timm.data import create_transform, resolve_data_config

import mxnet as mx
from gluon_aff.core import released
from gluon_aff import torch as twin
from gluon_aff.data.photos import sample_photos
from gluon_aff.model_zoo import get_model_info
from gluon_aff.tools.twin_check import SMALL as TWIN_SMALL
from gluon_aff.torch.layers import BatchNorm2d
from gluon_aff.data.eval_transform import eval_transform, load_image

SMALL = dict(blocks=1, channel_times=1)


def test_create_model_loads_the_released_file_verified(fake_cifar_release, tmp_path):
    net, ckpt, server = fake_cifar_release['fine']
    root = tmp_path / 'models'
    model = timm.create_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)
    assert model.checkpoint == ckpt and (root / ckpt.file).exists()
    x = np.random.RandomState(0).uniform(-1, 1, (2, 3, 32, 32)).astype('float32')
    with torch.no_grad():
        out = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)
    # a corrupted copy in the cache is refused by its blob id, not loaded
    (root / ckpt.file).write_bytes(b'\0' * 100)
    with pytest.raises(released.ChecksumError, match='git blob id'):
        timm.create_model('cifar_aff_resnet20', pretrained=True, root=str(root), **SMALL)


def test_every_name_is_in_timm_with_the_zoos_preprocessing():
    names = [n for n in twin.list_models() if get_model_info(n).task == 'classification']
    assert set(names) <= set(timm.list_models())
    with_weights = {n.split('.')[0] for n in timm.list_models(pretrained=True)}
    assert {c.model for c in released.CHECKPOINTS} & set(names) <= with_weights
    for name in names:
        small = TWIN_SMALL.get(twin.get_model_info(name).family, {})
        cfg = resolve_data_config({}, model=timm.create_model(name, **small))
        info = get_model_info(name)
        assert cfg['input_size'] == (3, info.input_size, info.input_size), name
        assert (cfg['mean'], cfg['std'], cfg['crop_pct']) == (info.mean, info.std,
                                                             info.crop_ratio), name


def test_timm_transform_has_the_zoos_geometry_and_eval_transform_its_pixels():
    model = timm.create_model('iaff_resnet50', layers=[1, 1, 1, 1])
    timm_t = create_transform(**resolve_data_config({}, model=model))
    zoo_t = twin.eval_transform('iaff_resnet50')
    for path in sample_photos():
        expected = eval_transform(get_model_info('iaff_resnet50'), load_image(path)).asnumpy()[0]
        assert tuple(timm_t(__import__('PIL.Image').Image.open(path).convert('RGB')).shape) == \
            expected.shape
        np.testing.assert_array_equal(zoo_t(path).numpy(), expected)


def test_features_heads_and_classifier_as_timm_users_expect():
    x = torch.randn(2, 3, 64, 64)
    feats = timm.create_model('iaff_resnet50', layers=[1, 1, 1, 1], features_only=True,
                              out_indices=(2, 4)).eval()
    assert feats.feature_info.channels() == [512, 2048]
    assert feats.feature_info.reduction() == [8, 32]
    with torch.no_grad():
        maps = feats(x)
    assert [tuple(m.shape) for m in maps] == [(2, 512, 8, 8), (2, 2048, 2, 2)]
    model = timm.create_model('cifar_iaff_resnet20', num_classes=10, **SMALL).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (2, 10) and model.num_classes == 10
        torch.testing.assert_close(model.forward_head(model.forward_features(x)), model(x))
        assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (2, 64)
        model.reset_classifier(5)
        assert model(x).shape == (2, 5) and model.get_classifier().out_features == 5
    assert [i['num_chs'] for i in model.feature_info] == [16, 16, 32, 64]


def test_frozen_attention_norms_fine_tune_with_one_image():
    model = timm.create_model('cifar_iaff_resnet20', attention_norm='frozen', **SMALL).train()
    attention = [m for m in model.modules() if isinstance(m, twin.IAFF)]
    norms = [m for a in attention for m in a.modules() if isinstance(m, BatchNorm2d)]
    assert norms and all(bn.use_global_stats and not bn.weight.requires_grad for bn in norms)
    before = [bn.running_var.clone() for bn in norms]
    model(torch.randn(1, 3, 32, 32)).sum().backward()
    assert all(torch.equal(b, bn.running_var) for b, bn in zip(before, norms))
    host = model.features[2][0].resfwd[0]
    assert not torch.equal(host.running_var, torch.ones_like(host.running_var))
