"""gluon-aff summary (graph counts), eval and gradcam."""
import mxnet as mx
import numpy as np
import pytest

from helpers import TEST_SEED, record_metric
from gluon_aff.cli import main
from gluon_aff.data.digits import digits_dataset
from gluon_aff.data.recordio import pack_arrays
from gluon_aff.model_zoo import get_model
from gluon_aff.utils.flops import count_graph
from gluon_aff.tools.gradcam import grad_cam
from gluon_aff.data.eval_transform import load_image


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
    assert analytic == pytest.approx(0.2336e9, rel=1e-3)                 # 0.23 G, as reported against the original
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
@pytest.mark.xdist_group('digits')
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


def _photo_crops():
    """Nine crops of real photographs (matplotlib's and scikit-learn's sample images)."""
    from PIL import Image
    from gluon_aff.data.photos import sample_photos
    crops = []
    for f in sample_photos():
        img = np.asarray(Image.open(f).convert('RGB'))
        h, w = img.shape[:2]
        for k, (top, left, side) in enumerate(((0, 0, 300), (h - 350, w - 300, 300),
                                               (h // 4, w // 5, 280))):
            crops.append(np.ascontiguousarray(img[top:top + side, left:left + side + 40 * k]))
    return crops


def _labels_six_of_nine(net, info, images):
    """The network's own predictions on the zoo's evaluation preprocessing, every third one
    replaced by another class: evaluated as the zoo evaluates, top-1 is exactly 6/9."""
    from gluon_aff.data.eval_transform import eval_transform
    pred = [int(net(eval_transform(info, mx.nd.array(im, dtype='uint8'))).argmax(axis=1)
                .asscalar()) for im in images]
    return [(p + 1) % 3 if i % 3 == 0 else p for i, p in enumerate(pred)]


def test_eval_an_imagenet_network_on_an_image_folder_and_a_rec(tmp_path, capsys):
    from PIL import Image
    from gluon_aff.model_zoo import get_model_info
    from helpers import randomize
    info = get_model_info('resnet50_add')
    net = randomize(get_model('resnet50_add', layers=[1, 1, 1, 1], classes=3), seed=8)
    params = str(tmp_path / 'r50.params')
    net.save_parameters(params)
    args = ['eval', 'resnet50_add', '--params', params, '--arg', 'layers=[1, 1, 1, 1]', '-j',
            '0', '--progress', 'off']
    images = _photo_crops()
    labels = _labels_six_of_nine(net, info, images)
    for c in range(3):
        (tmp_path / 'data' / 'val' / ('c%d' % c)).mkdir(parents=True)
    for i, (img, label) in enumerate(zip(images, labels)):
        Image.fromarray(img).save(str(tmp_path / 'data' / 'val' / ('c%d' % label) / ('%d.png' % i)))
    assert main(args + ['--data-dir', str(tmp_path / 'data')]) == 0
    assert 'top-1 accuracy 0.6667' in capsys.readouterr().out
    # a .rec holds JPEGs: the labels follow the decoded pixels, which the iterator sees
    rec, idx = pack_arrays(images, labels, str(tmp_path / 'val'))
    decoded = mx.gluon.data.vision.ImageRecordDataset(rec)
    decoded = [decoded[i][0].asnumpy() for i in range(len(decoded))]
    rec, idx = pack_arrays(images, _labels_six_of_nine(net, info, decoded), str(tmp_path / 'val'))
    assert main(args + ['--rec-val', rec, '--rec-val-idx', idx]) == 0
    assert 'top-1 accuracy 0.6667' in capsys.readouterr().out


def test_eval_coarse_labels(tmp_path, capsys, monkeypatch):
    from helpers import randomize
    from gluon_aff.data.digits import digits_arrays
    calls = []
    images, labels = digits_arrays()

    class FakeCIFAR100(object):
        def __init__(self, root, train=True, fine_label=None, **kwargs):
            calls.append(fine_label)
            self._data = mx.nd.array(images[:40], dtype='uint8')
            self._label = labels[:40] % 20 if not fine_label else labels[:40]
    monkeypatch.setattr(mx.gluon.data.vision, 'CIFAR100', FakeCIFAR100)
    net = randomize(get_model('cifar_aff_resnet20', blocks=1, channel_times=1), seed=9)
    params = str(tmp_path / 'c.params')
    net.save_parameters(params)
    assert main(['eval', 'cifar_aff_resnet20', '--params', params, '--arg', 'blocks=1',
                 '--arg', 'channel_times=1', '--dataset', 'cifar100', '--coarse-label',
                 '--progress', 'off']) == 0
    out = capsys.readouterr().out
    assert calls == [False] and 'on cifar100 (coarse labels)' in out
    mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2023, 0.1994, 0.2010])
    x = ((images[:40] / 255.0 - mean) / std).transpose(0, 3, 1, 2)
    expected = (net(mx.nd.array(x)).argmax(axis=1).asnumpy() == labels[:40] % 20).mean()
    assert 'top-1 accuracy %.4f' % expected in out


@pytest.mark.xdist_group('digits')
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
def _objects(n, rng, always_square=False):
    """uint8 HWC images of grey noise with three classes: 0 nothing, 1 a bright 8x8 square,
    2 the same 64 bright pixels scattered over a 16x16 window, so that only the square's
    shape tells class 1 apart. Returns images, labels, the squares' corners."""
    x = rng.randint(76, 153, (n, 32, 32, 3)).astype(np.uint8)
    y = np.ones(n, int) if always_square else rng.randint(0, 3, n)
    boxes = rng.randint(0, 24, (n, 2))
    for i, (r, c) in enumerate(boxes):
        if y[i] == 1:
            x[i, r:r + 8, c:c + 8] = 255
        elif y[i] == 2:
            r0, c0 = min(r, 16), min(c, 16)
            spots = rng.choice(256, 64, replace=False)
            x[i, r0 + spots // 16, c0 + spots % 16] = 255
    return x, y, boxes


def _normalised(images):
    """As the zoo's CIFAR evaluation (and so gluon-aff gradcam) normalises them."""
    mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2023, 0.1994, 0.2010])
    return ((images / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)


def _hits(cam, box):
    r, c = np.unravel_index(cam.argmax(), cam.shape)
    top, left = box
    return int(top - 4 <= r < top + 12 and left - 4 <= c < left + 12)


@pytest.fixture(scope='module')
def square_net(tmp_path_factory):
    """A small AFF network trained here (512 images, 6 epochs) to find the squares; its
    validation accuracy and saved parameters."""
    from gluon_aff.train import loop
    mx.random.seed(TEST_SEED)
    images, labels, _ = _objects(512, np.random.RandomState(TEST_SEED))
    x = _normalised(images)
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1, classes=3)
    net.initialize(mx.init.Xavier())
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.05,
                                                             'momentum': 0.9})
    batches = lambda: ((mx.nd.array(x[i:i + 32]), mx.nd.array(labels[i:i + 32]))  # noqa
                       for i in range(0, 512, 32))
    vimg, vlab, _ = _objects(128, np.random.RandomState(TEST_SEED + 50))
    val = lambda: iter([(mx.nd.array(_normalised(vimg)), mx.nd.array(vlab))])  # noqa
    stats = []
    loop.fit(net, trainer, [mx.cpu()], batches, val, loop.Objective(3), 6, progress=False,
             on_epoch_end=lambda epoch, s: stats.append(s['val_top1']))
    path = str(tmp_path_factory.mktemp('squares') / 'squares.params')
    net.save_parameters(path)
    return net, stats[-1], path


# benchmarks/learning_margins.md: hits out of 16 over seeds x oneDNN levels
GRADCAM_HITS = 13


@pytest.mark.xdist_group('squares')        # one trained network for both
def test_gradcam_peaks_on_the_object(square_net):
    """The network learned the task; the Grad-CAM of 'square' (last stage, the default)
    peaks on the square in (nearly) every image; earlier stages give maps of the input's
    size in [0, 1]."""
    net, accuracy, _ = square_net
    assert accuracy >= 0.9, 'the network did not learn the task (%.3f)' % accuracy
    images, _, boxes = _objects(16, np.random.RandomState(TEST_SEED + 1), always_square=True)
    x = _normalised(images)
    hits = 0
    for i in range(16):
        cam, prob, k = grad_cam(net, mx.nd.array(x[i:i + 1]), class_index=1)
        assert cam.shape == (32, 32) and cam.min() >= 0 and cam.max() == 1 and k == 1
        hits += _hits(cam, boxes[i])
    record_metric('gradcam_hits_last_stage', hits, GRADCAM_HITS)
    assert hits >= GRADCAM_HITS, '%d of 16 heat maps peaked on the square' % hits
    cam, _, _ = grad_cam(net, mx.nd.array(x[:1]), class_index=1, stage=2)
    assert cam.shape == (32, 32) and 0 <= cam.min() and cam.max() <= 1


@pytest.mark.xdist_group('squares')
def test_gradcam_command_writes_pictures(square_net, tmp_path, capsys):
    """gluon-aff gradcam on a PNG with a square: the returned heat map has the model's input
    size and peaks on the square; the pictures are written; bad input is named."""
    from PIL import Image
    from gluon_aff.cli.common import load_checkpoint_network
    from gluon_aff.tools.gradcam import draw
    _, _, params = square_net
    images, _, boxes = _objects(2, np.random.RandomState(7), always_square=True)
    files = []
    for i, img in enumerate(images):
        files.append(str(tmp_path / ('square%d.png' % i)))
        Image.fromarray(img).save(files[-1])
    arg = ['--arg', 'blocks=1', '--arg', 'channel_times=1']
    model = ['--model', 'cifar_aff_resnet20', '--params', params]
    assert main(['gradcam'] + model + arg + files + ['--out', str(tmp_path / 'cams'),
                                                     '--class', '1']) == 0
    for png in ('gradcam.png', 'square0_cifar_aff_resnet20.png',
                'square1_cifar_aff_resnet20.png'):
        assert Image.open(str(tmp_path / 'cams' / png)).size[0] > 100
    info_net = load_checkpoint_network('cifar_aff_resnet20', params,
                                       dict(blocks=1, channel_times=1))
    maps = draw([info_net], [(f, load_image(f)) for f in files], 1, None, str(tmp_path / 'd'))
    assert [m['cam'].shape for m in maps] == [(32, 32), (32, 32)]
    assert [_hits(m['cam'], box) for m, box in zip(maps, boxes)] == [1, 1]
    bad = tmp_path / 'bad.jpg'
    bad.write_text('not an image')
    assert main(['gradcam'] + model + arg + [str(bad), '--out', str(tmp_path)]) == 2
    assert 'cannot decode' in capsys.readouterr().err
    assert main(['gradcam', '--model', 'resnet50_ad', '--params', 'x', files[0], '--out',
                 'o']) == 2
    assert 'resnet50_add' in capsys.readouterr().err
    assert main(['gradcam'] + model + arg + [files[0], '--layer', '7', '--out',
                                             str(tmp_path)]) == 2
    assert 'between 1 and 3' in capsys.readouterr().err
