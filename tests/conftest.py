import http.server
import os
import threading

# The suite runs on MXNet's default (threaded) engine, as users' programs do. Tests that
# need exact repeatability run the training scripts as subprocesses, which choose the
# synchronous NaiveEngine on the CPU themselves (gluon_aff.train.loop), as a user's run does.
os.environ.pop('MXNET_ENGINE_TYPE', None)
if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest-xdist runs one worker per core: one OpenMP thread each (MXNet's spin-waiting
    # OpenMP threads slow each other down badly when they outnumber the cores). This also
    # fixes the thread count, and so the float summation order, of the learning tests.
    os.environ['OMP_NUM_THREADS'] = '1'

import gluon_aff  # noqa: F401,E402  (sets OMP_NUM_THREADS before MXNet loads)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gluon_aff.tools.random_weights import randomize  # noqa: E402,F401  (tests import it from here)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COMPAT_DIR = os.path.join(HERE, 'data', 'compat')


def pytest_addoption(parser):
    parser.addoption('--run-network', action='store_true', default=False,
                     help='run tests that download the released checkpoints')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--run-network'):
        return
    skip = pytest.mark.skip(reason='needs network access; run with --run-network')
    for item in items:
        if 'network' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_mxnet_home(tmp_path, monkeypatch):
    """No test reads or writes the user's ~/.mxnet."""
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'mxnet_home'))


def numpy_params(net):
    return {k: p.data().asnumpy().astype(np.float64)
            for k, p in net._collect_params_with_prefix().items()}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes); ``server.cut`` paths stop mid-file."""

    def do_GET(self):
        files, cut = self.server.files, self.server.cut
        if self.path not in files:
            self.send_error(404)
            return
        body = files[self.path]
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.path in cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A file server on 127.0.0.1; yields (base_url, server)."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    server.files, server.cut = {}, set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_address[1], server
    finally:
        server.shutdown()
        server.server_close()


# The learning tests' seed (GLUON_AFF_TEST_SEED, default 0) and where they record their
# results (GLUON_AFF_METRICS, JSON lines): benchmarks/learning_margins.py reruns them with
# other seeds and oneDNN levels to measure how far above their thresholds they stay.
TEST_SEED = int(os.environ.get('GLUON_AFF_TEST_SEED', '0'))


def record_metric(name, value, threshold):
    """Note a learning test's result (for benchmarks/learning_margins.py); returns value."""
    path = os.environ.get('GLUON_AFF_METRICS')
    if path:
        import json
        with open(path, 'a') as f:
            f.write(json.dumps(dict(test=name, value=float(value), threshold=threshold,
                                    seed=TEST_SEED,
                                    isa=os.environ.get('DNNL_MAX_CPU_ISA', 'default'),
                                    mkldnn=os.environ.get('MXNET_MKLDNN_ENABLED', '1'))) + '\n')
    return value


DIGITS_ARGS = ['--dataset', 'digits', '--gpus', '', '-j', '0', '--blocks', '1',
               '--channel-times', '1', '--batch-size', '32', '--num-epochs', '6', '--cosine',
               '--warmup-epochs', '1', '--seed', str(TEST_SEED), '--save-period', '0',
               '--progress', 'off']


def run_script(script, argv, timeout=900, env=None):
    """Run one of the repository's training scripts as a user would (its own process,
    which picks NaiveEngine on the CPU; ``env``: its environment, default this one);
    returns its combined output, failing on errors."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, os.path.join(ROOT, script)] + list(argv),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=timeout, cwd=ROOT, env=env)
    assert out.returncode == 0, '%s failed:\n%s' % (script, out.stdout[-3000:])
    return out.stdout


@pytest.fixture(scope='session')
def trained_digits(tmp_path_factory):
    """One AFF and one iAFF CIFAR ResNet (1 block per stage, channel_times 1) trained on
    the digits set for 6 epochs by train_cifar.py, shared by the whole session.

    Returns {fusion: dict(dir, best, acc, zoo, kwargs)}."""
    import glob
    trained = {}
    for fusion in ('aff', 'iaff'):
        root = tmp_path_factory.mktemp('digits_%s' % fusion)
        argv = ['--model', 'resnet', '--askc-type', fusion] + DIGITS_ARGS + [
            '--save-dir', str(root / 'params'), '--logging-dir', str(root / 'logs'),
            '--save-plot-dir', str(root)]
        run_script('train_cifar.py', argv)
        best = max(glob.glob(str(root / 'params' / '*-best.params')))
        trained[fusion] = dict(dir=root, best=best, acc=float(os.path.basename(best)[:6]),
                               zoo='cifar_%s_resnet20' % fusion,
                               kwargs=dict(blocks=1, channel_times=1, classes=10))
    return trained
