"""The gluon-aff command: list, demo, help, errors."""
import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT, randomize
from gluon_aff.cli import main
from gluon_aff.core import released
from gluon_aff.model_zoo import get_model, pretrained as P


def test_python_m_entry_point_lists_models():
    out = subprocess.run([sys.executable, '-m', 'gluon_aff', 'list', '*resnext47*'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ['name', 'family', 'fusion']
    rows = {l.split()[0]: l for l in lines[2:]}
    assert sorted(rows) == ['cifar_add_resnext47_32x4d', 'cifar_aff_resnext47_32x4d',
                            'cifar_iaff_resnext47_32x4d']
    assert '9.61' in rows['cifar_aff_resnext47_32x4d']
    assert 'fine acc 0.8538; coarse acc 0.9184' in rows['cifar_aff_resnext47_32x4d']


def test_list_json(capsys):
    assert main(['list', 'iaff_resnet50', '--json']) == 0
    row = json.loads(capsys.readouterr().out)
    assert row == {'name': 'iaff_resnet50', 'family': 'imagenet_resnet', 'fusion': 'iaff',
                   'params_m': 35.17, 'input_size': 224,
                   'released': 'imagenet top-1 err 0.2022 (paper 0.204)'}


def test_list_no_match(capsys):
    assert main(['list', 'zzz*']) == 1
    assert 'no model matches' in capsys.readouterr().out


@pytest.fixture
def released_cifar(tmp_path, monkeypatch):
    """A small network registered as cifar_aff_resnet20's released file (in the released
    format: a .params file under its own name), and its bytes."""
    net = randomize(get_model('cifar_aff_resnet20'), seed=0)
    path = tmp_path / 'released-like.params'
    net.save_parameters(str(path))
    ckpt = P.Checkpoint(model='cifar_aff_resnet20', file=path.name, path='x/' + path.name,
                        git_blob_id=P.git_blob_id(str(path)), dtype={}, labels='fine',
                        head_classes=100, label_classes=100, metric='accuracy', value=0.5,
                        input_size=32, paper=None)
    monkeypatch.setattr(released, 'CHECKPOINTS', released.CHECKPOINTS + [ckpt])
    return ckpt, path.read_bytes(), net


def test_demo_downloads_the_released_file_and_classifies(released_cifar, http_server, tmp_path,
                                                         monkeypatch, capsys):
    ckpt, body, net = released_cifar
    base, server = http_server
    server.files['/params/' + ckpt.path] = body
    monkeypatch.setenv(P.BASE_URL_ENV, base + '/params/')
    root = tmp_path / 'models'
    assert main(['demo', '--model', 'cifar_aff_resnet20', '--root', str(root)]) == 0
    assert os.listdir(str(root)) == [ckpt.file]               # downloaded, verified, cached
    out = capsys.readouterr().out
    assert 'released checkpoint released-like.params' in out and 'grace_hopper.jpg:' in out
    ranks = [l.split()[0] for l in out.splitlines() if l.startswith('  ')]
    assert ranks == ['1.', '2.', '3.', '4.', '5.']
    # the top class is the network's own top class on the demo's preprocessing
    from gluon_aff.cli.demo import sample_image
    from gluon_aff.model_zoo import get_model_info
    from gluon_aff.data.eval_transform import eval_transform, load_image
    x = eval_transform(get_model_info('cifar_aff_resnet20'), load_image(sample_image()))
    top = int(net(x).asnumpy().argmax())
    assert out.splitlines()[2].split()[1:3] == ['class', str(top)]
    server.files.clear()                                        # cached: no server needed
    assert main(['demo', '--model', 'cifar_aff_resnet20', '--root', str(root)]) == 0


def test_demo_offline_says_which_file_to_put_where(released_cifar, tmp_path, monkeypatch,
                                                    capsys):
    ckpt, _, _ = released_cifar
    monkeypatch.setenv(P.BASE_URL_ENV, 'http://127.0.0.1:1/params/')   # nothing listens
    root = tmp_path / 'models'
    assert main(['demo', '--model', 'cifar_aff_resnet20', '--root', str(root)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith('offline: cannot reach 127.0.0.1:1')
    assert ckpt.file in out[0] and str(root) in out[0] and ckpt.path in out[0]
    assert not root.exists() or os.listdir(str(root)) == []     # nothing half-written


def test_demo_errors(capsys, tmp_path, released_cifar):
    assert main(['demo', '--model', 'iaff_resnet5']) == 2
    err = capsys.readouterr().err
    assert "unknown model 'iaff_resnet5'" in err and 'iaff_resnet50' in err
    assert main(['demo', '--model', 'cifar_add_resnet20']) == 2
    assert 'no released checkpoint' in capsys.readouterr().err
    ckpt, body, _ = released_cifar
    root = tmp_path / 'models'
    root.mkdir()
    (root / ckpt.file).write_bytes(body)
    bad = tmp_path / 'not-an-image.jpg'
    bad.write_text('hello')
    assert main(['demo', '--model', 'cifar_aff_resnet20', '--root', str(root), '--image',
                 str(bad)]) == 2
    assert 'cannot decode' in capsys.readouterr().err


def test_version(capsys):
    from gluon_aff import __version__
    with pytest.raises(SystemExit):
        main(['--version'])
    assert capsys.readouterr().out.strip() == 'gluon-aff %s' % __version__
    assert open(os.path.join(ROOT, 'CHANGELOG.md')).read().count('## %s' % __version__) == 1


@pytest.mark.parametrize('command', ['list', 'demo', 'pack-rec', 'summary', 'eval', 'gradcam',
                                     'export', 'predict', 'bench', 'ablate', 'check-cpu'])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, '--help'])
    assert 'example:' in capsys.readouterr().out


@pytest.mark.parametrize('argv,named', [
    (['export', 'cifar_aff_resnet20', '--format', 'onnx', '--batch-size', '0'],
     'argument --batch-size: 0: give a whole number of at least 1'),
    (['eval', 'cifar_aff_resnet20', '--params', 'x.params', '--dataset', 'digits',
      '--batch-size', '0'], 'argument --batch-size: 0: give a whole number of at least 1'),
    (['summary', 'cifar_aff_resnet20', '--input-size', '0'],
     'argument --input-size: 0: give a whole number of at least 1'),
    (['eval', 'cifar_aff_resnet20', '--params', 'x.params', '--dataset', 'digits', '--arg',
      'classes=5'], "--arg classes=5: the command sets classes itself (from the checkpoint's "
                   'head); leave it out'),
    (['convert', 'cifar_aff_resnet20', '--params', 'x.params', '--out', 'y.safetensors',
      '--arg', 'pretrained=False'], '--arg pretrained=False: the command sets pretrained '
                                    'itself (from --params); leave it out'),
])
def test_zero_sizes_and_arguments_a_command_sets_itself_are_named(argv, named, capsys):
    with pytest.raises(SystemExit) if 'argument --' in named else _no_exit():
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and 'Traceback' not in err


class _no_exit(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
