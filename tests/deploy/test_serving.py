"""Serving: OpenVINO export and runner at each precision, preprocessing without MXNet,
gluon-aff predict, and the accuracy columns of gluon-aff bench."""
import http.server
import json
import os
import shutil
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from helpers import local_server, randomize, run_python
from gluon_aff.cli import main
from gluon_aff.data.photos import sample_photos
from gluon_aff.deploy import runtimes
from gluon_aff.model_zoo import get_model, get_model_info
from gluon_aff.data.eval_transform import eval_transform, load_image

PHOTO = sample_photos()[0]        # Grace Hopper
SMALL = dict(blocks=1, channel_times=1)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """cifar_iaff_resnet20 (small, random weights and BN statistics) saved and exported to
    OpenVINO (f32) and ONNX with the CLI; returns (net, folder, params file)."""
    folder = tmp_path_factory.mktemp('serving')
    net = randomize(get_model('cifar_iaff_resnet20', classes=10, **SMALL), seed=3)
    params = str(folder / 'net.params')
    net.save_parameters(params)
    args = ['--params', params, '--out', str(folder), '--arg', 'blocks=1',
            '--arg', 'channel_times=1']
    assert main(['export', 'cifar_iaff_resnet20', '--format', 'openvino'] + args) == 0
    assert main(['export', 'cifar_iaff_resnet20', '--format', 'onnx'] + args) == 0
    return net, folder, params


def test_exact_paths_match_mxnet(exported):
    net, folder, _ = exported
    xml, onnx_file = str(folder / 'cifar_iaff_resnet20.xml'), str(folder / 'cifar_iaff_resnet20.onnx')
    assert os.path.isfile(xml[:-4] + '.bin')
    x = np.random.RandomState(0).normal(size=(1, 3, 32, 32)).astype(np.float32)
    expected = net(mx.nd.array(x)).asnumpy()
    scale = np.abs(expected).max()
    for path, runtime in ((xml, 'openvino'), (onnx_file, 'onnxruntime')):
        got = runtimes.Runner(path, runtime, 'f32')(x)
        assert np.abs(got - expected).max() <= 1e-4 * scale, runtime
    # OpenVINO follows the batch it is given
    batch = np.random.RandomState(1).normal(size=(3, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(runtimes.Runner(xml)(batch), net(mx.nd.array(batch)).asnumpy(),
                               rtol=1e-4, atol=1e-4 * scale)


TELEMETRY_PROBE = r"""
import json, os, sys, threading, time
forks = []
os.register_at_fork(before=lambda: forks.append(threading.current_thread() is not
                                                threading.main_thread()))
from gluon_aff.deploy import runtimes
from gluon_aff.deploy.export import export_openvino
from gluon_aff.model_zoo import get_model


def forks_after(call):
    call()
    at_return = sum(forks)
    time.sleep(0.5)
    return [at_return, sum(forks)]


net = get_model('cifar_iaff_resnet20', classes=10, blocks=1, channel_times=1)
net.initialize()
print(json.dumps({
    'import openvino': forks_after(lambda: runtimes.available_precisions('openvino')),
    'export_openvino': forks_after(lambda: export_openvino(net, sys.argv[1], (1, 3, 32, 32)))}))
"""


class SlowProxy(http.server.BaseHTTPRequestHandler):
    """An HTTPS proxy that answers each CONNECT with an error after 0.25 s, as a slow
    network would (the telemetry's messages then take turns in its six threads)."""

    def do_CONNECT(self):
        self.server.connects += 1
        time.sleep(0.25)
        self.send_error(502)

    def log_message(self, *args):
        pass


def test_openvino_calls_return_with_their_telemetry_sent(tmp_path):
    """OpenVINO's telemetry forks a process per message from a thread pool, and a fork from
    another thread while MXNet computes deadlocks MXNet (its fork handler waits for its
    engine: ``gluon-aff bench`` hung so). Importing OpenVINO and exporting to it return only
    once their messages are sent, so no such fork comes after them. Run in a fresh process
    (OpenVINO sends on its first import) whose home has no consent file (telemetry on, as
    for a new user), outside CI (where it is off), its messages sent through a slow proxy
    (which kept forks coming for a second after the export returned before the fix)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('CI', 'TF_BUILD', 'JENKINS_URL', 'no_proxy', 'NO_PROXY')}
    with local_server(SlowProxy) as proxy:
        proxy.connects = 0
        env.update(HOME=str(tmp_path), https_proxy='http://127.0.0.1:%d' % proxy.server_port)
        out = run_python(TELEMETRY_PROBE, str(tmp_path / 'net.xml'), env=env, timeout=300)
    forks = json.loads(out.strip().splitlines()[-1])
    if not forks['export_openvino'][1] or not proxy.connects:
        pytest.skip('this OpenVINO sent no telemetry from a forked process')
    for call, (at_return, later) in forks.items():
        assert later == at_return, '%s: %d telemetry forks after it returned' % (
            call, later - at_return)


SIGNAL_AFTER_TWO_RUNNERS = r"""
import gc, os, signal, sys
import numpy as np
from gluon_aff.deploy.runtimes import Runner
first, second = Runner(sys.argv[1], 'openvino'), Runner(sys.argv[1], 'openvino')
x = np.zeros((1, 3, 32, 32), np.float32)
first(x), second(x)
del first
gc.collect()
del second
gc.collect()
handled = []
signal.signal(signal.SIGUSR1, lambda *args: handled.append(True))
os.kill(os.getpid(), signal.SIGUSR1)
print(handled)
"""


def test_a_signal_is_handled_after_two_runners_are_released_in_the_order_made(exported):
    """OpenVINO's CPU plugin installs an alternate signal stack of its own and, released,
    reinstalls the one it found: the first of two runners released first left the thread on
    its unmapped stack, and the next signal with a handler (here SIGUSR1; in the suite a
    DataLoader worker's SIGCHLD) killed the process with a segmentation fault."""
    _, folder, _ = exported
    out = run_python(SIGNAL_AFTER_TWO_RUNNERS, str(folder / 'cifar_iaff_resnet20.xml'),
                     timeout=300)
    assert out.split() == ['[True]']


def test_preprocessing_without_mxnet_equals_the_zoo_evaluation():
    for name in ('iaff_resnet50', 'cifar_aff_resnet32'):
        info = get_model_info(name)
        ours = runtimes.preprocess(PHOTO, info.preprocessing())
        zoo = eval_transform(info, load_image(PHOTO)).asnumpy()
        assert ours.shape == zoo.shape == (1, 3, info.input_size, info.input_size)
        # the same OpenCV resize; one grey level of rounding at most, in normalised units
        assert np.abs(ours - zoo).max() <= 1.01 / 255 / min(info.std)


def test_predict_is_one_call(exported, capsys):
    _, folder, _ = exported
    meta = json.load(open(str(folder / 'cifar_iaff_resnet20.json')))
    assert meta['input_size'] == 32 and meta['model'] == 'cifar_iaff_resnet20'
    clf = runtimes.Classifier(str(folder / 'cifar_iaff_resnet20.xml'))
    top = clf.predict(PHOTO, topk=3)
    probs = [p for _, _, p in top]
    assert len(top) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    assert top[0][0] == int(np.argmax(clf.probabilities(PHOTO)))
    assert main(['predict', str(folder / 'cifar_iaff_resnet20.onnx'), PHOTO, '--topk', '2']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == PHOTO + ':' and out[1].strip().startswith('1. class %d ' % top[0][0])


def test_unavailable_precisions_and_runtimes_say_why(exported, monkeypatch, capsys):
    _, folder, _ = exported
    xml = str(folder / 'cifar_iaff_resnet20.xml')
    reasons = runtimes.available_precisions('openvino')
    if reasons['bf16']:         # this CPU has no bfloat16 kernels (no AVX512_BF16, no AMX)
        with pytest.raises(runtimes.PrecisionUnavailable, match='AVX512_BF16 or AMX'):
            runtimes.Runner(xml, precision='bf16')
        assert main(['predict', xml, PHOTO, '--precision', 'bf16']) == 2
        assert 'AVX512_BF16 or AMX' in capsys.readouterr().err
    else:
        runtimes.Runner(xml, precision='bf16')(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(runtimes.PrecisionUnavailable, match='not quantised.*--precision int8'):
        runtimes.Runner(xml, precision='int8')
    with pytest.raises(runtimes.PrecisionUnavailable, match='onnxruntime runs precision f32'):
        runtimes.Runner(str(folder / 'cifar_iaff_resnet20.onnx'), 'onnxruntime', 'int8')
    assert main(['export', 'cifar_iaff_resnet20', '--format', 'openvino', '--precision',
                 'int8', '--out', str(folder)]) == 2
    assert '--calibration FOLDER' in capsys.readouterr().err
    # a missing or damaged model file is named before its preprocessing file
    assert main(['predict', str(folder / 'none.onnx'), PHOTO]) == 2
    assert "model file '%s' does not exist" % (folder / 'none.onnx') in capsys.readouterr().err
    for suffix, runtime in (('.onnx', 'onnxruntime'), ('.xml', 'openvino')):
        damaged = folder / ('damaged' + suffix)
        damaged.write_bytes(b'garbage' * 50)
        shutil.copy(str(folder / 'cifar_iaff_resnet20.json'), str(folder / 'damaged.json'))
        assert main(['predict', str(damaged), PHOTO]) == 2
        err = capsys.readouterr().err
        assert "cannot load '%s' (350 bytes) with %s: it is damaged" % (damaged, runtime) in err
        assert 'Traceback' not in err and 'export it again' in err
    monkeypatch.setitem(sys.modules, 'openvino', None)      # as if it were not installed
    with pytest.raises(ImportError, match='pip install openvino'):
        runtimes.Runner(xml)


@pytest.mark.xdist_group('digits')
def test_bench_reports_the_accuracy_of_each_path(trained_digits, capsys, monkeypatch):
    """Reduced-precision paths against float32 on the digits network trained for the suite
    and on real photographs; unavailable paths are rows that say why. (The int8 network's
    accuracy control allows 3 of the 300 control digits lost, not the default's none: for a
    network whose int8 form lost one, the search for layers to return to float took 26 s
    more on a 2-core AVX2 EPYC; the suite's network lost none there.)"""
    digits = trained_digits['aff']
    args = ['bench', 'cifar_aff_resnet20', '--arg', 'blocks=1', '--arg', 'channel_times=1',
            '--iters', '2', '--warmup', '1', '--baseline', 'cifar_aff_resnet20',
            '--paths', 'hybridized', 'openvino', 'openvino-bf16', 'openvino-int8',
            '--digits-params', digits['best'], '--max-accuracy-drop', '0.01', '--json']
    from gluon_aff.deploy import export
    controls, export_openvino = [], export.export_openvino

    def recorded(net, path, shape, precision='f32', calibration=None, validation=None,
                 max_drop=0.005):
        if validation is not None:
            controls.append((len(validation[1]), max_drop))
        return export_openvino(net, path, shape, precision, calibration, validation, max_drop)
    monkeypatch.setattr(export, 'export_openvino', recorded)
    code = main(args)
    assert controls == [(300, 0.01)]       # the digits network's int8, controlled as asked
    rows = {r['path']: r for r in map(json.loads, capsys.readouterr().out.strip().splitlines())}
    f32 = rows['hybridized']['digits_acc_f32']
    assert f32 == pytest.approx(digits['acc'], abs=1e-4)       # the trained network, float32
    for path in ('hybridized', 'openvino'):
        assert rows[path]['digits_acc'] == pytest.approx(f32, abs=1e-4)
        assert rows[path]['top1_agreement'] == 1.0 and rows[path]['max_rel_diff'] <= 1e-4
    int8 = rows['openvino-int8']
    assert 'error' not in int8, int8
    assert int8['digits_acc'] >= f32 - 0.03, int8          # quantised, nearly as accurate
    assert 0.5 <= int8['top1_agreement'] <= 1.0 and int8['img_per_s'] > 0
    bf16 = rows['openvino-bf16']
    if runtimes.available_precisions('openvino')['bf16']:
        assert code == 1 and 'AVX512_BF16 or AMX' in bf16['error']
    else:
        assert bf16['digits_acc'] >= f32 - 0.01


def test_int8_export_from_folders(exported, tmp_path, capsys):
    """gluon-aff export --precision int8 with a calibration folder and a labelled validation
    folder (accuracy-controlled quantisation): a quantised model that runs at int8; the
    labels follow the sorted class folders; folders that do not fit are named."""
    from PIL import Image
    from gluon_aff.deploy.export import calibration_batch, labelled_batch
    _, _, params = exported
    rng = np.random.RandomState(5)
    for folder, count in (('calib', 8), ('val/b_second', 3), ('val/a_first', 2)):
        os.makedirs(str(tmp_path / folder))
        for i in range(count):
            Image.fromarray(rng.randint(0, 256, (40, 36, 3)).astype(np.uint8)).save(
                str(tmp_path / folder / ('%d.png' % i)))
    info = get_model_info('cifar_iaff_resnet20')
    x, y = labelled_batch(str(tmp_path / 'val'), info)
    assert y.tolist() == [0, 0, 1, 1, 1] and x.shape == (5, 3, 32, 32)
    np.testing.assert_array_equal(x[2:], calibration_batch(str(tmp_path / 'val/b_second'), info))
    args = ['export', 'cifar_iaff_resnet20', '--params', params, '--arg', 'blocks=1',
            '--arg', 'channel_times=1', '--format', 'openvino', '--out', str(tmp_path),
            '--precision', 'int8', '--calibration', str(tmp_path / 'calib')]
    assert main(args + ['--validation', str(tmp_path / 'val'),
                        '--max-accuracy-drop', '0.5']) == 0
    xml = str(tmp_path / 'cifar_iaff_resnet20-int8.xml')
    out = runtimes.Runner(xml, precision='int8')(x[:1])
    assert out.shape == (1, 10) and np.isfinite(out).all()
    assert main(args + ['--validation', str(tmp_path / 'nowhere')]) == 2
    assert "validation folder '%s' does not exist" % (tmp_path / 'nowhere') in \
        capsys.readouterr().err
    assert main(args[:-4] + ['--validation', str(tmp_path / 'val')]) == 2
    assert '--validation controls the accuracy of int8' in capsys.readouterr().err


def test_int8_accuracy_control_sees_every_class(tmp_path):
    """The labelled subset int8 export validates on is stratified: an unbalanced folder
    (30, 2 and 5 images) limited to 9 gives 4, 2 and 3, spread over the large class."""
    from PIL import Image
    from gluon_aff.deploy.export import labelled_batch, stratified_quotas
    assert stratified_quotas([30, 2, 5], 9) == [4, 2, 3]
    assert stratified_quotas([1000, 1000, 1000], 1000) == [333, 333, 334]
    assert stratified_quotas([5, 7], 100) == [5, 7]
    for folder, count in (('a_big', 30), ('b_small', 2), ('c_mid', 5)):
        os.makedirs(str(tmp_path / folder))
        for i in range(count):
            Image.new('RGB', (36, 36), (8 * i, 8 * i, 8 * i)).save(
                str(tmp_path / folder / ('%02d.png' % i)))
    info = get_model_info('cifar_iaff_resnet20')
    x, y = labelled_batch(str(tmp_path), info, limit=9)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2]
    # a_big: files 0, 10, 19, 29 of 30 (evenly spread), told apart by their gray level
    grays = np.array([0, 10, 19, 29]) * 8 / 255.0
    np.testing.assert_allclose(x[:4, 0, 0, 0], (grays - info.mean[0]) / info.std[0], rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match='one image of each of the 3 classes'):
        labelled_batch(str(tmp_path), info, limit=2)
