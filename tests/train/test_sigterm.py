"""SIGTERM, what schedulers send before they kill a job, is handled as Ctrl-C is: the run
saves what resuming needs and exits with 143."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

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
