"""--auto-resume: a run killed, terminated or interrupted at random moments (some during a
save) and restarted with the same command until it finishes ends with the same weights as
an uninterrupted run, bit for bit on the CPU with -j 0 and --seed."""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from helpers import DIGITS_ARGS, ROOT, run_script

EPOCHS = 4


def _argv(folder):
    return ['--model', 'resnet', '--askc-type', 'iaff'] + DIGITS_ARGS + [
        '--num-epochs', str(EPOCHS), '--test-max-batches', '2', '--save-period', '1',
        '--save-dir', str(folder / 'params'), '--logging-dir', str(folder / 'logs'),
        '--save-plot-dir', str(folder), '--auto-resume']


def _final(folder):
    return glob.glob(str(folder / 'params' / ('*-%d.params' % (EPOCHS - 1))))


def _starts(folder):
    """How many runs have started logging into ``folder``'s training log."""
    logs = glob.glob(str(folder / 'logs' / 'train_*.log'))
    return sum(open(p).read().count(' devices: ') for p in logs)


def _newest_epoch(folder):
    """The epoch the newest complete epoch-boundary checkpoint in ``folder`` continues at."""
    found = [0]
    for path in glob.glob(str(folder / 'params' / '*.json')):
        meta = json.load(open(path))
        if meta.get('kind') == 'epoch' and os.path.isfile(str(folder / 'params' /
                                                              meta['params'])):
            found.append(meta['next_epoch'])
    return max(found)


def _continued_at(folder):
    """The epoch the last run logged it continued at (0 when it found nothing to resume)."""
    log = open(glob.glob(str(folder / 'logs' / 'train_*.log'))[0]).read()
    last = log.rsplit(' devices: ', 1)[1]
    if 'continuing at epoch ' in last:
        return int(last.split('continuing at epoch ')[1].split()[0])
    return 0


@pytest.mark.e2e
def test_killed_anywhere_and_rerun_ends_bit_for_bit(tmp_path):
    plain = tmp_path / 'plain'
    run_script('train_cifar.py', _argv(plain))
    expected = open(_final(plain)[0], 'rb').read()

    killed = tmp_path / 'killed'
    cmd = [sys.executable, os.path.join(ROOT, 'train_cifar.py')] + _argv(killed)
    # a kill, a scheduler's SIGTERM and a Ctrl-C: the last two save an '-interrupted'
    # checkpoint mid-epoch, which --auto-resume passes over for the epoch boundary before it
    stops = [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 143), (signal.SIGINT, 130)]
    rng, kills, codes, resumed = random.Random(1), 0, [], []
    while True:
        started, newest = _starts(killed), _newest_epoch(killed)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        if kills < len(stops):
            # past the start-up (the log names the devices; SIGTERM and Ctrl-C are handled
            # from then on), then somewhere in the 2-3 s of epochs and saves
            deadline = time.time() + 120
            while _starts(killed) == started and proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.1, 0.9))
            if proc.poll() is None:
                proc.send_signal(stops[kills][0])
                kills += 1
        _, err = proc.communicate(timeout=300)
        if started:         # a restart continued from the newest complete checkpoint
            resumed.append((newest, _continued_at(killed)))
        if proc.returncode == 0:
            break
        codes.append(proc.returncode)
        assert proc.returncode == stops[kills - 1][1], err[-2000:]
    assert len(codes) >= 2
    assert resumed and all(newest == at for newest, at in resumed), resumed
    final = _final(killed)
    assert len(final) == 1 and open(final[0], 'rb').read() == expected
    # the best-accuracy record went on across the restarts: one best file, as uninterrupted
    best = lambda folder: sorted(os.path.basename(p) for p in glob.glob(
        str(folder / 'params' / '*-best.params')))
    assert best(killed)[-1] == best(plain)[-1]


def test_auto_resume_refuses_another_recipe(tmp_path, capsys):
    from gluon_aff.train import cifar
    assert cifar.main(_argv(tmp_path)[:-1] + ['--num-epochs', '1']) == 0
    meta = json.load(open(glob.glob(str(tmp_path / 'params' / '*-0.json'))[0]))
    assert meta['kind'] == 'epoch' and meta['recipe']['num_epochs'] == 1
    capsys.readouterr()
    assert cifar.main(_argv(tmp_path) + ['--lr', '0.5']) == 2
    err = capsys.readouterr().err
    assert '--auto-resume: ' in err and 'with --lr 0.2, this run has 0.5' in err
    assert 'Traceback' not in err
