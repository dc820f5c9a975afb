import http.server
import os
import threading

# The tests train on the CPU in-process: use the engine the training scripts choose there
# (gluon_aff.train.loop.prefer_sync_engine_on_cpu), before MXNet's first operation.
os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')

import gluon_aff  # noqa: F401,E402  (sets OMP_NUM_THREADS before MXNet loads)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gluon_aff.tools.random_weights import randomize  # noqa: E402,F401  (tests import it from here)

HERE = os.path.dirname(os.path.abspath(__file__))
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


DIGITS_ARGS = ['--dataset', 'digits', '--gpus', '', '-j', '0', '--blocks', '1',
               '--channel-times', '1', '--batch-size', '32', '--num-epochs', '6', '--cosine',
               '--warmup-epochs', '1', '--seed', '0', '--save-period', '0', '--progress', 'off']


@pytest.fixture(scope='session')
def trained_digits(tmp_path_factory):
    """One AFF and one iAFF CIFAR ResNet (1 block per stage, channel_times 1) trained on
    the digits set for 6 epochs by train_cifar.py, shared by the whole session.

    Returns {fusion: dict(dir, best, acc, zoo, kwargs)}."""
    import glob
    from gluon_aff.train.cifar import main
    trained = {}
    for fusion in ('aff', 'iaff'):
        root = tmp_path_factory.mktemp('digits_%s' % fusion)
        argv = ['--model', 'resnet', '--askc-type', fusion] + DIGITS_ARGS + [
            '--save-dir', str(root / 'params'), '--logging-dir', str(root / 'logs'),
            '--save-plot-dir', str(root)]
        assert main(argv) == 0
        best = max(glob.glob(str(root / 'params' / '*-best.params')))
        trained[fusion] = dict(dir=root, best=best, acc=float(os.path.basename(best)[:6]),
                               zoo='cifar_%s_resnet20' % fusion,
                               kwargs=dict(blocks=1, channel_times=1, classes=10))
    return trained
