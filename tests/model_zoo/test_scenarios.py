"""The AFF paper's other hosts: Inception (same layer) and FPN (long skip) zoo networks."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluon_aff.deploy import export_symbol
from gluon_aff.model_zoo import get_model, get_model_info, list_models

INCEPTION = ['cifar_inception_%s_b%d' % (f, b) for f in ('aff', 'iaff', 'sk', 'add', 'concat')
             for b in (1, 2, 3, 4)]
FPN = ['fpn_resnet20_%s_b%d' % (f, b) for f in ('aff', 'iaff', 'gau', 'add') for b in (1, 2, 3, 4)]


def test_names_are_registered():
    assert set(INCEPTION) <= set(list_models('cifar_inception_*'))
    assert set(FPN) <= set(list_models('fpn_*'))
    assert get_model_info('fpn_resnet20_aff_b2').classes == 2


def _check(net, x, target_shape, tmp_path):
    net.initialize(mx.init.Xavier(magnitude=2))
    with autograd.predict_mode():
        eager = net(x).asnumpy()
    assert eager.shape == target_shape
    net.hybridize()
    with autograd.predict_mode():
        assert np.abs(net(x).asnumpy() - eager).max() <= 1e-4 * max(np.abs(eager).max(), 1e-6)
    sym, params = export_symbol(net, str(tmp_path / 'net'), x.shape)
    loaded = gluon.SymbolBlock.imports(sym, ['data'], params)
    assert np.abs(loaded(x).asnumpy() - eager).max() <= 1e-4 * max(np.abs(eager).max(), 1e-6)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})
    merge = [p for n, p in net.collect_params().items() if 'local_att' in n or 'global_att' in n
             or 'proj' in n]
    before = [p.data().copy() for p in merge]
    labels = mx.nd.zeros((x.shape[0],) + target_shape[2:]) if len(target_shape) == 4 else \
        mx.nd.zeros((x.shape[0],))
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss(axis=1)(net(x), labels)
    loss.backward()
    trainer.step(x.shape[0])
    assert np.isfinite(loss.asnumpy()).all()
    assert all((p.data() - b).abs().max().asscalar() > 0 for p, b in zip(merge, before))


@pytest.mark.parametrize('name', ['cifar_inception_aff_b1', 'cifar_inception_iaff_b1',
                                  'cifar_inception_sk_b1', 'cifar_inception_concat_b2',
                                  'cifar_inception_add_b1'])
def test_inception_forward_export_and_step(name, tmp_path):
    net = get_model(name, channel_times=1)
    x = mx.nd.array(np.random.RandomState(0).normal(0, 1, (2, 3, 32, 32)))
    _check(net, x, (2, 100), tmp_path)
    assert len(net.features[2]) == int(name[-1])


@pytest.mark.parametrize('name', ['fpn_resnet20_aff_b1', 'fpn_resnet20_iaff_b1',
                                  'fpn_resnet20_gau_b2', 'fpn_resnet20_add_b1'])
def test_fpn_forward_export_and_step(name, tmp_path):
    net = get_model(name)
    x = mx.nd.array(np.random.RandomState(0).normal(0, 1, (2, 3, 40, 48)))
    _check(net, x, (2, 2, 40, 48), tmp_path)           # logits at input resolution
