"""The checkpoint files of both frameworks, tested directly rather than by random kills: the
order in which an epoch's files take their names (the record naming a set comes after the
set), and where --auto-resume starts when several complete checkpoints were made on purpose."""
import json
import os

import pytest


def _recording_renames(monkeypatch):
    """The names files take, in order (every atomic write ends in os.replace)."""
    order, replace = [], os.replace

    def recording(src, dst, *args, **kwargs):
        order.append(os.path.basename(dst))
        return replace(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, 'replace', recording)
    return order


@pytest.fixture
def finetune_files(tmp_path):
    torch = pytest.importorskip('torch')
    from gluon_aff.torch.finetune import FinetuneConfig
    from gluon_aff.torch.finetune.checkpoints import RunFiles
    config = FinetuneConfig(model='cifar_aff_resnet20', data_dir=str(tmp_path / 'd'),
                            out_dir=str(tmp_path / 'o'), auto_resume=True)
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)

    def files():
        return RunFiles(config, config.recipe(1), writes=True)

    def save(run, epoch, improved=True):
        with torch.no_grad():
            net.weight.fill_(epoch)
        history = [dict(epoch=e, val_top1=0.5) for e in range(epoch + 1)]
        run.save_epoch(net, epoch, dict(epoch=epoch, val_top1=0.5), history, optimizer,
                       scheduler, None, dict(model='m'), improved)
    return files, save, tmp_path / 'o'


def test_a_finetune_epoch_writes_the_state_then_the_record_then_the_weights(finetune_files,
                                                                           monkeypatch):
    files, save, out = finetune_files
    run = files()
    run.prepare()
    order = _recording_renames(monkeypatch)
    save(run, 0)
    save(run, 1, improved=False)
    assert order == ['best.safetensors', 'resume-0000.pt', 'last.json', 'last.safetensors',
                     'resume-0001.pt', 'last.json', 'last.safetensors']
    assert sorted(os.listdir(out)) == ['best.safetensors', 'last.json', 'last.safetensors',
                                       'resume-0001.pt']


def test_finetune_auto_resume_starts_after_the_epoch_last_json_names(finetune_files):
    """Three complete epochs, the older resume files put back on purpose: the run continues
    at epoch 3 from resume-0002.pt, whatever else lies there, and clears the others."""
    files, save, out = finetune_files
    run = files()
    run.prepare()
    kept = {}
    for epoch in range(3):
        save(run, epoch)
        name = 'resume-%04d.pt' % epoch
        kept[name] = (out / name).read_bytes()
    for name, data in kept.items():
        (out / name).write_bytes(data)
    again = files()
    again.prepare()
    assert sorted(p for p in os.listdir(out) if p.startswith('resume-')) == ['resume-0002.pt']
    meta = again.resumable()
    assert meta['next_epoch'] == 3 and float(meta['state']['weights']['weight'][0, 0]) == 2.0


def _mxnet_checkpoint(folder, model, name, next_epoch, recipe, params=True, states=True):
    """A checkpoint set as the MXNet recipes write it (train.checkpoints.Checkpointer)."""
    if params:
        (folder / (name + '.params')).write_bytes(b'params')
    if states:
        (folder / (name + '.states')).write_bytes(b'states')
    (folder / (name + '.json')).write_text(json.dumps(dict(
        next_epoch=next_epoch, params=name + '.params', states=name + '.states', kind='epoch',
        model=model, recipe=recipe)))


def test_mxnet_auto_resume_takes_the_newest_complete_checkpoint(tmp_path):
    """Several complete epoch checkpoints, written out of name order on purpose: the newest
    epoch wins, not the oldest nor the last by name; one whose files are missing is passed
    over; another model's are ignored."""
    from gluon_aff.train.config import CifarConfig
    from gluon_aff.train.resume import find_resumable
    recipe = {'lr': 0.1}
    model = 'cifar_aff_resnet20'
    for name, epoch in (('z-early', 1), ('a-newest', 4), ('m-middle', 3), ('b-old', 2)):
        _mxnet_checkpoint(tmp_path, model, name, epoch, recipe)
    _mxnet_checkpoint(tmp_path, model, 'broken', 6, recipe, params=False)
    _mxnet_checkpoint(tmp_path, 'cifar_iaff_resnet20', 'other-model', 9, recipe)
    meta = find_resumable(str(tmp_path), model, recipe, CifarConfig)
    assert meta['next_epoch'] == 4 and meta['params'] == str(tmp_path / 'a-newest.params')
    os.remove(tmp_path / 'a-newest.states')
    meta = find_resumable(str(tmp_path), model, recipe, CifarConfig)
    assert meta['next_epoch'] == 3 and meta['params'] == str(tmp_path / 'm-middle.params')


def test_an_mxnet_epoch_writes_params_and_states_before_the_record(tmp_path, monkeypatch):
    import mxnet as mx

    from gluon_aff.train.checkpoints import Checkpointer
    net = mx.gluon.nn.Dense(2, in_units=3)
    net.initialize()
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    ckpt = Checkpointer(net, trainer, str(tmp_path))
    order = _recording_renames(monkeypatch)
    ckpt.save('epoch-0', 1, dict(kind='epoch'))
    assert order == ['epoch-0.params', 'epoch-0.states', 'epoch-0.json']
