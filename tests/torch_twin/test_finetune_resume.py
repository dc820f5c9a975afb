"""--auto-resume for fine-tuning: a run stopped at random moments (SIGKILL, SIGTERM, Ctrl-C),
on one process or on two gloo processes under torchrun, and rerun with the same command
until it finishes, ends with last.safetensors and best.safetensors equal tensor for tensor
to an uninterrupted run's; a resumed run starts at the newest complete epoch; another
recipe, another run's folder and a killed writer's leftovers are dealt with."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from gluon_aff.torch.finetune import FinetuneConfig, main, run
from helpers import ROOT

EPOCHS = 3
FLAGS = ['--pretrained', 'false', '--model-kwargs', '{"blocks": 1, "channel_times": 1}',
         '--epochs', str(EPOCHS), '--batch-size', '4', '--lr', '0.05', '--workers', '0',
         '--auto-augment', 'cifar10', '--seed', '7', '--progress', 'off']


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """Two classes of 16x16 noise around a dark and a light grey: 12 training and 4
    validation images each."""
    root = tmp_path_factory.mktemp('resume_data')
    rng = np.random.RandomState(0)
    for split, n in (('train', 12), ('val', 4)):
        for label, base in (('dark', 60), ('light', 190)):
            (root / split / label).mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(base + rng.normal(0, 30, (16, 16, 3)), 0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(
                    str(root / split / label / ('%d.png' % i)))
    return root


def _command(data, out, processes=1):
    if processes == 1:
        launcher = [sys.executable, '-m', 'gluon_aff.torch.finetune']
    else:
        launcher = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                    '--nproc_per_node', str(processes), '-m', 'gluon_aff.torch.finetune']
    return launcher + ['cifar_aff_resnet20', str(data), '--out-dir', str(out)] + FLAGS


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)


def _weights(out):
    return {name: load_file(str(out / name)) for name in ('last.safetensors', 'best.safetensors')}


def _assert_equal(got, expected):
    for name in expected:
        assert sorted(got[name]) == sorted(expected[name])
        for key, value in expected[name].items():
            assert np.array_equal(got[name][key].numpy(), value.numpy()), (name, key)


def _count(out, text):
    log = out / 'finetune.log'
    return log.read_text().count(text) if log.exists() else 0


def _started(out):
    return _count(out, 'fine-tuning cifar_aff_resnet20 on')


def _stop_and_rerun(cmd, out, stops, seed):
    """Run ``cmd`` until it exits 0, stopping the first ``len(stops)`` runs with their
    signal at a random moment after their first epoch; returns the exit codes of the stopped
    runs and the epochs the reruns started at, with the newest complete epoch each time."""
    rng, codes, starts = random.Random(seed), [], []
    while True:
        before, epochs = _started(out), _count(out, '[Epoch ')
        newest = json.loads((out / 'last.json').read_text())['next_epoch'] \
            if (out / 'last.json').exists() else 0
        proc = subprocess.Popen(cmd + ['--auto-resume'], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=_env(),
                                start_new_session=True)
        if len(codes) < len(stops):
            deadline = time.time() + 120
            while _count(out, '[Epoch ') == epochs and proc.poll() is None and \
                    time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is None:
                os.killpg(proc.pid, stops[len(codes)][0])
        _, err = proc.communicate(timeout=600)
        if before:      # a rerun: it said where it continued
            log = (out / 'finetune.log').read_text()
            starts.append((newest, log.rsplit('fine-tuning cifar_aff_resnet20 on', 1)[1]
                           .split('epochs ', 1)[1].split('..')[0]))
        if proc.returncode == 0:
            return codes, starts
        codes.append(proc.returncode)
        assert len(codes) <= len(stops), err[-3000:]


@pytest.mark.e2e
def test_one_process_stopped_anywhere_ends_as_if_never_stopped(folder, tmp_path):
    plain = tmp_path / 'plain'
    run(FinetuneConfig(model='cifar_aff_resnet20', data_dir=str(folder), out_dir=str(plain),
                       pretrained=False, model_kwargs=dict(blocks=1, channel_times=1),
                       epochs=EPOCHS, batch_size=4, lr=0.05, workers=0,
                       auto_augment='cifar10', seed=7, progress='off'))
    stopped = tmp_path / 'stopped'
    stops = [(signal.SIGKILL, -9), (signal.SIGTERM, 143), (signal.SIGINT, 130)]
    codes, starts = _stop_and_rerun(_command(folder, stopped), stopped, stops, seed=2)
    for code, (_, expected) in zip(codes, stops):
        assert code in (expected, 0)        # (a run may end before its stop)
    # each rerun continued from the newest complete epoch, not an older one
    assert starts and all(str(newest) == started for newest, started in starts)
    _assert_equal(_weights(stopped), _weights(plain))
    assert not [f for f in os.listdir(str(stopped)) if f.startswith('.tmp-')]


@pytest.mark.e2e
def test_two_processes_stopped_anywhere_end_as_if_never_stopped(folder, tmp_path):
    plain = tmp_path / 'plain'
    proc = subprocess.run(_command(folder, plain, 2), capture_output=True, text=True,
                          env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stopped = tmp_path / 'stopped'
    codes, starts = _stop_and_rerun(_command(folder, stopped, 2), stopped,
                                    [(signal.SIGKILL, None)], seed=4)
    assert starts and all(str(newest) == started for newest, started in starts)
    _assert_equal(_weights(stopped), _weights(plain))
    assert '2 process(es)' in (stopped / 'finetune.log').read_text()


def test_another_recipe_another_runs_folder_and_leftovers(folder, tmp_path, capsys):
    out = tmp_path / 'out'
    cmd = _command(folder, out)
    cmd[cmd.index('--epochs') + 1] = '1'
    assert subprocess.run(cmd, capture_output=True, env=_env()).returncode == 0
    argv = cmd[cmd.index('cifar_aff_resnet20'):]
    # a rerun without --auto-resume would overwrite the run: refused, naming the way out
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert '--auto-resume' in err and '--out-dir' in err and 'Traceback' not in err
    # --auto-resume with another learning rate: refused, naming the flag
    (out / '.tmp-killed-last.safetensors').write_bytes(b'half')
    assert main(argv + ['--auto-resume', '--lr', '0.5']) == 2
    assert "with --lr 0.05, this run has 0.5" in capsys.readouterr().err
    assert 'error:' in (out / 'finetune.log').read_text()       # errors reach the log too
    # the same recipe continues (and has nothing left to do); the leftovers go
    (out / 'resume-0000.pt').rename(out / 'moved')
    assert main(argv + ['--auto-resume']) == 2 and 'resume-0000.pt, which is missing' in \
        capsys.readouterr().err
    (out / 'moved').rename(out / 'resume-0000.pt')
    (out / 'resume-0003.pt').write_bytes(b'a killed run wrote it before last.json')
    assert main(argv + ['--auto-resume']) == 0
    assert sorted(f for f in os.listdir(str(out)) if 'resume' in f or f.startswith('.tmp')) == \
        ['resume-0000.pt']
    mode = os.stat(str(out / 'best.safetensors')).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask       # the user's umask, not tempfile's 0600
