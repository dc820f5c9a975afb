"""gluon-aff summary (graph counts), eval and gradcam."""
import os

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.cli import main
from gluon_aff.data.digits import digits_dataset
from gluon_aff.data.recordio import pack_arrays
from gluon_aff.model_zoo import get_model
from gluon_aff.tools.flops import count_graph
from gluon_aff.tools.gradcam import grad_cam


def _macs(rows, prefix=None, attention=None):
    return sum(r.macs for r in rows if (prefix is None or r.name.startswith(prefix))
               and (attention is None or r.attention == attention))


def _pointwise_attention(blocks):
    """Analytic multiply-adds of MS-CAM point-wise convolutions: (channels, r, h, w) per
    block; local branch 2*C*(C/r) per pixel, global branch 2*C*(C/r) once."""
    return sum(2 * c * (c // r) * h * w + 2 * c * (c // r) for c, r, h, w in blocks)


def test_attention_cost_of_aff_resnet50_equals_the_analytic_count():
    add = count_graph(get_model('resnet50_add'), (1, 3, 224, 224))
    aff = count_graph(get_model('aff_resnet50'), (1, 3, 224, 224))
    iaff = count_graph(get_model('iaff_resnet50'), (1, 3, 224, 224))
    analytic = _pointwise_attention([(1024, 16, 14, 14)] * 6 + [(2048, 16, 7, 7)] * 3)
    assert analytic == pytest.approx(0.2336e9, rel=1e-3)                 # the 0.23 G
    assert _macs(aff) - _macs(add) == pytest.approx(analytic, rel=0.01)
    assert _macs(aff, attention=True) == pytest.approx(analytic, rel=0.01)
    assert _macs(iaff) - _macs(add) == pytest.approx(2 * analytic, rel=0.01)   # two MS-CAMs
    assert _macs(add, attention=True) == 0
    assert _macs(add) == pytest.approx(4.33e9, rel=0.01)                  # ResNet-50-D host


def test_per_block_shares_bottleneck_and_basic():
    # bottleneck of width P (stage 3: P = 256, 14x14): 17 P^2 per pixel in its convolutions,
    # AFF with r = 16 adds 2 P^2 per pixel locally (+ the global branch once): ~11.8%
    net = get_model('aff_resnet50')
    rows = count_graph(net, (1, 3, 224, 224))
    prefix = net.layer3[1].prefix
    body = _macs(rows, prefix, attention=False)
    att = _macs(rows, prefix, attention=True)
    P, hw = 256, 14 * 14
    assert body == 17 * P * P * hw
    assert att == _pointwise_attention([(4 * P, 16, 14, 14)])
    assert att / body == pytest.approx(2 / 17, rel=0.01)
    # basic pre-activation block of width P (CIFAR stage 2: P = 128, 16x16): 18 P^2, AFF r = 4
    net = get_model('cifar_aff_resnet32')
    rows = count_graph(net, (1, 3, 32, 32))
    prefix = net.features[3][1].prefix
    P, hw = 128, 16 * 16
    assert _macs(rows, prefix, attention=False) == 18 * P * P * hw
    assert _macs(rows, prefix, attention=True) == _pointwise_attention([(P, 4, 16, 16)])
    assert _macs(rows, prefix, True) / _macs(rows, prefix, False) == pytest.approx(
        (P * P / 2) / (18 * P * P), rel=0.01)


def test_summary_command(capsys):
    assert main(['summary', 'cifar_aff_resnet20']) == 0
    out = capsys.readouterr().out
    assert 'mult-adds' in out and 'Convolution' in out and 'attention (rows marked *)' in out
    assert main(['summary', 'aff_resnet50', '--totals']) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and '4.562 G' in out[1] and '(5.1%)' in out[2]
    assert main(['summary', 'aff_resnet5']) == 2
    assert 'aff_resnet50' in capsys.readouterr().err


# -- eval --------------------------------------------------------------------------------------
def test_eval_on_digits_and_on_a_tiny_rec(trained_digits, tmp_path, capsys):
    run = trained_digits['aff']
    args = ['eval', run['zoo'], '--params', run['best'], '--arg', 'blocks=1',
            '--arg', 'channel_times=1', '--progress', 'off']
    assert main(args + ['--dataset', 'digits']) == 0
    out = capsys.readouterr().out
    assert 'top-1 accuracy %.4f' % run['acc'] in out
    # the same validation images packed into a .rec made here
    val = digits_dataset(False)
    images = np.stack([val[i][0].asnumpy() for i in range(len(val))])
    labels = np.array([val[i][1] for i in range(len(val))])
    rec, idx = pack_arrays(images, labels, str(tmp_path / 'val'))
    assert main(args + ['--rec-val', rec, '--rec-val-idx', idx, '-j', '1']) == 0
    measured = float(capsys.readouterr().out.split('top-1 accuracy ')[1].split()[0])
    # independent computation on the decoded JPEGs
    net = get_model(run['zoo'], pretrained=run['best'], **run['kwargs'])
    decoded = mx.gluon.data.vision.ImageRecordDataset(rec)
    x = np.stack([decoded[i][0].asnumpy() for i in range(len(decoded))]).astype(np.float32)
    mean = np.array([0.4914, 0.4822, 0.4465]) * 255
    std = np.array([0.2023, 0.1994, 0.2010]) * 255
    x = ((x - mean) / std).transpose(0, 3, 1, 2)
    pred = net(mx.nd.array(x)).argmax(axis=1).asnumpy()
    assert measured == pytest.approx((pred == labels).mean(), abs=1e-4)
    assert measured == pytest.approx(run['acc'], abs=0.05)      # JPEG costs little


def test_eval_errors(trained_digits, capsys, tmp_path):
    run = trained_digits['aff']
    assert main(['eval', run['zoo'], '--params', run['best'], '--dataset', 'digits']) == 2
    err = capsys.readouterr().err
    assert 'does not fit cifar_aff_resnet20' in err and 'missing from the file' in err
    assert main(['eval', run['zoo'], '--params', run['best']]) == 2
    assert 'exactly one data source' in capsys.readouterr().err
    assert main(['eval', run['zoo'], '--params', str(tmp_path / 'none.params'),
                 '--dataset', 'digits']) == 2
    assert 'does not exist' in capsys.readouterr().err


# -- Grad-CAM ----------------------------------------------------------------------------------
def _squares(n, rng, always=False):
    """Grey noise with 64 bright pixels: in class 1 (all images if ``always``) they form an
    8x8 square at a random place, in class 0 they are scattered, so that only the square's
    shape, not the brightness, tells the classes apart. Returns images, labels, corners."""
    x = rng.uniform(0.3, 0.6, (n, 3, 32, 32)).astype(np.float32)
    y = np.ones(n, int) if always else rng.randint(0, 2, n)
    boxes = rng.randint(0, 24, (n, 2))
    for i, (r, c) in enumerate(boxes):
        if y[i]:
            x[i, :, r:r + 8, c:c + 8] = 1.0
        else:
            spots = rng.choice(32 * 32, 64, replace=False)
            x[i, :, spots // 32, spots % 32] = 1.0
    return x, y, boxes


def test_gradcam_peaks_on_the_object():
    """A network trained here to tell images with a bright square from plain noise: the
    Grad-CAM of 'square' peaks on the square."""
    from gluon_aff.train import loop
    mx.random.seed(0)
    x, y, _ = _squares(256, np.random.RandomState(0))
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1, classes=2)
    net.initialize(mx.init.Xavier())
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.05,
                                                             'momentum': 0.9})
    batches = lambda: ((mx.nd.array(x[i:i + 32]), mx.nd.array(y[i:i + 32]))  # noqa: E731
                       for i in range(0, 256, 32))
    first = lambda: iter([(mx.nd.array(x[:64]), mx.nd.array(y[:64]))])  # noqa: E731
    loop.fit(net, trainer, [mx.cpu()], batches, first, 2, 3, progress=False)
    tx, _, boxes = _squares(8, np.random.RandomState(1), always=True)
    for stage, needed in ((None, 6), (2, 7)):        # last stage (default), then stage 2
        hits = 0
        for i in range(8):
            cam, prob, k = grad_cam(net, mx.nd.array(tx[i:i + 1]), class_index=1, stage=stage)
            assert cam.shape == (32, 32) and cam.min() >= 0 and cam.max() <= 1 and k == 1
            r, c = np.unravel_index(cam.argmax(), cam.shape)
            top, left = boxes[i]
            hits += (top - 4 <= r < top + 12) and (left - 4 <= c < left + 12)
        assert hits >= needed, 'stage %s: %d of 8 heat maps peaked on the square' % (stage, hits)


def test_gradcam_command_writes_pictures(tmp_path, capsys):
    import matplotlib
    photo = os.path.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')
    files = []
    for name in ('resnet50_add', 'cifar_iaff_resnet20'):
        net = get_model(name)
        net.initialize(mx.init.Xavier())
        files += ['--model', name, '--params', str(tmp_path / (name + '.params'))]
        net.save_parameters(str(tmp_path / (name + '.params')))
    assert main(['gradcam'] + files + [photo, '--out', str(tmp_path / 'cams')]) == 0
    for png in ('gradcam.png', 'grace_hopper_resnet50_add.png',
                'grace_hopper_cifar_iaff_resnet20.png'):
        with open(str(tmp_path / 'cams' / png), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    bad = tmp_path / 'bad.jpg'
    bad.write_text('not an image')
    assert main(['gradcam'] + files[:4] + [str(bad), '--out', str(tmp_path)]) == 2
    assert 'cannot decode' in capsys.readouterr().err
    assert main(['gradcam', '--model', 'resnet50_ad', '--params', 'x', photo, '--out', 'o']) == 2
    assert 'resnet50_add' in capsys.readouterr().err
    assert main(['gradcam'] + files[:4] + [photo, '--layer', '7', '--out', str(tmp_path)]) == 2
    assert 'between 1 and 4' in capsys.readouterr().err
