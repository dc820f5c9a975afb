"""The gluon-aff command: list, demo, help, errors."""
import json
import subprocess
import sys

import pytest

from conftest import randomize
from gluon_aff.cli import main
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


def test_demo_says_weights_are_random(capsys, tmp_path):
    assert main(['demo', '--root', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'iaff_resnet50' in out and '35,170,120' in out
    assert 'RANDOM' in out and 'is not under %s' % tmp_path in out
    assert 'grace_hopper.jpg' in out
    assert out.count('  1. ') == 1 and '  5. ' in out


def test_demo_uses_a_released_file_found_under_root(capsys, tmp_path, monkeypatch):
    net = randomize(get_model('cifar_aff_resnet20'), seed=0)
    path = tmp_path / 'released-like.params'
    net.save_parameters(str(path))
    ckpt = P.Checkpoint(model='cifar_aff_resnet20', file=path.name, path='x/' + path.name,
                        git_blob_id=P.git_blob_id(str(path)), dtype={}, labels='fine',
                        head_classes=100, label_classes=100, metric='accuracy', value=0.5,
                        input_size=32, paper=None)
    monkeypatch.setattr(P, 'CHECKPOINTS', P.CHECKPOINTS + [ckpt])
    assert main(['demo', '--model', 'cifar_aff_resnet20', '--root', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'RELEASED checkpoint released-like.params' in out and 'RANDOM' not in out
    assert '  1. class ' in out


def test_demo_errors(capsys, tmp_path):
    assert main(['demo', '--model', 'iaff_resnet5']) == 2
    err = capsys.readouterr().err
    assert "unknown model 'iaff_resnet5'" in err and 'iaff_resnet50' in err
    bad = tmp_path / 'not-an-image.jpg'
    bad.write_text('hello')
    assert main(['demo', '--model', 'cifar_add_resnet20', '--image', str(bad)]) == 2
    assert 'cannot decode' in capsys.readouterr().err


@pytest.mark.parametrize('command', ['list', 'demo', 'pack-rec', 'summary', 'eval', 'gradcam',
                                     'export'])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, '--help'])
    assert 'example:' in capsys.readouterr().out
