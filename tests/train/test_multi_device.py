"""The multi-device and float16 paths of the training loop, run on CPU contexts standing in
for GPUs (mx.cpu(0), mx.cpu(1)), and the distillation loss by hand."""
import os
import pickle
import re

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from helpers import run_script
from gluon_aff.train.loop import Objective, fit
from npref import softmax

TWO = [mx.cpu(0), mx.cpu(1)]
RNG = np.random.RandomState(0)
X = RNG.normal(size=(8, 5)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1, 2, 2, 1], np.float32)


def _batches(x=X, y=Y):
    return lambda: iter([(mx.nd.array(x), mx.nd.array(y))])


def _dense(ctx, seed=1):
    net = nn.Dense(3, in_units=5)
    net.initialize(ctx=ctx)
    rng = np.random.RandomState(seed)
    net.weight.set_data(mx.nd.array(rng.normal(size=(3, 5))))
    net.bias.set_data(mx.nd.array(rng.normal(size=3)))
    return net


def _trainer(net, **extra):
    return gluon.Trainer(net.collect_params(), 'nag', dict(learning_rate=0.1, momentum=0.9,
                                                           wd=1e-4, **extra))


def test_two_devices_update_as_one_device_on_the_same_global_batch():
    weights = []
    for ctx in (TWO, [mx.cpu(0)]):
        net = _dense(ctx)
        trainer = _trainer(net)
        for _ in range(2):          # two steps: momentum states take part too
            fit(net, trainer, ctx, _batches(), _batches(), Objective(3, label_smoothing=True), 1,
                progress=False)
        weights.append([p.data(ctx[0]).asnumpy() for p in net.collect_params().values()])
        if len(ctx) == 2:           # both devices hold the same parameters
            for p in net.collect_params().values():
                np.testing.assert_array_equal(p.data(ctx[0]).asnumpy(), p.data(ctx[1]).asnumpy())
    for two, one in zip(*weights):
        np.testing.assert_allclose(two, one, rtol=1e-6, atol=1e-7)


class _Recorder(nn.Block):
    """Dense layer that keeps a copy of every input batch, per device."""

    def __init__(self):
        super(_Recorder, self).__init__()
        self.seen = []
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=5)

    def forward(self, x):
        self.seen.append((x.context, x.asnumpy()))
        return self.dense(x)


def test_mixup_partners_are_reversed_within_each_device_slice():
    net = _Recorder()
    net.initialize(ctx=TWO)
    fit(net, _trainer(net), TWO, _batches(), lambda: iter([]),
        Objective(3, mixup=True, mixup_alpha=1.0, mixup_off_epoch=0), 2, seed=5, progress=False)
    lam = np.random.RandomState(5).beta(1.0, 1.0)     # fit seeds np.random with seed + epoch
    for (ctx, got), part in zip(net.seen[:2], (X[:4], X[4:])):
        np.testing.assert_allclose(got, lam * part + (1 - lam) * part[::-1], rtol=1e-6)
    assert [c for c, _ in net.seen[:2]] == TWO


class _Float16Net(HybridBlock):
    """BatchNorm -> ReLU -> a linear map written element-wise: every operator has a float16
    CPU kernel (MXNet's FullyConnected and Convolution have none)."""

    def __init__(self, **kwargs):
        super(_Float16Net, self).__init__(**kwargs)
        with self.name_scope():
            self.bn = nn.BatchNorm(in_channels=5)
            self.w = self.params.get('w', shape=(5, 3), init=mx.init.Normal(0.5))

    def hybrid_forward(self, F, x, w):
        h = F.relu(self.bn(x))
        return F.sum(F.broadcast_mul(F.expand_dims(h, 2), F.expand_dims(w, 0)), axis=1)


def test_float16_distillation_on_two_devices_and_the_loss_by_hand(tmp_path):
    mx.random.seed(0)
    net, teacher = _Float16Net(prefix='student_'), _Float16Net(prefix='teacher_')
    for block in (net, teacher):
        block.initialize(ctx=TWO)
        block.cast('float16')
        block.hybridize()
    trainer = gluon.Trainer(net.collect_params(), 'nag', dict(
        learning_rate=0.0, momentum=0.9, wd=1e-4, multi_precision=True))
    # what the loss must be on this batch, computed here in NumPy: float32 student logits,
    # the teacher's softmax at temperature 20 in float16, labels smoothed (eta 0.1, K 3)
    T, hard = 20.0, 0.3
    x16 = mx.nd.array(X, ctx=mx.cpu(0)).astype('float16')
    student = net(x16).asnumpy().astype(np.float64)
    soft = mx.nd.softmax(teacher(x16) / T).asnumpy().astype(np.float64)
    onehot = np.eye(3)[Y.astype(int)] * (1 - 0.1) + 0.1 / 3
    logp_t = np.log(softmax(student / T))
    logp = np.log(softmax(student))
    expected = np.mean((1 - hard) * T ** 2 * -(soft * logp_t).sum(1) + hard * -(onehot * logp).sum(1))
    stats = []
    fit(net, trainer, TWO, _batches(), _batches(),
        Objective(3, label_smoothing=True, teacher=teacher, temperature=T, hard_weight=hard),
        1, dtype='float16', progress=False, on_epoch_end=lambda epoch, s: stats.append(s))
    assert stats[0]['train_loss'] == pytest.approx(expected, rel=2e-3)
    # multi-precision: float16 weights, a float32 master copy (and momentum) saved for them
    assert net.w.data(mx.cpu(1)).dtype == np.float16
    path = str(tmp_path / 'f16.states')
    trainer.save_states(path)
    with open(path, 'rb') as f:
        states = pickle.load(f)[0]
    master = [s for s in states.values() if isinstance(s, tuple)]
    assert len(master) == 1 and [a.dtype for a in master[0]] == [np.float32, np.float32]
    assert master[0][0].shape == net.w.shape
    # and with learning: mixup, smoothing, distillation, float16, two devices
    trainer = gluon.Trainer(net.collect_params(), 'nag', dict(
        learning_rate=0.05, momentum=0.9, wd=1e-4, multi_precision=True))
    before = net.w.data(mx.cpu(0)).asnumpy().copy()
    fit(net, trainer, TWO, _batches(), _batches(),
        Objective(3, mixup=True, mixup_alpha=0.2, label_smoothing=True, teacher=teacher), 2,
        dtype='float16', seed=0, progress=False, on_epoch_end=lambda epoch, s: stats.append(s))
    assert all(np.isfinite(s['train_loss']) for s in stats)
    assert np.abs(net.w.data(mx.cpu(0)).asnumpy() - before).max() > 0


@pytest.mark.e2e
def test_train_cifar_on_two_stand_in_gpus(tmp_path):
    out = run_script('train_cifar.py', [
        '--model', 'resnet', '--askc-type', 'aff', '--dataset', 'digits', '--gpus', '0,1', '-j',
        '0', '--blocks', '1', '--channel-times', '1', '--batch-size', '16', '--num-epochs', '1',
        '--mixup', '--label-smoothing', '--progress', 'off', '--save-dir', str(tmp_path / 'p'),
        '--logging-dir', str(tmp_path / 'l'), '--save-plot-dir', str(tmp_path)],
        timeout=300, env=dict(os.environ, GLUON_AFF_GPUS_AS_CPUS='1'))
    assert 'devices: [cpu(0), cpu(1)]' in out
    # 1,437 digits in global batches of 2 x 16: 44 steps
    assert re.search(r'\[Epoch 0\] .*\| 1408 samples', out)


@pytest.mark.e2e
def test_train_seg_on_two_stand_in_gpus(tmp_path):
    """train_seg.py splits each batch over its --gpus, as the classification recipes do
    (it used to train on the first id alone)."""
    from gluon_aff.data.stopsign import make_synthetic_stopsign
    make_synthetic_stopsign(str(tmp_path / 'coco'), n=12)
    out = run_script('train_seg.py', [
        '--coco-root', str(tmp_path / 'coco'), '--gpus', '0,1', '--batch-size', '2',
        '--input-size', '32', '--num-epochs', '1', '--val-fraction', '0.25', '--progress',
        'off', '--save-dir', str(tmp_path / 'p'), '--logging-dir', str(tmp_path / 'l')],
        timeout=300, env=dict(os.environ, GLUON_AFF_GPUS_AS_CPUS='1'))
    assert 'devices: [cpu(0), cpu(1)]' in out
    # global batches of 2 x 2 cover every training image, each on one device
    train = int(re.search(r'images with a stop sign \((\d+) train', out).group(1))
    assert train > 4 and re.search(r'\[Epoch 0\] .*\| %d samples' % train, out), out[-1500:]
