"""Fine-tuning's answers to bad data and settings, as the MXNet recipes give them: a bad image
is named first, without a loader worker's traceback, or skipped and logged; grayscale,
CMYK and alpha images train; an error is printed once under torchrun and reaches the log;
the default weights say which they are; a checkpoint names its head and classes."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gluon_aff import torch as twin
from gluon_aff.core.released import CheckpointError
from gluon_aff.torch.finetune import main
from helpers import ROOT

ARGS = ['--model-kwargs', '{"blocks": 1, "channel_times": 1}', '--epochs', '1',
        '--batch-size', '2', '--mixup', '0', '--auto-augment', 'none', '--progress', 'off']


def _folder(root, modes=('RGB',)):
    """train/{a,b} and val/{a,b}, two 16x16 images each, in the given PIL modes (JPEG for
    CMYK)."""
    for split in ('train', 'val'):
        for label, value in (('a', 40), ('b', 200)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i, mode in enumerate(modes * 2):
                img = Image.fromarray(np.full((16, 16, 3), value + 5 * i, np.uint8))
                img = img.convert(mode)
                img.save(str(folder / ('%d.%s' % (i, 'jpg' if mode == 'CMYK' else 'png'))))
    return root


def _run(args, cwd, processes=1):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    if processes > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node',
               str(processes), '-m', 'gluon_aff.torch.finetune']
    else:
        cmd = [sys.executable, '-m', 'gluon_aff.torch.finetune']
    return subprocess.run(cmd + args, capture_output=True, text=True, cwd=str(cwd), env=env,
                          timeout=600)


CORRUPT = b'\x89PNG\r\n\x1a\n' + b'garbage' * 9


@pytest.mark.parametrize('kind,content,problem,workers', [
    ('corrupt PNG', CORRUPT, 'PIL cannot decode it', 0),
    ('corrupt PNG in a loader worker', CORRUPT, 'PIL cannot decode it', 1),
    ('JPEG cut short', None, 'the JPEG is cut short', 0),
    ('empty file', b'', 'empty image file', 0),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else '')
def test_a_bad_image_is_named_first_or_skipped(tmp_path, capsys, kind, content, problem, workers):
    data = _folder(tmp_path / 'd')
    # in val/, which is read whole (a training epoch may drop it with the last partial batch)
    bad = data / 'val' / 'a' / ('bad.jpg' if content is None else 'bad.png')
    if content is None:         # a real JPEG, cut in half
        Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(str(bad), quality=90)
        content = bad.read_bytes()[:len(bad.read_bytes()) // 2]
    bad.write_bytes(content)
    argv = ['cifar_aff_resnet20', str(data), '--out-dir', str(tmp_path / 'o'),
            '--pretrained', 'false', '--workers', str(workers)] + ARGS
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]         # the error, once, after the run's log lines
    assert err.count('error:') == 1 and str(bad) in last and problem in last, err
    assert '--skip-bad-images' in last and 'Traceback' not in err and 'worker' not in err
    assert main(argv + ['--skip-bad-images', '--out-dir', str(tmp_path / 'skip')]) == 0
    log = (tmp_path / 'skip' / 'finetune.log').read_text()
    assert 'skip' in log and str(bad) in log


def test_grayscale_cmyk_and_alpha_images_train(tmp_path):
    data = _folder(tmp_path / 'd', modes=('L', 'CMYK', 'RGBA', 'P'))
    assert main(['cifar_aff_resnet20', str(data), '--out-dir', str(tmp_path / 'o'),
                 '--pretrained', 'false', '--workers', '0'] + ARGS) == 0


@pytest.mark.e2e
def test_an_error_under_torchrun_is_printed_once_and_logged(tmp_path):
    data = _folder(tmp_path / 'd')
    proc = _run(['cifar_aff_resnet20', str(data), '--out-dir', str(tmp_path / 'o'),
                 '--pretrained', 'false', '--workers', '0', '--batch-size', '4', '--epochs', '1',
                 '--mixup', '0'], tmp_path, processes=2)
    assert proc.returncode != 0
    message = 'training images are fewer than one step takes (--batch-size 4 x 2 process(es))'
    assert (proc.stdout + proc.stderr).count(message) == 1, proc.stderr[-3000:]
    assert 'exitcode: 2' in proc.stderr         # torchrun's summary: the bad-input code
    assert message in (tmp_path / 'o' / 'finetune.log').read_text()


def test_the_default_weights_say_which_they_are(tmp_path, fake_cifar_release, caplog,
                                                monkeypatch):
    from gluon_aff.torch.finetune import FinetuneConfig, run
    data = _folder(tmp_path / 'd')
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'home'))

    def config(model, out, **changes):
        values = dict(model=model, data_dir=str(data), out_dir=str(tmp_path / out),
                      model_kwargs=dict(blocks=1, channel_times=1), epochs=1, batch_size=2,
                      mixup=0.0, auto_augment=None, workers=0, progress='off')
        values.update(changes)
        return FinetuneConfig(**values)
    released = run(config('cifar_aff_resnet20', 'released'))     # pretrained='auto'
    log = (tmp_path / 'released' / 'finetune.log').read_text()
    assert 'started from the released checkpoint 0.5000-fake-fine-best.params' in log
    assert released.net.num_classes == 2
    fresh = run(config('cifar_iaff_resnet20', 'fresh'))
    log = (tmp_path / 'fresh' / 'finetune.log').read_text()
    assert "started from the original's initialisation (xavier): cifar_iaff_resnet20 has no " \
        'released weights' in log
    with pytest.raises(CheckpointError) as e:
        run(config('cifar_iaff_resnet20', 'explicit', pretrained=True))
    assert 'released ones exist for' in str(e.value) and 'iaff_resnet50' in str(e.value)
    assert '--pretrained false' in str(e.value) and '\n' not in str(e.value)
    # the checkpoint names its model, head and classes: no classes= to reload it
    net = twin.get_model('cifar_iaff_resnet20', pretrained=fresh.best, blocks=1,
                         channel_times=1)
    assert net.num_classes == 2 and net.class_names == ['a', 'b']


def test_a_truncated_or_foreign_safetensors_is_named(tmp_path):
    net = twin.get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
    path = tmp_path / 'n.safetensors'
    twin.save_safetensors(net, str(path))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"cannot read '%s' as a \.safetensors file"
                                              % str(path).replace('.', r'\.')):
        twin.get_model('cifar_aff_resnet20', pretrained=str(path), blocks=1, channel_times=1)
    foreign = tmp_path / 'f.safetensors'
    from safetensors.torch import save_file
    save_file({'something.else': torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match='does not fit cifar_aff_resnet20'):
        twin.get_model('cifar_aff_resnet20', pretrained=str(foreign), blocks=1, channel_times=1)


def test_a_folder_of_one_class_is_refused_naming_it(tmp_path, capsys):
    data = _folder(tmp_path / 'd')
    for split in ('train', 'val'):
        for f in (data / split / 'b').iterdir():
            f.unlink()
        (data / split / 'b').rmdir()
    argv = ['cifar_aff_resnet20', str(data), '--out-dir', str(tmp_path / 'o'),
            '--pretrained', 'false', '--workers', '0'] + ARGS
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(data / 'train') in err and 'one class folder (a)' in err
    assert 'at least two classes' in err
    assert not (tmp_path / 'o' / 'best.safetensors').exists()


def test_a_damaged_resume_file_is_named_with_the_way_out(tmp_path, capsys):
    """A resume-EPOCH.pt cut short after the run (a full disk, an interrupted copy):
    --auto-resume names the file, the epoch and what to do, and changes nothing."""
    data = _folder(tmp_path / 'd')
    out = tmp_path / 'o'
    argv = ['cifar_aff_resnet20', str(data), '--out-dir', str(out), '--pretrained', 'false',
            '--workers', '0'] + ARGS
    assert main(argv) == 0
    state = out / 'resume-0000.pt'
    state.write_bytes(state.read_bytes()[:len(state.read_bytes()) // 3])
    kept = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix != '.log'}
    assert main(argv + ['--auto-resume']) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(state) in err and 'epoch 0' in err and 'cannot be read' in err
    assert 'another --out-dir' in err and 'Traceback' not in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix != '.log'} == kept
