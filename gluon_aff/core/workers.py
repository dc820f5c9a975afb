"""One protocol for work run in a child process: the paths of ``gluon-aff bench`` (each in
its own process, so that its peak memory is its own), the instruction-set levels of
``gluon-aff check-cpu`` (so that a native crash kills one level's worker, not the check)
and the serving runs of ``deploy/runtimes.py``.

The child reports events with ``report(event, **fields)``: one line of JSON on stdout,
behind a marker, flushed at once (so that the events before a crash survive it). The
parent runs the child with ``run_worker(cmd)`` and reads them from the returned
``WorkerRun``. Standard library only: serving imports it without MXNet.
"""
import json
import signal
import subprocess

__all__ = ['report', 'run_worker', 'WorkerRun', 'WorkerError']

MARK = '@gluon-aff-worker '


class WorkerError(RuntimeError):
    """A worker that failed: says how (exit code, signal or time-out) and its last error
    line."""


def report(event, **fields):
    """Report one event (``'result'``, ``'start'``, ``'ok'``, ``'fail'`` ...) to the parent."""
    print(MARK + json.dumps(dict(fields, event=event)), flush=True)


class WorkerRun(object):
    """What a worker reported: ``events`` (dicts, in order), ``returncode`` (None: timed
    out; negative: killed by that signal), ``stderr``."""

    def __init__(self, events, returncode, stderr):
        self.events, self.returncode, self.stderr = events, returncode, stderr

    @property
    def ok(self):
        return self.returncode == 0

    def last(self, event):
        """The fields of the last ``event`` reported, or None."""
        found = [e for e in self.events if e['event'] == event]
        return found[-1] if found else None

    def how_it_ended(self, timeout=None):
        """'timed out after Ns', 'crashed (SIGSEGV)', 'exit 1: <last error line>' ..."""
        if self.returncode is None:
            return 'timed out' + (' after %ds' % timeout if timeout else '')
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except (ValueError, AttributeError):
                name = 'signal %d' % -self.returncode
            return 'crashed (%s)' % name
        lines = [line for line in (self.stderr or '').strip().splitlines() if line.strip()]
        return 'exit %d%s' % (self.returncode, ': ' + lines[-1][:300] if lines else '')

    def result(self):
        """The fields of the worker's last ``'result'`` event; WorkerError when the worker
        failed or reported none."""
        found = self.last('result')
        if not self.ok or found is None:
            raise WorkerError(self.how_it_ended() if not self.ok else
                              'the worker reported no result')
        found = dict(found)
        del found['event']
        return found


def run_worker(cmd, env=None, timeout=None):
    """Run ``cmd`` (a worker) to its end, or until ``timeout`` seconds; a ``WorkerRun``."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=timeout)
        out, code, err = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or '')
        code = None
    events = [json.loads(line[len(MARK):]) for line in out.splitlines()
              if line.startswith(MARK)]
    return WorkerRun(events, code, err)
