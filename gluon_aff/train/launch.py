"""Start MXNet parameter-server training: a scheduler, servers and workers.

    python -m gluon_aff.train.launch -n WORKERS -s SERVERS [--launcher local|ssh] [-H HOSTFILE]
        [--port P] [--interface IFACE] -- COMMAND ...

Every process gets the DMLC_* variables of its role (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``,
``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_SERVER``, ``DMLC_NUM_WORKER``). Workers run COMMAND
(e.g. ``python train_cifar.py ... --kvstore dist_sync``); the scheduler and the servers run
``python -c 'import gluon_aff, mxnet'``: the import of mxnet (after the numpy/distutils shims
of ``gluon_aff.mxnet_compat``) serves until the workers finish. Output is forwarded
line by line with a role prefix. When a process fails, or on Ctrl-C, the others are
stopped, and the launcher says which process ended, how (its exit code, or the signal
and what it usually means) and its last output lines; the exit code is the first non-zero
one (128 + the signal number for a process killed by a signal).

``--launcher ssh`` starts the scheduler on the first host of the host file (one host per
line) and spreads servers and workers over the hosts round-robin, each via
``ssh HOST 'cd CWD && env VARS COMMAND'`` (same paths and environment on every host).
"""
import argparse
import collections
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

__all__ = ['main', 'plan', 'build_parser']

SERVE = [sys.executable, '-c', 'import gluon_aff, mxnet']


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def plan(num_workers, num_servers, command, launcher='local', hosts=None, port=None,
         interface=None, cwd=None):
    """[(label, argv, env additions)] for the scheduler, the servers and the workers."""
    if num_workers < 1 or num_servers < 1:
        raise ValueError('need at least one worker (-n) and one server (-s)')
    if not command:
        raise ValueError('no command to run: put it after --, e.g. -- python train_cifar.py ...')
    if launcher == 'ssh' and not hosts:
        raise ValueError('--launcher ssh needs -H HOSTFILE with one host per line')
    root = hosts[0] if launcher == 'ssh' else '127.0.0.1'
    common = {'DMLC_PS_ROOT_URI': root, 'DMLC_PS_ROOT_PORT': str(port or _free_port()),
              'DMLC_NUM_SERVER': str(num_servers), 'DMLC_NUM_WORKER': str(num_workers)}
    if interface:
        common['DMLC_INTERFACE'] = interface
    roles = ([('scheduler', 'scheduler', SERVE)]
             + [('server %d' % i, 'server', SERVE) for i in range(num_servers)]
             + [('worker %d' % i, 'worker', list(command)) for i in range(num_workers)])
    out = []
    for i, (label, role, argv) in enumerate(roles):
        env = dict(common, DMLC_ROLE=role)
        if launcher == 'ssh':
            host = hosts[0] if role == 'scheduler' else hosts[i % len(hosts)]
            remote = 'cd %s && env %s %s' % (
                shlex.quote(cwd or os.getcwd()),
                ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in sorted(env.items())),
                ' '.join(shlex.quote(a) for a in argv))
            argv, env = ['ssh', '-o', 'StrictHostKeyChecking=no', host, remote], {}
            label = '%s@%s' % (label, host)
        out.append((label, argv, env))
    return out


def _forward(label, stream, tail):
    for line in iter(stream.readline, b''):
        text = line.decode('utf-8', 'replace')
        tail.append(text.rstrip('\n'))
        sys.stdout.write('[%s] %s' % (label, text))
        sys.stdout.flush()
    stream.close()


# what a signal that ends a training process usually means
_SIGNAL_HINTS = {
    signal.SIGKILL: 'killed from outside: often the kernel\'s out-of-memory killer (see '
                    '`dmesg`) or a scheduler ending the job',
    signal.SIGSEGV: 'a crash in native code (MXNet, OpenCV, a driver)',
    signal.SIGABRT: 'native code aborted (an MXNet check failed: its message is above)',
    signal.SIGTERM: 'asked to stop (a scheduler, or `kill`)',
    signal.SIGFPE: 'an arithmetic fault in native code (oneDNN: try DNNL_MAX_CPU_ISA=AVX2 '
                   'or MXNET_MKLDNN_ENABLED=0)',
}


def describe_exit(label, pid, code):
    """'worker 1 (pid 123) was killed by SIGKILL (exit -9): what that usually means'."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = 'signal %d' % -code
        text = '%s (pid %d) was killed by %s (exit %d)' % (label, pid, name, code)
        hint = _SIGNAL_HINTS.get(-code)
        if hint:
            text += ': ' + hint
    else:
        text = '%s (pid %d) exited with %d' % (label, pid, code)
        if code == 2:
            text += ': it refused its arguments or input (its error is above)'
    return text


def _stop(procs, grace=5.0):
    for _, proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + grace
    for _, proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def run(jobs, server_grace=30.0):
    """Start ``jobs`` (from ``plan``), supervise them, return the exit code."""
    procs, threads, tails = [], [], {}
    try:
        for label, argv, env in jobs:
            proc = subprocess.Popen(argv, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            print('[launch] %s: pid %d: %s' % (label, proc.pid, ' '.join(argv)), flush=True)
            tails[label] = collections.deque(maxlen=5)
            thread = threading.Thread(target=_forward, args=(label, proc.stdout, tails[label]),
                                      daemon=True)
            thread.start()
            procs.append((label, proc))
            threads.append(thread)
        workers = [(l, p) for l, p in procs if l.startswith('worker')]
        workers_done_at = None
        while True:
            for label, proc in procs:
                code = proc.poll()
                if code not in (None, 0):
                    time.sleep(0.3)         # let its last lines arrive
                    print('[launch] %s; stopping the others'
                          % describe_exit(label, proc.pid, code), flush=True)
                    lines = [l for l in tails[label] if l.strip()]
                    if lines:
                        print('[launch] its last output lines:\n' + '\n'.join(
                            '[launch]   ' + l for l in lines), flush=True)
                    _stop(procs)
                    return code if code > 0 else 128 - code
            if all(p.poll() == 0 for _, p in procs):
                return 0
            if all(p.poll() == 0 for _, p in workers):
                workers_done_at = workers_done_at or time.time()
                if time.time() - workers_done_at > server_grace:
                    print('[launch] workers finished; stopping servers that did not exit',
                          flush=True)
                    _stop(procs)
                    return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        print('[launch] interrupted; stopping all processes', flush=True)
        _stop(procs)
        return 130
    finally:
        for thread in threads:
            thread.join(timeout=2)


def build_parser():
    """The launcher's options (the command after ``--`` is not parsed here)."""
    p = argparse.ArgumentParser(prog='python -m gluon_aff.train.launch', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('-n', '--num-workers', type=int, required=True)
    p.add_argument('-s', '--num-servers', type=int, default=1)
    p.add_argument('--launcher', choices=('local', 'ssh'), default='local')
    p.add_argument('-H', '--hostfile', help='ssh: one host per line')
    p.add_argument('--port', type=int, default=None, help='scheduler port (default: a free one)')
    p.add_argument('--interface', default=None, help='network interface (DMLC_INTERFACE)')
    p.add_argument('--dry-run', action='store_true', help='print the commands, start nothing')
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if '--' in argv:
        split = argv.index('--')
        argv, command = argv[:split], argv[split + 1:]
    else:
        command = []
    p = build_parser()
    args = p.parse_args(argv)
    hosts = None
    if args.hostfile:
        with open(args.hostfile) as f:
            hosts = [h.strip() for h in f if h.strip() and not h.startswith('#')]
    try:
        jobs = plan(args.num_workers, args.num_servers, command, args.launcher, hosts,
                    args.port, args.interface)
    except ValueError as e:
        p.error(str(e))
    if args.dry_run:
        for label, job_argv, env in jobs:
            print('%s: %s %s' % (label, ' '.join('%s=%s' % kv for kv in sorted(env.items())),
                                 ' '.join(shlex.quote(a) for a in job_argv)))
        return 0
    return run(jobs)


if __name__ == '__main__':
    sys.exit(main())
