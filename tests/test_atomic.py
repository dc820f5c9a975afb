"""Files that are never half-written: checkpoints, exports and their JSON."""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.core import atomic
from gluon_aff.core.atomic import atomic_path, write_atomically
from gluon_aff.core.params_file import ParamsFileError, read_params
from helpers import randomize


def _listing(folder):
    return sorted(os.listdir(folder))


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = str(tmp_path / 'a.json')
    write_atomically(path, '{"old": 1}')
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            with open(tmp, 'w') as f:
                f.write('{"new": ')
            raise RuntimeError('killed mid-write')
    assert open(path).read() == '{"old": 1}' and _listing(tmp_path) == ['a.json']


def test_a_full_disk_names_the_file_and_the_free_space(tmp_path):
    path = str(tmp_path / 'net.params')
    with pytest.raises(OSError) as err:
        with atomic_path(path):
            raise OSError(errno.ENOSPC, 'No space left on device')
    assert err.value.errno == errno.ENOSPC
    assert 'cannot write %s: No space left on device (' % path in str(err.value)
    assert 'MB free on that disk)' in str(err.value)
    assert _listing(tmp_path) == []


def _writer_loop(body):
    """A Python program that loads gluon_aff/core/atomic.py alone (a quick start) and runs
    ``body`` (with ``i`` = 1, 2, ...) forever, until it is killed."""
    return ('import importlib.util as u, sys, time\n'
            's = u.spec_from_file_location("atomic", %r); atomic = u.module_from_spec(s)\n'
            's.loader.exec_module(atomic)\n'
            'i = 0\n'
            'while True:\n'
            '    i += 1\n' % os.path.abspath(atomic.__file__)
            + ''.join('    %s\n' % line for line in body.splitlines()))


def test_killed_at_random_moments_the_file_is_old_or_new_never_cut(tmp_path):
    """A writer replacing a 4 MB file in a loop, SIGKILLed at random moments: the file
    under the final name is always one whole version."""
    path = str(tmp_path / 'big.bin')
    code = _writer_loop('atomic.write_atomically(sys.argv[1], bytes([i % 251]) * (4 << 20))')
    rng = random.Random(0)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, '-c', code, path])
        deadline = time.time() + 30
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.4))               # somewhere in a write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = open(path, 'rb').read()
        assert len(data) == 4 << 20 and data.count(data[:1]) == len(data)
    stray = [f for f in _listing(tmp_path) if f != 'big.bin']
    assert all(f.startswith('.tmp-') for f in stray)     # at most the one being written


def _assert_a_pair_or_the_documented_window(folder, paths):
    first, second = (open(p).read() for p in paths)
    assert len(first) % 100000 == 0 and len(second) % 100000 == 0     # each file whole
    if first != second:         # killed between the renames: the rest of the set is staged
        staged = [os.path.join(str(folder), f, os.path.basename(paths[1]))
                  for f in _listing(folder) if f.startswith('.tmp-')]
        assert any(os.path.exists(p) and open(p).read() == first for p in staged), \
            (first[:3], second[:3], staged)


def test_files_that_belong_together_are_replaced_as_a_set(tmp_path):
    """A model and its weights (OpenVINO's .xml/.bin, MXNet's -symbol.json/-0000.params):
    a writer killed at random moments while writing a new pair leaves a matching pair,
    each file whole; a failure leaves the previous pair and no staging folder. The one
    exception ``atomic_files`` documents, a kill between its two renames, leaves the first
    file of the new set in place and the second in the staging folder (seen on a loaded
    machine, where a process can be descheduled there): each file is still whole."""
    paths = [str(tmp_path / 'm.bin'), str(tmp_path / 'm.xml')]
    code = _writer_loop('with atomic.atomic_files(sys.argv[1:]) as tmps:\n'
                        '    for t in tmps:\n'
                        '        open(t, "w").write(str(i) * 100000); time.sleep(0.02)')
    rng = random.Random(1)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, '-c', code] + paths)
        deadline = time.time() + 30
        while not os.path.exists(paths[1]) and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _assert_a_pair_or_the_documented_window(tmp_path, paths)
    # the window itself, made to happen: killed right after the first rename
    killer = ('import os, signal\nreplace, calls = os.replace, []\n'
              'def killing_replace(a, b):\n'
              '    replace(a, b); calls.append(b)\n'
              '    if len(calls) == 1: os.kill(os.getpid(), signal.SIGKILL)\n'
              'os.replace = killing_replace\n')
    for p in paths:                 # a set the writer never writes (it starts at 1)
        open(p, 'w').write('0' * 100000)
    proc = subprocess.run([sys.executable, '-c', killer + code] + paths)
    assert proc.returncode == -signal.SIGKILL
    assert open(paths[0]).read() != open(paths[1]).read()
    _assert_a_pair_or_the_documented_window(tmp_path, paths)
    before = [open(p).read() for p in paths]
    with pytest.raises(RuntimeError):
        with atomic.atomic_files(paths) as tmps:
            open(tmps[0], 'w').write('new')
            raise RuntimeError('the exporter failed')
    with pytest.raises(OSError, match='did not write .*m.xml'):
        with atomic.atomic_files(paths) as tmps:
            open(tmps[0], 'w').write('new')
    assert [open(p).read() for p in paths] == before
    stray = [f for f in _listing(tmp_path) if f not in ('m.bin', 'm.xml')]
    assert all(f.startswith('.tmp-') for f in stray) and len(stray) <= 6   # one per kill


def _checkpointer(tmp_path):
    from gluon_aff.model_zoo import get_model
    from gluon_aff.train.checkpoints import Checkpointer
    net = randomize(get_model('cifar_aff_resnet20', blocks=1, channel_times=1, classes=10))
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    return net, Checkpointer(net, trainer, str(tmp_path / 'params'))


def test_a_checkpoint_is_a_complete_set_named_by_its_json(tmp_path):
    net, ckpt = _checkpointer(tmp_path)
    path = ckpt.save('net-0', 1)
    meta = json.load(open(path[:-len('.params')] + '.json'))
    assert meta == dict(next_epoch=1, params='net-0.params', states='net-0.states')
    assert _listing(tmp_path / 'params') == ['net-0.json', 'net-0.params', 'net-0.states']
    assert list(read_params(path)) == list(net._collect_params_with_prefix())


def test_a_silently_cut_parameter_file_never_takes_the_name(tmp_path, monkeypatch):
    net, ckpt = _checkpointer(tmp_path)
    good = ckpt.save('net-best', 1)
    before = open(good, 'rb').read()
    real = type(net).save_parameters

    def cut(self, filename, *args, **kwargs):       # as MXNet once did on a full disk
        real(self, filename, *args, **kwargs)
        with open(filename, 'r+b') as f:
            f.truncate(os.path.getsize(filename) // 2)
    monkeypatch.setattr(type(net), 'save_parameters', cut)
    with pytest.raises(ParamsFileError, match='truncated'):
        ckpt.save('net-best', 2)
    assert open(good, 'rb').read() == before
    assert json.load(open(good[:-len('.params')] + '.json'))['next_epoch'] == 1
    assert not [f for f in _listing(tmp_path / 'params') if f.startswith('.tmp-')]


def test_damaged_trainer_states_are_named_on_resume(tmp_path):
    from gluon_aff.model_zoo.pretrained import CheckpointError
    from gluon_aff.train.resume import resume
    net, ckpt = _checkpointer(tmp_path)
    path = ckpt.save('net-3', 4)
    states = path[:-len('.params')] + '.states'
    with open(states, 'r+b') as f:
        f.truncate(10)
    with pytest.raises(CheckpointError, match="cannot read the trainer states '%s'" % states):
        resume(net, ckpt.trainer, path, None, None, [mx.cpu()])


def test_non_finite_weights_are_never_saved(tmp_path):
    from gluon_aff.train.checkpoints import TrainingDiverged
    net, ckpt = _checkpointer(tmp_path)
    ckpt.save('net-0', 1)
    w = net.output.weight
    w.set_data(w.data() * float('nan'))
    with pytest.raises(TrainingDiverged) as err:
        ckpt.save('0.9000-net-best', 2)
    assert 'parameters hold NaN or infinite values (output.weight)' in str(err.value)
    assert 'the training diverged; lower the learning rate' in str(err.value)
    assert _listing(tmp_path / 'params') == ['net-0.json', 'net-0.params', 'net-0.states']


def test_a_diverging_run_stops_with_where_and_why(tmp_path, capsys):
    """--lr 1e6: the run stops at the first non-finite loss (exit 2) with the epoch, batch
    and learning rate, and leaves no parameters with non-finite values."""
    from gluon_aff.train import cifar
    from helpers import DIGITS_ARGS
    argv = ['--model', 'resnet', '--askc-type', 'aff'] + DIGITS_ARGS + [
        '--lr', '1e6', '--num-epochs', '2', '--save-dir', str(tmp_path / 'params'),
        '--logging-dir', str(tmp_path / 'logs'), '--save-plot-dir', str(tmp_path)]
    assert cifar.main(argv) == 2
    err = capsys.readouterr().err
    assert 'train_cifar.py: error: the training loss became' in err
    assert 'in epoch 0, batch' in err and 'lower --lr' in err
    assert err.count('no checkpoint was saved in this run') == 1
    for path in os.listdir(str(tmp_path / 'params')):
        if path.endswith('.params'):
            assert all(np.isfinite(v).all() for v in read_params(
                str(tmp_path / 'params' / path)).values())
