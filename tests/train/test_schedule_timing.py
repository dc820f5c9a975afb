"""Learning-rate timing as the original printed it (spec 9.2), read off the port's own
training loop; and epoch boundaries of the .rec inputs."""
import math
import re

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluon_aff.data.imagenet import imagenet_rec_loaders
from gluon_aff.data.recordio import pack_arrays
from gluon_aff.train.loop import Objective, fit
from gluon_aff.train.schedule import cifar_schedule, imagenet_schedule


def _batches(count):
    x, y = mx.nd.ones((2, 4)), mx.nd.array([0, 1])
    return lambda: iter([(x, y)] * count)


def _run_epoch(schedule, epoch, updates_before, batches, caplog, log_interval=0):
    """Train one epoch of ``batches`` updates with the port's loop, the trainer's update
    count starting at ``updates_before`` (the previous epochs; what a resume restores).
    Returns the loop's log text."""
    net = gluon.nn.Dense(2, in_units=4)
    net.initialize(mx.init.Zero())
    trainer = gluon.Trainer(net.collect_params(), 'nag', {'wd': 1e-4, 'momentum': 0.9,
                                                          'lr_scheduler': schedule})
    trainer._optimizer.begin_num_update = trainer._optimizer.num_update = updates_before
    caplog.clear()
    with caplog.at_level('INFO', logger='gluon_aff'):
        fit(net, trainer, [mx.cpu()], _batches(batches), _batches(1), Objective(2), epoch + 1,
            start_epoch=epoch, log_interval=log_interval, progress=False)
    return caplog.text


def _epoch_end_lr(text, epoch):
    return re.search(r'\[Epoch %d\] .* lr=([\d.]+) ' % epoch, text).group(1)


def test_cifar_step_mode_prints_the_originals_rates(caplog):
    ipe = 50000 // (2 * 128)                         # 2 GPUs x 128: 195 updates per epoch
    schedule = cifar_schedule(False, 0.2, 640, 10, ipe, lr_decay_epoch='300,450')
    for epoch, printed in ((289, '0.200000'), (290, '0.020000'), (440, '0.002000')):
        text = _run_epoch(schedule, epoch, epoch * ipe, ipe, caplog)
        assert _epoch_end_lr(text, epoch) == printed, epoch


def test_cifar_cosine_prints_the_originals_rates(caplog):
    ipe = 50000 // (4 * 128)                         # 97
    schedule = cifar_schedule(True, 0.2, 640, 20, ipe)
    for epoch, printed in ((0, '0.010005'), (20, '0.199999'), (330, '0.099491'),
                           (639, '0.000000')):
        text = _run_epoch(schedule, epoch, epoch * ipe, ipe, caplog)
        assert _epoch_end_lr(text, epoch) == printed, epoch


def test_imagenet_prints_the_originals_rates(caplog):
    n, b = 1281167, 4 * 128
    schedule = imagenet_schedule('cosine', 0.075, 240, 5, n // b)    # built with 2502
    for epoch, batch, printed in ((0, 49, '0.000300'), (1, 49, '0.015307'),
                                  (5, 49, '0.075000'), (120, 1249, '0.038496'),
                                  (180, 49, '0.011416'), (200, 999, '0.005128'),
                                  (236, 1499, '0.000038')):
        # the .rec input delivers the remainder too: epoch e begins after ceil(e N / B)
        text = _run_epoch(schedule, epoch, math.ceil(epoch * n / b), batch + 1, caplog,
                          log_interval=batch + 1)
        line = re.search(r'Epoch\[%d\] Batch \[%d\]\tSpeed: [\d.]+ samples/sec\t'
                         r'accuracy=[\d.]+\tlr=([\d.]+)' % (epoch, batch), text)
        assert line and line.group(1) == printed, (epoch, batch, text[-300:])


@pytest.fixture(scope='module')
def tiny_rec(tmp_path_factory):
    """10 training and 3 validation records (12x12 grey images) packed with the project's
    tool."""
    folder = tmp_path_factory.mktemp('rec')
    return {split: pack_arrays([np.full((12, 12, 3), 20 * i, np.uint8) for i in range(n)],
                               list(range(n)), str(folder / split))
            for split, n in (('train', 10), ('val', 3))}


@pytest.mark.parametrize('auto_aug', [False, True], ids=['ImageRecordIter', 'AutoAugment'])
def test_rec_epochs_end_where_the_originals_iterator_ended(tiny_rec, auto_aug):
    np.random.seed(0)
    train, _, num_train = imagenet_rec_loaders(*tiny_rec['train'], *tiny_rec['val'], 8, 0.875,
                                               4, 0, auto_aug)
    counts = [sum(1 for _ in train()) for _ in range(6)]
    assert num_train == 10 and counts == [3, 2, 3, 2, 3, 2]
    assert np.cumsum(counts).tolist() == [math.ceil(e * 10 / 4) for e in range(1, 7)]
