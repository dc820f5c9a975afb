"""SIGTERM, what schedulers send before they kill a job, is handled as Ctrl-C is: the run
saves what resuming needs and exits with 143."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import DIGITS_ARGS, ROOT


def test_sigterm_saves_the_interrupted_checkpoint(tmp_path):
    argv = ['--model', 'resnet', '--askc-type', 'aff'] + DIGITS_ARGS + [
        '--num-epochs', '500', '--test-max-batches', '2', '--save-dir', str(tmp_path / 'params'),
        '--logging-dir', str(tmp_path / 'logs'), '--save-plot-dir', str(tmp_path)]
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'train_cifar.py')] + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    logs = str(tmp_path / 'logs' / '*.log')
    while time.time() < deadline and proc.poll() is None:
        if any('[Epoch 0]' in open(f).read() for f in glob.glob(logs)):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert 'train_cifar.py: stopped by SIGTERM' in err
    saved = glob.glob(str(tmp_path / 'params' / '*-interrupted.params'))
    assert len(saved) == 1
    meta = json.load(open(saved[0][:-len('.params')] + '.json'))
    assert meta['params'] == os.path.basename(saved[0]) and meta['next_epoch'] >= 0
    assert os.path.exists(saved[0][:-len('.params')] + '.states')


def test_ctrl_c_during_the_weight_update_stops_the_step():
    """A kvstore that updates the weights calls the optimizer through a ctypes callback,
    where Python prints and drops exceptions: Ctrl-C or SIGTERM landing in the update was
    lost, that weight kept its old value and the run went on (seen: a killed-and-resumed
    run ending with other weights than an uninterrupted one). The trainers of a run update
    in Python, so the interrupt reaches the loop."""
    import mxnet as mx
    from mxnet import autograd, gluon
    from gluon_aff.train.devices import Distributed
    for contexts in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        net = gluon.nn.Dense(2, in_units=3)
        net.initialize(ctx=contexts)
        trainer = Distributed('device').trainer(net.collect_params(), 'sgd',
                                                dict(learning_rate=0.1))

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        trainer._optimizer.update_multi_precision = interrupted
        with autograd.record():
            losses = [net(mx.nd.ones((1, 3), ctx=c)).sum() for c in contexts]
        autograd.backward(losses)
        with pytest.raises(KeyboardInterrupt):
            trainer.step(len(contexts))
            mx.nd.waitall()


def test_ctrl_c_while_the_trainer_starts_is_a_clean_stop(tmp_path, monkeypatch):
    """MXNet hands the parameters to the trainer's kvstore lazily, one by one; a Ctrl-C in
    the middle left that half done, and saving the interrupted checkpoint then failed
    ('duplicate init of key 0') with a traceback instead of exit code 130."""
    import mxnet as mx
    from gluon_aff.train import cifar
    calls = []
    broadcast = mx.kvstore.KVStore.broadcast

    def interrupted_on_the_third(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return broadcast(self, *args, **kwargs)
    monkeypatch.setattr(mx.kvstore.KVStore, 'broadcast', interrupted_on_the_third)
    argv = ['--model', 'resnet', '--askc-type', 'aff'] + DIGITS_ARGS + [
        '--num-epochs', '1', '--save-dir', str(tmp_path), '--logging-dir', str(tmp_path),
        '--save-plot-dir', str(tmp_path)]
    assert cifar.main(argv) == 130
    assert len(calls) == 3
    assert not glob.glob(str(tmp_path / '.tmp*')) and not glob.glob(str(tmp_path / '*.params'))
