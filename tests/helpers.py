"""What the tests share: paths, the trained-digits recipe, running the scripts and Python
code in processes of their own, the benchmark scripts as modules, a local HTTP server and a
file server's request handler, NumPy views of a network's parameters. (Fixtures are in conftest.py, which imports
gluon_aff only after fixing the thread count.)"""
import contextlib
import http.server
import os
import threading

import numpy as np

from gluon_aff.utils.random_weights import randomize  # noqa: F401  (tests import it from here)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COMPAT_DIR = os.path.join(HERE, 'model_zoo', 'compat')


def network_key(name):
    """What decides the network a name builds at its family's smallest configuration:
    (family, fusion, AFINets' setting); depth does not."""
    from gluon_aff.core.zoo import get_model_info
    info = get_model_info(name)
    return info.family, info.fusion, info.args.get('setting')


def distinct_names(names):
    """One name per network the families' smallest configurations build: names that differ
    only in depth build the same one (test_timm_contract.py for the twin and
    test_zoo_walk.py for MXNet check that every left-out name's network has the same
    parameters and shapes as its stand-in's)."""
    seen, picked = set(), []
    for name in names:
        key = network_key(name)
        if key not in seen:
            seen.add(key)
            picked.append(name)
    return picked


def stand_in(name, walked):
    """The name among ``walked`` (one per network, ``distinct_names``) whose network
    ``name`` builds at the smallest configuration."""
    return {network_key(n): n for n in walked}[network_key(name)]


def covering_names(names):
    """The fewest distinct networks, picked in order, that still hold every family, every
    fusion and every setting (AFINets' A and B) at least once: for the checks whose cost is
    a whole export of the network. A block's code is the same in every family that uses
    it, so walking each block once and each family once exercises all of that code; the
    cheaper walks (creation arguments, every parameter trained) still take every distinct
    network."""
    def traits(name):
        return set(zip(('family', 'fusion', 'setting'), network_key(name)))
    wanted = set().union(*map(traits, names))
    picked = []
    for name in distinct_names(names):
        if traits(name) & wanted:
            picked.append(name)
            wanted -= traits(name)
    return picked


def numpy_params(net):
    return {k: p.data().asnumpy().astype(np.float64)
            for k, p in net._collect_params_with_prefix().items()}


@contextlib.contextmanager
def local_server(handler):
    """An HTTP server on 127.0.0.1 answering with ``handler``, in a thread; yields it
    (its port: ``server.server_port``)."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class FileHandler(http.server.BaseHTTPRequestHandler):
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


def run_python(code, *args, timeout=600, env=None):
    """Run ``python -c code args...`` in the repository's root (a process of its own: a
    fresh interpreter, or a crash that must not take the test's worker with it); returns
    its standard output, failing with its exit status and standard error otherwise."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, '-c', code] + list(args), capture_output=True,
                         text=True, cwd=ROOT, timeout=timeout, env=env)
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    return out.stdout


def benchmark_module(name):
    """``benchmarks/NAME.py`` imported as a module (the scripts there are not a package),
    for tests of their pure functions."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'benchmarks',
                                                                     name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
