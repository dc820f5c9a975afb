"""Parameter-server training on 127.0.0.1: python -m gluon_aff.train.launch + --kvstore dist_sync."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT

from gluon_aff.train.launch import plan

TRAIN = [sys.executable, os.path.join(ROOT, 'train_cifar.py'), '--model', 'resnet',
         '--askc-type', 'add', '--dataset', 'digits', '--gpus', '', '-j', '0', '--blocks', '1',
         '--channel-times', '1', '--batch-size', '32', '--kvstore', 'dist_sync',
         '--progress', 'off']


def _descendants(pid):
    """Every process below ``pid`` (Linux /proc), children first."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


@pytest.fixture
def launched():
    """Starts launchers; at teardown, whatever the test did, kills each launcher and every
    process below it (scheduler, servers, workers), so no training outlives a test."""
    procs = []

    def start(tmp_path, *extra):
        proc = _launch(tmp_path, *extra)
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        for pid in _descendants(proc.pid)[::-1] + [proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def _launch(tmp_path, *extra):
    argv = [sys.executable, '-m', 'gluon_aff.train.launch', '-n', '2', '-s', '1', '--'] + TRAIN + [
        '--save-dir', str(tmp_path / 'params'), '--logging-dir', str(tmp_path / 'logs'),
        '--save-plot-dir', str(tmp_path)] + list(extra)
    env = dict(os.environ)
    env.pop('MXNET_ENGINE_TYPE', None)    # let each worker choose, as on a user's machine
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, env=env)


def _pids(output):
    return [int(p) for p in re.findall(r'^\[launch\] [^:]+: pid (\d+):', output, re.M)]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
def test_two_workers_train_in_sync_and_a_killed_worker_stops_the_rest(tmp_path, launched):
    """One launch: 1 scheduler, 1 server, 2 workers on 127.0.0.1. After epoch 0 both workers
    hold the same parameters, each read half the data, only rank 0 wrote files; then
    worker 1 is killed and the launcher stops everything and fails."""
    proc = launched(tmp_path, '--num-epochs', '50')
    lines, started, digests = [], time.time(), {}
    while time.time() - started < 150 and len(digests) < 2:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.match(r'^\[worker (\d)\] .*\[rank (\d)/2\] \[Epoch 0\] trainable parameters '
                     r'sha1 (\w+)', line)
        if m:
            digests[m.group(1)] = (m.group(2), m.group(3))
    output = ''.join(lines)
    assert sorted(digests) == ['0', '1'], output[-3000:]
    # ps-lite gives ranks in registration order, not launch order
    assert sorted(r for r, _ in digests.values()) == ['0', '1']
    assert digests['0'][1] == digests['1'][1]               # identical trainable parameters
    # 1,437 digits, 2 workers x 32: 22 steps of 32 images each = half of 1,408
    samples = re.findall(r'^\[worker \d\] .*\[Epoch 0\].*\| (\d+) samples', output, re.M)
    assert samples == ['704', '704']
    # rank 0 alone wrote: one best checkpoint, one training log without rank 1's lines
    files = os.listdir(str(tmp_path / 'params'))
    assert len([f for f in files if f.endswith('-best.params')]) == 1
    log = open(str(tmp_path / 'logs' / 'train_digits-DirectAdd-resnet-8-c-1-s-1.log')).read()
    assert '[rank 0/2]' in log and '[rank 1/2]' not in log
    pids = _pids(output)
    assert len(pids) == 4, output
    worker1 = re.search(r'^\[launch\] worker 1: pid (\d+):', output, re.M)
    os.kill(int(worker1.group(1)), signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert proc.returncode == 128 + 9
    assert re.search(r'worker 1 \(pid %s\) was killed by SIGKILL \(exit -9\): killed from '
                     r"outside: often the kernel's out-of-memory killer" % worker1.group(1), rest), rest[-2000:]
    assert '[launch] its last output lines:' in rest
    time.sleep(0.5)
    assert not any(_alive(p) for p in pids)


def test_plan_and_ssh_commands():
    jobs = plan(2, 1, ['python', 'train.py', '--kvstore', 'dist_sync'], port=9100)
    assert [label for label, _, _ in jobs] == ['scheduler', 'server 0', 'worker 0', 'worker 1']
    assert jobs[0][2] == {'DMLC_PS_ROOT_URI': '127.0.0.1', 'DMLC_PS_ROOT_PORT': '9100',
                          'DMLC_NUM_SERVER': '1', 'DMLC_NUM_WORKER': '2',
                          'DMLC_ROLE': 'scheduler'}
    assert jobs[2][1] == ['python', 'train.py', '--kvstore', 'dist_sync']
    jobs = plan(2, 2, ['python', 'train.py'], launcher='ssh', hosts=['a', 'b'], port=9100,
                interface='eth0', cwd='/work')
    assert [label for label, _, _ in jobs] == ['scheduler@a', 'server 0@b', 'server 1@a',
                                               'worker 0@b', 'worker 1@a']
    assert jobs[3][1][:4] == ['ssh', '-o', 'StrictHostKeyChecking=no', 'b']
    assert jobs[3][1][4] == ('cd /work && env DMLC_INTERFACE=eth0 DMLC_NUM_SERVER=2 '
                             'DMLC_NUM_WORKER=2 DMLC_PS_ROOT_PORT=9100 DMLC_PS_ROOT_URI=a '
                             'DMLC_ROLE=worker python train.py')
    with pytest.raises(ValueError, match='after --'):
        plan(1, 1, [])
    with pytest.raises(ValueError, match='-H HOSTFILE'):
        plan(1, 1, ['x'], launcher='ssh')


def test_the_launcher_says_which_process_ended_how_and_its_last_lines(capsys):
    """A worker that fails, and one killed by a signal: named with pid, exit code or
    signal, and the lines it printed last; the others are stopped."""
    from gluon_aff.train.launch import run
    code = ('import sys, time; print("loading"); print("ValueError: no such file"); '
            'sys.stdout.flush(); sys.exit(2)')
    sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']
    assert run([('server 0', sleeper, {}), ('worker 0', [sys.executable, '-c', code], {})]) == 2
    out = capsys.readouterr().out
    assert re.search(r'\[launch\] worker 0 \(pid \d+\) exited with 2: it refused its arguments '
                     r'or input \(its error is above\); stopping the others\n\[launch\] its last '
                     r'output lines:\n\[launch\]   loading\n\[launch\]   ValueError: no such file\n',
                     out), out
    killed = [sys.executable, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)']
    assert run([('server 0', sleeper, {}), ('worker 1', killed, {})]) == 128 + 11
    assert 'worker 1 (pid' in capsys.readouterr().out
