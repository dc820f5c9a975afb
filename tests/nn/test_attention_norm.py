"""Training with one image per device: the attention BatchNorms can be frozen, released
keys unchanged (users' reports against the original, spec 9.4)."""
import json
import os
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from helpers import COMPAT_DIR, randomize
from gluon_aff.model_zoo import get_model
from gluon_aff.nn import attention_batchnorms, set_attention_norm
from gluon_aff.train import CifarConfig
from gluon_aff.train.network import build_cifar_network


def _global_branch_output(fusion, x):
    """The global context branch's output in training mode (BN after pooling)."""
    with autograd.record(train_mode=True):
        return fusion.global_att(x).asnumpy()


def _train_step(fusion, x):
    x.attach_grad()     # (oneDNN updates BN statistics in backward, where gradients flow)
    with autograd.record(train_mode=True):
        out = fusion.global_att(x)
    out.backward()
    mx.nd.waitall()
    return out.asnumpy()


def test_default_batch_norm_collapses_at_batch_1_and_global_stats_does_not():
    net = randomize(get_model('cifar_aff_resnet20', blocks=1, channel_times=1), seed=1)
    fusion = [b for b in _blocks(net) if type(b).__name__ == 'AFF'][0]
    bn = fusion.global_att[5]           # the BatchNorm after pooling and the two 1x1s
    x = mx.nd.array(np.random.RandomState(0).normal(size=(1, 16, 8, 8)))
    beta = bn.beta.data().asnumpy().reshape(1, -1, 1, 1)
    var = bn.running_var.data().asnumpy().copy()
    # the original behaviour: one value per channel normalises to 0, the output is beta,
    # and the moving variance moves towards 0 (momentum 0.9)
    np.testing.assert_allclose(_train_step(fusion, x), beta, atol=1e-5)
    np.testing.assert_allclose(bn.running_var.data().asnumpy(), 0.9 * var, rtol=1e-5)
    set_attention_norm(fusion, 'global_stats')
    var = bn.running_var.data().asnumpy().copy()
    assert np.abs(_train_step(fusion, x) - beta).max() > 1e-2     # the input matters again
    np.testing.assert_array_equal(bn.running_var.data().asnumpy(), var)
    set_attention_norm(fusion, 'batch')
    np.testing.assert_allclose(_train_step(fusion, x), beta, atol=1e-5)


def _blocks(block):
    yield block
    for child in block._children.values():
        yield from _blocks(child)


def test_batch_1_training_of_aff_resnet50_with_frozen_attention_norm(tmp_path):
    net = randomize(get_model('aff_resnet50', attention_norm='frozen'), seed=2)
    # the released checkpoint's keys and shapes, in order (the original's manifest)
    with open(os.path.join(COMPAT_DIR, 'aff_resnet50.json')) as f:
        manifest = json.load(f)
    path = str(tmp_path / 'net.params')
    net.save_parameters(path)
    saved = mx.nd.load(path)
    assert [(k, list(v.shape)) for k, v in saved.items()] == \
        [(k, s) for k, s in manifest['keys']]
    norms = attention_batchnorms(net)
    assert len(norms) == (6 + 3) * 4     # AFF in stages 3-4, two BNs per branch
    before = {bn.name: [p.data().asnumpy().copy() for p in bn.params.values()] for bn in norms}
    host_bn = net.conv1[1]
    host_before = host_bn.running_mean.data().asnumpy().copy()

    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', dict(learning_rate=0.002))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = mx.nd.array(np.random.RandomState(0).normal(size=(1, 3, 64, 64)))
    losses = []
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='.*ONE image per batch')   # frozen: none
        for step in range(6):       # one image, one label: batch-1 training must fit it
            with autograd.record():
                loss = loss_fn(net(x), mx.nd.array([3]))
            loss.backward()
            trainer.step(1)
            losses.append(float(loss.asscalar()))
    mx.nd.waitall()
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses
    for bn in norms:        # statistics, gamma and beta untouched
        for old, p in zip(before[bn.name], bn.params.values()):
            np.testing.assert_array_equal(p.data().asnumpy(), old)
    assert np.abs(host_bn.running_mean.data().asnumpy() - host_before).max() > 0
    assert np.isfinite(net(x).asnumpy()).all()


def test_batch_1_warning_once_and_option_everywhere():
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
    net.initialize()
    x = mx.nd.ones((1, 3, 32, 32))
    with pytest.warns(UserWarning, match="ONE image per batch.*attention_norm='global_stats'"):
        with autograd.record():
            net(x)
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='.*ONE image per batch')
        with autograd.record():
            net(x)                       # once per network
        net(x)                           # inference mode never warns
    with pytest.raises(ValueError, match="'batch', 'global_stats', 'frozen'"):
        get_model('aff_resnet50', attention_norm='group')
    # every fusion host takes it; 'frozen' stops gamma/beta training
    for name in ('aff_resnext50_32x4d', 'cifar_iaff_resnext38_32x4d', 'cifar_inception_aff_b1',
                 'fpn_resnet20_iaff_b1'):
        norms = attention_batchnorms(get_model(name, attention_norm='frozen'))
        assert norms and all(bn._kwargs['use_global_stats'] for bn in norms)
        assert all(bn.gamma.grad_req == 'null' for bn in norms)
    # and the training scripts
    opt = CifarConfig(model='resnet', askc_type='iaff', blocks=1, attention_norm='global_stats')
    net, _, _ = build_cifar_network(opt, 10)
    norms = attention_batchnorms(net)
    assert norms and all(bn._kwargs['use_global_stats'] and bn.gamma.grad_req == 'write'
                         for bn in norms)
