"""The training scripts, run for real on small data (digits, a tiny .rec)."""
import glob
import json
import os
import re
import shlex
import sys

import mxnet as mx
import numpy as np
import pytest

from helpers import ROOT, record_metric, run_script
from gluon_aff.core import released
from gluon_aff.data.digits import digits_arrays
from gluon_aff.data.cifar import cifar_loaders
from gluon_aff.data.recordio import pack_arrays
from gluon_aff.model_zoo import get_model
from gluon_aff.train import cifar as train_cifar
from gluon_aff.train import imagenet as train_imagenet
from gluon_aff.train import loop

# benchmarks/learning_margins.md: 3 seeds x oneDNN levels; at least 3 points under the worst
DIGITS_THRESHOLD = 0.84


@pytest.fixture(scope='module')
def tiny_rec(tmp_path_factory):
    """64 training and 32 validation digits packed into .rec/.idx with the project's tool."""
    folder = tmp_path_factory.mktemp('rec')
    images, labels = digits_arrays()
    pack_arrays(images[:64], labels[:64], str(folder / 'train'))
    pack_arrays(images[64:96], labels[64:96], str(folder / 'val'))
    return {'--rec-train': str(folder / 'train.rec'), '--rec-train-idx': str(folder / 'train.idx'),
            '--rec-val': str(folder / 'val.rec'), '--rec-val-idx': str(folder / 'val.idx')}


def _override(argv, values):
    argv = list(argv)
    for flag, value in values.items():
        if flag in argv:
            i = argv.index(flag)
            argv[i + 1:i + 2] = [value]
        else:
            argv += [flag, value]
    return argv


def _command_lines():
    with open(os.path.join(ROOT, 'cmd_scripts.txt')) as f:
        return [shlex.split(line) for line in f if line.startswith('python ')]


def _digits_accuracy(net):
    _, val, _ = cifar_loaders('digits', 100)
    return loop.evaluate(net, val, [mx.cpu()])[0]


# -- learning ---------------------------------------------------------------------------------
@pytest.mark.xdist_group('digits')
@pytest.mark.parametrize('fusion', ['aff'])
def test_digits_learning(trained_digits, fusion):
    run = trained_digits[fusion]
    record_metric('digits_' + fusion, run['acc'], DIGITS_THRESHOLD)
    assert run['acc'] >= DIGITS_THRESHOLD, 'best validation accuracy %.4f' % run['acc']
    # the checkpoint reloads through the zoo and scores the same in inference mode
    net = get_model(run['zoo'], pretrained=run['best'], **run['kwargs'])
    assert _digits_accuracy(net) == pytest.approx(run['acc'], abs=1e-4)
    assert os.path.exists(os.path.join(str(run['dir']), 'digits-%s-resnet-8-c-1-s-1_history.png'
                                       % {'aff': 'ASKCFuse', 'iaff': 'ResGlobLocaforGlobLocaCha'}[fusion]))
    log = open(glob.glob(str(run['dir'] / 'logs' / 'train_*.log'))[0]).read()
    assert log.count('[Epoch ') == 6       # one line per epoch: validated once per epoch
    assert re.search(r'\[Epoch 5\] loss=[\d.]+ accuracy=[\d.]+ \| val top1=[\d.]+ top5=[\d.]+ '
                     r'\| lr=[\d.]+ \| [\d.]+ img/s', log)


def _only_best(tmp_path, pattern):
    """The one best checkpoint a run wrote under tmp_path/params, and its name's match."""
    best = glob.glob(str(tmp_path / 'params' / '*-best.params'))
    assert len(best) == 1
    m = re.match(pattern, os.path.basename(best[0]))
    assert m, best[0]
    return best[0], m


# -- cmd_scripts.txt --------------------------------------------------------------------------
def test_cmd_scripts_has_the_original_lines_and_more():
    text = open(os.path.join(ROOT, 'cmd_scripts.txt')).read()
    assert 'export MXNET_SAFE_ACCUMULATION=1' in text
    lines = _command_lines()
    assert len(lines) == 8
    assert sum('--coarse-label' in l for l in lines) == 1
    # the released ImageNet weights were trained without AutoAugment (the .rec input ignored
    # --auto_aug): the ImageNet lines keep that
    assert all('--ignore-auto-aug-with-rec' in l for l in lines if 'train_imagenet.py' in l)
    assert all('~/.mxnet/datasets/imagenet/rec/' in ' '.join(l) for l in lines if 'train_imagenet.py' in l)


@pytest.mark.parametrize('index', range(8))
def test_cmd_scripts_line_runs(index, tiny_rec, tmp_path):
    argv = _command_lines()[index]
    script, argv = argv[1], argv[2:]
    if script == 'train_cifar.py':
        argv = _override(argv, {'--dataset': 'digits', '--num-epochs': '1', '--gpus': '', '-j': '0',
                                '--batch-size': '16', '--blocks': '1', '--channel-times': '1',
                                '--test-max-batches': '2',
                                '--save-dir': str(tmp_path / 'params'),
                                '--logging-dir': str(tmp_path / 'logs'),
                                '--save-plot-dir': str(tmp_path)})
        assert train_cifar.main(argv) == 0
        best, m = _only_best(tmp_path, r'^\d\.\d{4}-digits-(ASKCFuse|ResGlobLocaforGlobLocaCha)-'
                                       r'(resnet-8|resneXt-11-32x4)-c-1-s-1-best\.params$')
        fusion = 'aff' if m.group(1) == 'ASKCFuse' else 'iaff'
        zoo = ('cifar_%s_resnet20' if m.group(2) == 'resnet-8' else 'cifar_%s_resnext38_32x4d') % fusion
        get_model(zoo, pretrained=best, blocks=1, channel_times=1, classes=10)
    else:
        overrides = dict(tiny_rec)
        overrides.update({'--num-epochs': '1', '--num-gpus': '0', '-j': '0', '--dtype': 'float32',
                          '--batch-size': '8', '--input-size': '32', '--test-layers': '1',
                          '--save-dir': str(tmp_path / 'params'),
                          '--logging-file': str(tmp_path / 'train.log')})
        argv = _override(argv, overrides)
        assert train_imagenet.main(argv) == 0
        best, m = _only_best(tmp_path, r'^\d\.\d{4}-imagenet-ImageNet-(ASKCFuse|'
                                       r'ResGlobLocaforGlobLocaCha)-(resnet|resnext)--50-s-3-0'
                                       r'-best\.params$')
        fusion = 'aff' if m.group(1) == 'ASKCFuse' else 'iaff'
        zoo = '%s_%s50%s' % (fusion, m.group(2), '_32x4d' if m.group(2) == 'resnext' else '')
        get_model(zoo, layers=[1, 1, 1, 1], pretrained=best)
        assert os.path.exists(best[:-7] + '.states')
        log = open(str(tmp_path / 'train.log')).read()
        assert '--auto_aug is ignored with --use-rec' in log
    assert 'autogluon' not in sys.modules


# -- batch-norm statistics on the CPU ---------------------------------------------------------
@pytest.mark.parametrize('name,kwargs,size', [
    ('cifar_iaff_resnet20', dict(blocks=1, channel_times=1), 32),
    ('cifar_aff_resnext38_32x4d', dict(blocks=1, channel_times=1), 32),
    ('iaff_resnet50', dict(layers=[1, 1, 1, 1], stem_width=8), 64),
    ('aff_resnext50_32x4d', dict(layers=[1, 1, 1, 1], stem_width=16), 64)])
def test_every_batchnorm_updates_after_one_step(name, kwargs, size):
    net = get_model(name, classes=10, **kwargs)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    stats = {k: p.data().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()
             if 'running_' in k}
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.01})
    x = mx.nd.random.uniform(-1, 1, (4, 3, size, size))
    y = mx.nd.array([0, 1, 2, 3])
    loop.fit(net, trainer, [mx.cpu()], lambda: iter([(x, y)]), lambda: iter([(x, y)]),
             loop.Objective(10), 1, progress=False)
    after = {k: net._collect_params_with_prefix()[k].data().asnumpy() for k in stats}
    # A layer counts as updated when its running variance moved. Its running mean may not:
    # MS-CAM's first BatchNorm sees a 1x1 convolution (bias 0) of x + y, two outputs of
    # training-mode BatchNorms (beta 0), so its batch mean is 0 up to rounding (~5e-8).
    layers = {k.rsplit('.', 1)[0] for k in stats}
    unchanged = [layer for layer in sorted(layers)
                 if np.allclose(stats[layer + '.running_var'], after[layer + '.running_var'])]
    assert unchanged == []
    assert any(not np.allclose(stats[k], after[k]) for k in stats if k.endswith('running_mean'))
    assert len(layers) > 10


# -- resume -----------------------------------------------------------------------------------
RESUME_ARGS = ['--model', 'resnet', '--askc-type', 'aff', '--dataset', 'digits', '--gpus', '',
               '-j', '0', '--blocks', '1', '--channel-times', '1', '--batch-size', '64',
               '--seed', '7', '--no-augment', '--save-period', '0', '--progress', 'off']


@pytest.mark.e2e
def test_resume_equals_an_uninterrupted_run(tmp_path):
    """As a user runs it: the script in its own process (NaiveEngine on the CPU)."""
    def args(sub, epochs):
        return RESUME_ARGS + ['--num-epochs', str(epochs), '--test-max-batches', '6',
                              '--save-dir', str(tmp_path / sub),
                              '--logging-dir', str(tmp_path / sub), '--save-plot-dir', str(tmp_path / sub)]
    # the uninterrupted run also saves after epoch 0; the resumed run starts from that file
    # (the first 6 of 22 batches per epoch: resuming is what is under test, not learning)
    run_script('train_cifar.py', _override(args('straight', 2), {'--save-period': '1'}))
    first = str(tmp_path / 'straight' / 'digits-ASKCFuse-resnet-8-c-1-s-1-0.params')
    assert _read_sidecar(first) == _sidecar(first, 1, 'epoch')
    run_script('train_cifar.py', args('second', 2) + ['--resume-from', first])
    a = mx.nd.load(str(tmp_path / 'straight' / 'digits-ASKCFuse-resnet-8-c-1-s-1-1.params'))
    b = mx.nd.load(str(tmp_path / 'second' / 'digits-ASKCFuse-resnet-8-c-1-s-1-1.params'))
    assert sorted(a) == sorted(b)
    for k in a:          # the same parameters, to the last bit
        np.testing.assert_array_equal(b[k].asnumpy(), a[k].asnumpy(), err_msg=k)
    log = open(glob.glob(str(tmp_path / 'second' / 'train_*.log'))[0]).read()
    assert 'continuing at epoch 1' in log and '[Epoch 0]' not in log


def _spy_on_fit(monkeypatch, record):
    """Call ``record(net, trainer, fit's keyword arguments)`` when a recipe's training
    loop starts, then train as usual."""
    from gluon_aff.train import runner
    original = runner.fit

    def spying_fit(net, trainer, ctx, train, validation, objective, *args, **kwargs):
        record(net, trainer, dict(kwargs, objective=objective))
        return original(net, trainer, ctx, train, validation, objective, *args, **kwargs)
    monkeypatch.setattr(runner, 'fit', spying_fit)


def _restored(monkeypatch):
    """Make the training loop record what a resumed run starts from: the network's parameters,
    the trainer's states (saved and reloaded as arrays) and the start epoch."""
    import pickle
    seen = {}

    def record(net, trainer, kwargs):
        seen['params'] = {k: p.data().asnumpy().copy()
                          for k, p in net._collect_params_with_prefix().items()}
        path = os.path.join(seen['dir'], 'restored.states')
        trainer.save_states(path)
        with open(path, 'rb') as f:
            seen['states'], seen['optimizer'] = pickle.load(f)
        seen['start_epoch'] = kwargs['start_epoch']
    _spy_on_fit(monkeypatch, record)
    return seen


def _assert_resumed_from(seen, params_file, epoch):
    import pickle
    saved = mx.nd.load(params_file)
    assert sorted(saved) == sorted(seen['params'])
    for k, v in saved.items():
        np.testing.assert_array_equal(seen['params'][k], v.asnumpy(), err_msg=k)
    with open(params_file[:-7] + '.states', 'rb') as f:
        states, optimizer = pickle.load(f)
    assert sorted(states) == sorted(seen['states'])
    flat = lambda s: [a.asnumpy() for a in (s if isinstance(s, tuple) else (s,))]  # noqa: E731
    for k in states:
        for a, b in zip(flat(states[k]), flat(seen['states'][k])):
            np.testing.assert_array_equal(a, b)
    assert seen['optimizer'].num_update == optimizer.num_update > 0
    assert seen['start_epoch'] == epoch


def _sidecar(params, next_epoch, kind):
    """The JSON a checkpoint's set ends with: the next epoch, the set's files, what kind of
    checkpoint it is (the rest, the run's recipe and records, is --auto-resume's)."""
    name = os.path.basename(params)
    return dict(next_epoch=next_epoch, params=name, states=name[:-len('.params')] + '.states',
                kind=kind)


def _read_sidecar(params):
    meta = json.load(open(params[:-len('.params')] + '.json'))
    assert {'model', 'recipe', 'best'} <= set(meta)
    return {k: meta[k] for k in ('next_epoch', 'params', 'states', 'kind')}


def _interrupt_then_resume(script, argv, saved, resume_flag, monkeypatch, tmp_path):
    """Ctrl-C during the first epoch's validation: exit 130 and the interrupted files;
    then the run resumed from them starts from exactly what was saved, at epoch 0."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, 'evaluate', interrupted)
    assert script.main(argv) == 130
    assert os.path.exists(saved) and os.path.exists(saved[:-7] + '.states')
    assert _read_sidecar(saved) == _sidecar(saved, 0, 'interrupted')
    monkeypatch.undo()
    seen = _restored(monkeypatch)
    seen['dir'] = str(tmp_path)
    assert script.main(argv + [resume_flag, saved]) == 0
    _assert_resumed_from(seen, saved, 0)


def test_ctrl_c_saves_and_resumes(tmp_path, monkeypatch):
    argv = RESUME_ARGS + ['--num-epochs', '1', '--save-dir', str(tmp_path), '--logging-dir',
                          str(tmp_path), '--save-plot-dir', str(tmp_path),
                          '--test-max-batches', '3']
    _interrupt_then_resume(train_cifar, argv,
                           str(tmp_path / 'digits-ASKCFuse-resnet-8-c-1-s-1-interrupted.params'),
                           '--resume-from', monkeypatch, tmp_path)


IMAGENET_RESUME = ['--model', 'resnet', '--askc-type', 'aff', '--use-rec', '--auto_aug',
                   '--num-gpus', '0', '-j', '0', '--dtype', 'float32', '--batch-size', '16',
                   '--input-size', '32', '--seed', '7', '--save-frequency', '1',
                   '--progress', 'off', '--test-layers', '1']


def _imagenet_args(tiny_rec, folder, epochs):
    argv = IMAGENET_RESUME + ['--num-epochs', str(epochs), '--save-dir', str(folder),
                              '--logging-file', str(folder / 'train.log')]
    for flag, value in tiny_rec.items():
        argv += [flag, value]
    return argv


@pytest.mark.e2e
def test_imagenet_resume_equals_an_uninterrupted_run(tiny_rec, tmp_path):
    """The .rec input with AutoAugment (Python transforms, RoundBatchSampler): a run
    resumed at epoch 1 reads and computes what the uninterrupted run did."""
    name = 'imagenet-ImageNet-ASKCFuse-resnet--50-s-3-%d.params'
    # the uninterrupted run saves after every epoch; the resumed run starts from epoch 0's
    run_script('train_imagenet.py', _imagenet_args(tiny_rec, tmp_path / 'straight', 2))
    first = str(tmp_path / 'straight' / (name % 0))
    assert _read_sidecar(first) == _sidecar(first, 1, 'epoch')
    run_script('train_imagenet.py', _imagenet_args(tiny_rec, tmp_path / 'second', 2) + [
        '--resume-params', first, '--resume-states', first[:-7] + '.states',
        '--resume-epoch', '1'])
    a = mx.nd.load(str(tmp_path / 'straight' / (name % 1)))
    b = mx.nd.load(str(tmp_path / 'second' / (name % 1)))
    for k in a:
        np.testing.assert_array_equal(b[k].asnumpy(), a[k].asnumpy(), err_msg=k)
    log = open(str(tmp_path / 'second' / 'train.log')).read()
    assert 'continuing at epoch 1' in log and '[Epoch 0]' not in log and '[Epoch 1]' in log


def test_imagenet_ctrl_c_saves_and_resumes(tiny_rec, tmp_path, monkeypatch):
    _interrupt_then_resume(
        train_imagenet, _imagenet_args(tiny_rec, tmp_path, 1),
        str(tmp_path / 'imagenet-ImageNet-ASKCFuse-resnet--50-s-3-interrupted.params'),
        '--resume-params', monkeypatch, tmp_path)


# -- the original's defects, fixed --------------------------------------------------------------
class _FakeCIFAR(object):
    """Stands in for gluon's CIFAR classes (no CIFAR files are faked): 64 digits."""
    calls = []

    def __init__(self, root, train=True, fine_label=None, **kwargs):
        _FakeCIFAR.calls.append(dict(root=root, train=train, fine_label=fine_label))
        images, labels = digits_arrays()
        self._data = mx.nd.array(images[:64], dtype='uint8')
        self._label = labels[:64]


@pytest.fixture
def fake_cifar(monkeypatch):
    _FakeCIFAR.calls = []
    monkeypatch.setattr(mx.gluon.data.vision, 'CIFAR100', _FakeCIFAR)
    monkeypatch.setattr(mx.gluon.data.vision, 'CIFAR10', _FakeCIFAR)
    return _FakeCIFAR


def _small(tmp_path, *extra):
    return ['--model', 'resnet', '--askc-type', 'aff', '--gpus', '', '-j', '0', '--blocks', '1',
            '--channel-times', '1', '--batch-size', '16', '--num-epochs', '1', '--progress', 'off',
            '--save-dir', str(tmp_path / 'params'), '--logging-dir', str(tmp_path / 'logs'),
            '--save-plot-dir', str(tmp_path)] + list(extra)


def test_cifar100_fine_labels_by_default_coarse_on_request(fake_cifar, tmp_path):
    assert train_cifar.main(_small(tmp_path)) == 0
    assert {c['fine_label'] for c in fake_cifar.calls} == {True}
    fake_cifar.calls = []
    assert train_cifar.main(_small(tmp_path, '--coarse-label')) == 0
    assert {c['fine_label'] for c in fake_cifar.calls} == {False}
    log = open(glob.glob(str(tmp_path / 'logs' / 'train_*.log'))[0]).read()
    assert '*** --coarse-label: CIFAR-100 with the 20 SUPERCLASS labels' in log
    assert glob.glob(str(tmp_path / 'params' / '*-cifar100-ASKCFuse-resnet-8-c-1-s-1-best.params'))


def test_data_dir_and_missing_dataset(fake_cifar, tmp_path, monkeypatch, capsys):
    assert train_cifar.main(_small(tmp_path, '--dataset', 'cifar10', '--data-dir',
                                   str(tmp_path / 'mine'))) == 0
    assert fake_cifar.calls[0]['root'] == str(tmp_path / 'mine')

    class Offline(object):
        def __init__(self, **kwargs):
            raise OSError('Temporary failure in name resolution')
    monkeypatch.setattr(mx.gluon.data.vision, 'CIFAR10', Offline)
    assert train_cifar.main(_small(tmp_path, '--dataset', 'cifar10')) == 2
    err = capsys.readouterr().err
    assert 'cifar10 is not under' in err and '--dataset digits' in err


def test_save_period_zero_and_periodic_saves(fake_cifar, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert train_cifar.main(_small(tmp_path / 'a', '--num-epochs', '3', '--save-period', '0')) == 0
    names = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / 'a' / 'params' / '*.params')))
    assert names[-1] == 'cifar100-ASKCFuse-resnet-8-c-1-s-1-2.params'      # final only
    assert all(n.endswith('-best.params') for n in names[:-1])
    assert not glob.glob('/*-best.params')
    assert train_cifar.main(_small(tmp_path / 'b', '--num-epochs', '3', '--save-period', '2')) == 0
    assert os.path.exists(str(tmp_path / 'b' / 'params' / 'cifar100-ASKCFuse-resnet-8-c-1-s-1-1.params'))
    assert not os.path.exists(str(tmp_path / 'b' / 'params' / 'cifar100-ASKCFuse-resnet-8-c-1-s-1-0.params'))


def test_validation_runs_once_per_epoch(fake_cifar, tmp_path, monkeypatch):
    calls = []
    real = loop.evaluate
    monkeypatch.setattr(loop, 'evaluate', lambda *a, **k: calls.append(1) or real(*a, **k))
    assert train_cifar.main(_small(tmp_path, '--num-epochs', '2')) == 0
    assert len(calls) == 2


@pytest.mark.parametrize('argv,message', [
    (['--askc-type', 'aff'], '--model is required'),
    (['--model', 'resnte', '--askc-type', 'aff'], "unknown model 'resnte'"),
    (['--model', 'resnet'], '--askc-type is required'),
    (['--model', 'resnet', '--askc-type', 'ASKCFus'], "Did you mean 'aff'"),
    (['--model', 'cifar_aff_resnet2'], 'cifar_aff_resnet20'),
])
def test_typos_get_clear_errors(argv, message, capsys, tmp_path):
    common = ['--dataset', 'digits', '--gpus', '', '--save-dir', str(tmp_path)]
    assert train_cifar.main(argv + common) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason='this machine has GPUs')
def test_gpu_defaults_on_a_cpu_machine(capsys, tmp_path):
    assert train_cifar.main(['--model', 'resnet', '--askc-type', 'aff', '--dataset', 'digits',
                             '--save-dir', str(tmp_path)]) == 2
    assert "--gpus ''" in capsys.readouterr().err
    assert train_imagenet.main(['--model', 'resnet', '--askc-type', 'aff', '--num-gpus', '0',
                                '--save-dir', str(tmp_path)]) == 2
    assert '--dtype float32' in capsys.readouterr().err


def test_imagenet_errors(capsys, tmp_path):
    base = ['--num-gpus', '0', '--dtype', 'float32', '--save-dir', str(tmp_path),
            '--logging-file', str(tmp_path / 'x.log')]
    assert train_imagenet.main(['--model', 'vgg', '--askc-type', 'aff'] + base) == 2
    assert "unknown model 'vgg'" in capsys.readouterr().err
    assert train_imagenet.main(['--model', 'resnext', '--askc-type', 'aff', '--num-layer', '152'] + base) == 2
    assert '--num-layer 152 is not available for --model resnext' in capsys.readouterr().err
    assert train_imagenet.main(['--model', 'resnet', '--askc-type', 'aff', '--use-rec',
                                '--rec-train', str(tmp_path / 'nope.rec')] + base) == 2
    assert "--rec-train '%s' does not exist" % (tmp_path / 'nope.rec') in capsys.readouterr().err
    assert train_imagenet.main(['--model', 'resnet', '--askc-type', 'aff', '--data-dir',
                                str(tmp_path)] + base) == 2
    assert 'has no train/ folder' in capsys.readouterr().err


def test_flags_the_original_ignored(tmp_path, monkeypatch):
    from gluon_aff.model_zoo import pretrained as P
    from gluon_aff.train.network import build_cifar_network, build_imagenet_network
    from gluon_aff.train.options import cifar_parser, imagenet_parser, parse_config
    c = lambda *a: parse_config(cifar_parser(), ['--model', 'resnet', '--askc-type', 'aff'] + list(a))  # noqa
    i = lambda *a: parse_config(imagenet_parser(), ['--askc-type', 'aff'] + list(a))  # noqa
    net, _, _ = build_cifar_network(c('--r', '2', '--channel-times', '1'), 10)
    assert net.features[2][0].attention.local_att[0].weight.shape == (8, 16, 1, 1)
    net, _, _ = build_cifar_network(c('--drop-rate', '0.3'), 10)
    assert net.drop is not None and net.drop._rate == 0.3
    net, _, _ = build_imagenet_network(i('--model', 'resnet', '--use-gn'))
    assert type(net.bn1).__name__ == 'GroupNorm'
    net, _, _ = build_imagenet_network(i('--model', 'resnext', '--use-se'))
    assert net.features[10][0].se is not None
    for flag, gamma in (([], 1.0), (['--last-gamma'], 0.0)):
        net, _, _ = build_imagenet_network(i('--model', 'resnext', *flag))
        net.initialize()
        assert net.features[10][0].body[7].gamma.data().asnumpy().max() == gamma
        net, _, _ = build_imagenet_network(i('--model', 'resnet', *flag))
        net.initialize()
        assert net.layer1[0].bn3.gamma.data().asnumpy().max() == gamma
    # CIFAR ResNeXt with a width the original script rejected
    opt = c('--model', 'resnext', '--channel-times', '2')
    net, name, _ = build_cifar_network(opt, 10)
    assert name == 'cifar100-ASKCFuse-resneXt-11-32x4-c-2-s-1'
    # --use-pretrained: the released checkpoint of the chosen configuration
    source = get_model('cifar_aff_resnet20', blocks=1, channel_times=1, classes=10)
    source.initialize(mx.init.Uniform())
    path = str(tmp_path / 'release.params')
    source.save_parameters(path)
    ckpt = P.Checkpoint(model='cifar_aff_resnet8', file='release.params', path='x/release.params',
                        git_blob_id=P.git_blob_id(path), dtype={}, labels='fine', head_classes=10,
                        label_classes=10, metric='accuracy', value=0.5, input_size=32, paper=None)
    monkeypatch.setattr(released, 'CHECKPOINTS', released.CHECKPOINTS + [ckpt])
    monkeypatch.setattr('gluon_aff.train.network.list_models', lambda: ['cifar_aff_resnet8'])
    monkeypatch.setattr('gluon_aff.train.network.get_model_info',
                        lambda name: type('I', (), {'checkpoints': [ckpt]})())
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'home'))
    os.makedirs(str(tmp_path / 'home' / 'models'))
    os.replace(path, str(tmp_path / 'home' / 'models' / 'release.params'))
    net, _, zoo = build_cifar_network(c('--blocks', '1', '--channel-times', '1', '--dataset',
                                        'digits', '--use-pretrained'), 10)
    assert zoo == 'cifar_aff_resnet8'
    np.testing.assert_array_equal(net.output.weight.data().asnumpy(),
                                  source.output.weight.data().asnumpy())


def test_distillation_options_reach_the_loop(tiny_rec, tmp_path, monkeypatch):
    """train_imagenet.py --teacher: the teacher with its file's weights, the temperature and
    the hard weight reach the loop (whose loss tests/train/test_multi_device.py checks by hand,
    float16 teacher included), and the run completes."""
    teacher_file = str(tmp_path / 'teacher.params')
    teacher = get_model('resnet50_add')
    teacher.initialize(mx.init.Xavier())
    teacher.save_parameters(teacher_file)
    seen = {}
    _spy_on_fit(monkeypatch, lambda net, trainer, kwargs: seen.update(kwargs))
    argv = ['--model', 'resnet', '--askc-type', 'aff', '--use-rec', '--num-epochs', '1',
            '--num-gpus', '0', '-j', '0', '--dtype', 'float32', '--batch-size', '8',
            '--input-size', '32', '--test-layers', '1', '--teacher', 'resnet50_add',
            '--teacher-params', teacher_file, '--temperature', '5', '--hard-weight', '0.3',
            '--save-dir', str(tmp_path / 'p'), '--logging-file', str(tmp_path / 'kd.log'),
            '--progress', 'off']
    for flag, value in tiny_rec.items():
        argv += [flag, value]
    assert train_imagenet.main(argv) == 0
    objective = seen['objective']
    assert objective.temperature == 5 and objective.loss_fn._hard_weight == 0.3
    got = objective.teacher._collect_params_with_prefix()
    for key, p in teacher._collect_params_with_prefix().items():
        if key.endswith(('conv1.0.weight', 'fc.weight')):
            np.testing.assert_array_equal(got[key].data().asnumpy(), p.data().asnumpy())
    assert glob.glob(str(tmp_path / 'p' / '*-best.params'))


def test_summary_prints_parameters(capsys, tmp_path):
    """train_cifar.py --summary, through the script's own path."""
    assert train_cifar.main(_small(tmp_path, '--dataset', 'digits', '--summary',
                                   '--test-max-batches', '1')) == 0
    out = capsys.readouterr().out
    assert 'trainable parameters: ' in out and 'mult-adds' in out and 'attention (rows marked' in out


def _digits_folder(root, count, start=0, prefix='class'):
    """Digits images ``start`` .. ``start + count - 1`` as PNGs (``<i>.png``) in
    root/<prefix>0 and root/<prefix>1 (alternating); returns all the images."""
    from PIL import Image
    images, _ = digits_arrays()
    for i in range(start, start + count):
        folder = root / ('%s%d' % (prefix, i % 2))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(str(folder / ('%d.png' % i)))
    return images


def _digits_train_val(root):
    """A two-class image folder for train_imagenet.py: root/train (4 images), root/val (2)."""
    _digits_folder(root / 'train', 4, 0, 'c')
    _digits_folder(root / 'val', 2, 4, 'c')


def test_pack_rec_command(tmp_path):
    from gluon_aff.cli import main
    images = _digits_folder(tmp_path / 'imgs', 6)
    assert main(['pack-rec', str(tmp_path / 'imgs'), str(tmp_path / 'out' / 'set')]) == 0
    ds = mx.gluon.data.vision.ImageRecordDataset(str(tmp_path / 'out' / 'set.rec'))
    assert len(ds) == 6
    assert sorted(ds[i][1] for i in range(6)) == [0, 0, 0, 1, 1, 1]
    img, label = ds[0]
    assert img.shape == (32, 32, 3)
    assert np.abs(img.asnumpy().astype(int) - images[0].astype(int)).mean() < 8   # JPEG
    assert main(['pack-rec', str(tmp_path / 'nothing'), str(tmp_path / 'x')]) == 2


def test_pack_rec_leaves_nothing_half_written(tmp_path, capsys):
    """A corrupt image (or an empty class folder) stops packing with its path and leaves
    neither .rec nor .idx under the final names; the set packed before stays as it was."""
    from gluon_aff.cli import main
    _digits_folder(tmp_path / 'imgs', 4)
    assert main(['pack-rec', str(tmp_path / 'imgs'), str(tmp_path / 'out' / 'set')]) == 0
    before = (tmp_path / 'out' / 'set.rec').read_bytes()
    bad = tmp_path / 'imgs' / 'class1' / '9.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0 not really a JPEG')
    assert main(['pack-rec', str(tmp_path / 'imgs'), str(tmp_path / 'out' / 'set')]) == 2
    err = capsys.readouterr().err
    assert "pack-rec: error: cannot decode image '%s'" % bad in err
    assert 'cannot write' not in err        # the writer's error, not the file system's
    assert (tmp_path / 'out' / 'set.rec').read_bytes() == before
    assert sorted(os.listdir(str(tmp_path / 'out'))) == ['set.idx', 'set.rec']
    assert main(['pack-rec', str(tmp_path / 'imgs'), str(tmp_path / 'fresh' / 'set')]) == 2
    assert not (tmp_path / 'fresh' / 'set.rec').exists()
    bad.unlink()
    (tmp_path / 'imgs' / 'class2').mkdir()
    assert main(['pack-rec', str(tmp_path / 'imgs'), str(tmp_path / 'fresh' / 'set')]) == 2
    assert 'class folder(s) class2 hold no images' in capsys.readouterr().err


@pytest.mark.parametrize('size,extra', [(32, ['--auto_aug']), (320, [])])
def test_imagenet_from_an_image_folder(size, extra, tmp_path):
    """The image-folder loader; 320 px takes the EfficientNet-style crops (bicubic)."""
    _digits_train_val(tmp_path / 'data')
    argv = ['--model', 'resnet', '--askc-type', 'DirectAdd', '--data-dir', str(tmp_path / 'data'),
            '--num-epochs', '1', '--num-gpus', '0', '-j', '0', '--dtype', 'float32',
            '--batch-size', '2', '--input-size', str(size), '--classes', '2',
            '--test-layers', '1', '--save-dir', str(tmp_path / 'p'),
            '--logging-file', str(tmp_path / 'f.log'), '--progress', 'off'] + extra
    assert train_imagenet.main(argv) == 0
    best = glob.glob(str(tmp_path / 'p' / '*-imagenet-ImageNet-DirectAdd-resnet--50-s-3-0-best.params'))
    assert len(best) == 1
    net = get_model('resnet50_add', classes=2, layers=[1, 1, 1, 1], pretrained=best[0])
    assert net.classes == 2


def test_a_bad_image_in_the_folder_is_named_or_skipped(tmp_path, capsys):
    """A corrupt image hours into an epoch: the script stops with its path and the flag;
    with --skip-bad-images it trains on and the log counts what it skipped."""
    _digits_train_val(tmp_path / 'data')
    bad = tmp_path / 'data' / 'train' / 'c1' / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    argv = ['--model', 'resnet', '--askc-type', 'DirectAdd', '--data-dir', str(tmp_path / 'data'),
            '--num-epochs', '1', '--num-gpus', '0', '-j', '0', '--dtype', 'float32',
            '--batch-size', '5', '--input-size', '32', '--classes', '2', '--test-layers', '1',
            '--save-dir', str(tmp_path / 'p'), '--progress', 'off']
    assert train_imagenet.main(argv + ['--logging-file', str(tmp_path / 'a.log')]) == 2
    err = capsys.readouterr().err
    assert 'bad image %s: OpenCV cannot decode it' % bad in err and '--skip-bad-images' in err
    assert train_imagenet.main(argv + ['--logging-file', str(tmp_path / 'b.log'),
                                       '--skip-bad-images']) == 0
    assert 'skipped (--skip-bad-images): bad image %s' % bad in open(str(tmp_path / 'b.log')).read()


def test_truncated_rec_files_are_named_before_the_first_epoch(tiny_rec, tmp_path, capsys):
    """A .rec cut short (a copy interrupted, a full disk) stops train_imagenet.py before it
    trains, naming the file; MXNet alone failed epochs in or aborted the process."""
    import shutil
    from gluon_aff.data.recordio import check_record_file
    files = {}
    for flag in ('--rec-val', '--rec-val-idx'):
        files[flag] = str(tmp_path / os.path.basename(tiny_rec[flag]))
        shutil.copy(tiny_rec[flag], files[flag])
    rec, idx = files['--rec-val'], files['--rec-val-idx']
    check_record_file(rec, idx)                        # whole: no complaint
    size = os.path.getsize(rec)
    with open(rec, 'r+b') as f:
        f.truncate(size - 50)                          # the last record cut short
    with pytest.raises(ValueError, match=r"'%s' is truncated: its last record needs" % rec):
        check_record_file(rec, idx, '--rec-val')
    with open(rec, 'r+b') as f:
        f.truncate(size // 3)                          # records listed past the end
    argv = _imagenet_args(dict(tiny_rec, **files), tmp_path / 'out', 1)
    assert train_imagenet.main(argv) == 2
    err = capsys.readouterr().err
    assert "train_imagenet.py: error: --rec-val '%s' is truncated: its index lists a record " \
           'at byte' % rec in err and 'gluon-aff pack-rec' in err
    with open(idx, 'a') as f:
        f.write('garbage line\n')
    with pytest.raises(ValueError, match="line 33 is not 'key<TAB>offset'"):
        check_record_file(rec, idx)
