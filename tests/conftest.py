import gc
import os
import sys

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
import pytest  # noqa: E402

# the tests in the sub-folders import the shared helpers as `helpers`
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import DIGITS_ARGS, FileHandler, local_server, run_script  # noqa: E402


def pytest_addoption(parser):
    parser.addoption('--run-network', action='store_true', default=False,
                     help='run tests that download the released checkpoints')
    parser.addoption('--run-e2e', action='store_true', default=False,
                     help='run the end-to-end tier (make test-e2e): the programs run again '
                          'in their own processes, stopped and rerun, on several processes')


# The longest tests (15-70 s each on 2 cores), started first so that the workers finish
# together instead of one waiting for the other's last long test.
RUN_FIRST = ('test_bench_reports_the_accuracy_of_each_path',
             'test_every_family_trains_at_both_channel_blockings', 'test_bench_json_and_table',
             'test_every_twin_name_computes_what_mxnet_computes',
             'test_finetune_moves_an_mxnet_trained_network_to_a_new_task',
             'test_small_afi_resnet_learns_digits', 'test_killed_anywhere_and_rerun_ends_bit_for_bit',
             'test_gradcam_peaks_on_the_object', 'test_python_snippets_run',
             'test_two_workers_train_in_sync_and_a_killed_worker_stops_the_rest',
             'test_imagenet_resume_equals_an_uninterrupted_run',
             'test_finetune_runs_on_two_processes_through_torchrun',
             'test_two_processes_stopped_anywhere_end_as_if_never_stopped',
             'test_one_process_stopped_anywhere_ends_as_if_never_stopped')


# The end-to-end tier (marker 'e2e', make test-e2e; CI runs both tiers): the programs run
# again in their own processes beyond the one end-to-end run of each that the default tier
# keeps: stopped anywhere and rerun, on several processes (torchrun, MXNet's workers, two
# stand-in GPUs), learning runs beyond the shared digits network, the benchmarks' dry runs.
# What they pin in-process (a resume restores what was saved, the write order of resume
# files, the refusals) stays in the default tier.


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.originalname, len(rank)))     # (stable)
    for marker, option, reason in (
            ('network', '--run-network', 'needs network access; run with --run-network'),
            ('e2e', '--run-e2e', 'the end-to-end tier: make test-e2e (CI runs it), or '
                                 'pytest --run-e2e')):
        if not config.getoption(option):
            skip = pytest.mark.skip(reason=reason)
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)


def pytest_collection_finish(session):
    # what collecting imported (torch, timm, MXNet, gluoncv: some 550,000 objects) lives as
    # long as the worker: frozen, the garbage collector's full passes no longer walk it
    # (measured on tests/torch_twin and tests/model_zoo: 52 s of collecting in the two
    # workers before, 33 s after)
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_mxnet_home(tmp_path, monkeypatch):
    """No test reads or writes the user's ~/.mxnet."""
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'mxnet_home'))


@pytest.fixture
def http_server():
    """A file server on 127.0.0.1; yields (base_url, server)."""
    with local_server(FileHandler) as server:
        server.files, server.cut = {}, set()
        yield 'http://127.0.0.1:%d' % server.server_port, server


@pytest.fixture(scope='session')
def trained_digits(tmp_path_factory):
    """One AFF CIFAR ResNet (1 block per stage, channel_times 1) trained on the digits set
    for 6 epochs by train_cifar.py, shared by the whole session (docs/training.md gives
    iAFF's accuracies on the same recipe; its block is checked against NumPy in tests/nn).

    Returns {'aff': dict(dir, best, acc, zoo, kwargs)}."""
    import glob
    trained = {}
    for fusion in ('aff',):
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


@pytest.fixture
def fake_cifar_release(tmp_path, monkeypatch, http_server):
    """Two small cifar_aff_resnet20 networks (blocks 1, channel_times 1) written by MXNet,
    served from 127.0.0.1 as that name's released files: {'fine': (net, checkpoint,
    server), 'coarse': ...}."""
    from gluon_aff.core import released
    from gluon_aff.model_zoo import get_model
    from helpers import randomize
    base, server = http_server
    made, checkpoints = {}, []
    for seed, labels in enumerate(('fine', 'coarse')):
        net = randomize(get_model('cifar_aff_resnet20', blocks=1, channel_times=1), seed=5 + seed)
        path = str(tmp_path / ('small-%s.params' % labels))
        net.save_parameters(path)
        ckpt = released.Checkpoint(
            model='cifar_aff_resnet20', file='0.5%d00-fake-%s-best.params' % (seed, labels),
            path='cifar100/Fake/0.5%d00-fake-%s-best.params' % (seed, labels),
            git_blob_id=released.git_blob_id(path), dtype={}, labels=labels, head_classes=100,
            label_classes=100 if labels == 'fine' else 20, metric='accuracy',
            value=0.5 + seed / 10, input_size=32, paper=None)
        with open(path, 'rb') as f:
            server.files['/params/' + ckpt.path] = f.read()
        checkpoints.append(ckpt)
        made[labels] = (net, ckpt, server)
    monkeypatch.setattr(released, 'CHECKPOINTS', released.CHECKPOINTS + checkpoints)
    monkeypatch.setenv(released.BASE_URL_ENV, base + '/params/')
    return made
