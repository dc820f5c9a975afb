"""The one worker protocol (bench paths, check-cpu levels, serving runs): events survive
the worker's crash, and a failed worker says how it ended."""
import os
import sys

import pytest

from gluon_aff.core import workers
from gluon_aff.core.workers import WorkerError, run_worker

# the workers module by its path, without the package (and MXNet, which turns a SIGSEGV
# into exit 255 with a message of its own)
REPORT = ("import importlib.util as u; s = u.spec_from_file_location('w', %r); "
          "w = u.module_from_spec(s); s.loader.exec_module(w); report = w.report; "
          % os.path.abspath(workers.__file__))


def _python(code):
    return [sys.executable, '-c', code]


def test_result_of_a_worker():
    run = run_worker(_python(REPORT + "report('start', label='a'); "
                                      "report('result', img_per_s=2.5, peak_rss_mb=10)"))
    assert run.ok and [e['event'] for e in run.events] == ['start', 'result']
    assert run.result() == dict(img_per_s=2.5, peak_rss_mb=10)


def test_events_before_a_native_crash_survive_it():
    run = run_worker(_python(REPORT + "import os, signal; report('start', label='x'); "
                                      "os.kill(os.getpid(), signal.SIGSEGV)"))
    assert run.last('start') == dict(event='start', label='x')
    assert run.how_it_ended() == 'crashed (SIGSEGV)'
    with pytest.raises(WorkerError, match=r'crashed \(SIGSEGV\)'):
        run.result()


def test_a_failing_worker_names_its_error_and_a_silent_one_is_refused():
    run = run_worker(_python("raise ValueError('no such model: x')"))
    with pytest.raises(WorkerError, match=r'exit 1: ValueError: no such model: x'):
        run.result()
    with pytest.raises(WorkerError, match='reported no result'):
        run_worker(_python("print('chatter')")).result()


def test_a_worker_that_hangs_is_stopped():
    run = run_worker(_python(REPORT + "import time; report('start', label='slow'); "
                                      "time.sleep(60)"), timeout=3)
    assert run.returncode is None and run.how_it_ended(3) == 'timed out after 3s'
    assert run.last('start')['label'] == 'slow'
