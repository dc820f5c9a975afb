"""The twin ships the way timm's models ship: pretrained tags in timm's registry, Hub
folders timm loads (giving the MXNet zoo's outputs), torch.hub entry points, and
torchvision-style metadata beside each released file."""
import json
import os

import mxnet as mx
import numpy as np
import pytest
import timm
import torch
from safetensors import safe_open

from gluon_aff import torch as twin
from gluon_aff.cli import main
from gluon_aff.core import released
from gluon_aff.core.model_info import class_names_of
from gluon_aff.model_zoo import get_model as mx_get_model
from gluon_aff.torch.weights import measure_checkpoint
from gluon_aff.utils.flops import count_graph, totals
from helpers import ROOT

SMALL = dict(blocks=1, channel_times=1)
TAG = {'imagenet': 'in1k', 'fine': 'cifar100', 'coarse': 'cifar100_coarse'}


def _x():
    return np.random.RandomState(0).uniform(-1, 1, (2, 3, 32, 32)).astype('float32')


def test_every_released_file_is_a_pretrained_tag_in_timm():
    expected = {'%s.%s' % (c.model, TAG[c.labels]) for c in released.CHECKPOINTS}
    assert len(expected) == 9 and 'iaff_resnet50.in1k' in expected
    assert set(timm.list_pretrained('*aff*')) == expected
    cfg = timm.models.get_pretrained_cfg('cifar_aff_resnet32.cifar100_coarse')
    assert cfg.url.endswith(released.select_checkpoint('cifar_aff_resnet32', 'coarse').path)
    assert cfg.tag == 'cifar100_coarse' and cfg.label_names == class_names_of('coarse')
    # the default tag is the fine-label file, as pretrained=True loads
    assert timm.models.get_pretrained_cfg('cifar_aff_resnet32').tag == 'cifar100'
    assert twin.get_model_info('cifar_aff_resnet32').pretrained_tags == ['cifar100',
                                                                          'cifar100_coarse']


def test_a_tag_picks_its_file(fake_cifar_release, tmp_path):
    net, ckpt, _ = fake_cifar_release['coarse']
    x = _x()
    for model in (timm.create_model('cifar_aff_resnet20.cifar100_coarse', pretrained=True,
                                    root=str(tmp_path), **SMALL),
                  twin.get_model('cifar_aff_resnet20', pretrained='cifar100_coarse',
                                 root=str(tmp_path), **SMALL)):
        assert model.checkpoint == ckpt and model.class_names == class_names_of('coarse')
        with torch.no_grad():
            out = model.eval()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(out, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="no pretrained tag 'in1k'; its tags: cifar100, "
                                         'cifar100_coarse'):
        twin.get_model('cifar_aff_resnet20.in1k', pretrained=True, **SMALL)


def test_a_hub_folder_loads_in_timm_with_the_mxnet_zoos_outputs(fake_cifar_release, tmp_path,
                                                                 capsys):
    """gluon-aff convert --params released --hub-dir: config.json, model.safetensors with
    the class names, a model card; timm's local-dir loading gives MXNet's logits."""
    net, ckpt, _ = fake_cifar_release['fine']
    folder = tmp_path / 'cifar_aff_resnet20.cifar100'
    assert main(['convert', 'cifar_aff_resnet20', '--params', 'released', '--hub-dir',
                 str(folder), '--arg', 'blocks=1', '--arg', 'channel_times=1']) == 0
    assert "local-dir:%s" % folder in capsys.readouterr().out
    assert sorted(os.listdir(folder)) == ['README.md', 'config.json', 'model.safetensors']
    config = json.loads((folder / 'config.json').read_text())
    assert config['architecture'] == 'cifar_aff_resnet20' and config['num_classes'] == 100
    assert config['num_features'] == 64 and config['model_args'] == SMALL
    assert config['pretrained_cfg']['mean'] == [0.4914, 0.4822, 0.4465]
    assert config['label_names'] == class_names_of('fine')
    assert config['pretrained_cfg']['tag'] == 'cifar100'
    coarse = tmp_path / 'coarse'
    assert main(['convert', 'cifar_aff_resnet20', '--params', 'cifar100_coarse', '--hub-dir',
                 str(coarse), '--arg', 'blocks=1', '--arg', 'channel_times=1']) == 0
    coarse_config = json.loads((coarse / 'config.json').read_text())
    assert coarse_config['pretrained_cfg']['tag'] == 'cifar100_coarse'
    assert coarse_config['num_classes'] == 100      # the original's head, 20 of it trained
    assert coarse_config['label_names'] == class_names_of('coarse')
    with safe_open(str(folder / 'model.safetensors'), 'pt') as f:
        meta = f.metadata()
    assert json.loads(meta['class_names']) == class_names_of('fine')
    assert meta['model'] == 'cifar_aff_resnet20' and meta['source'] == ckpt.file

    model = timm.create_model('local-dir:%s' % folder, pretrained=True).eval()
    x = _x()
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)

    card = (folder / 'README.md').read_text()
    counts = totals(count_graph(mx_get_model('cifar_aff_resnet20', **SMALL), (1, 3, 32, 32)))
    for text in ('arXiv.org/abs/2009.14082'.lower(), 'Apache-2.0', ckpt.file, '0.5000',
                 format(counts['params'], ','), '%.3f G' % (counts['macs'] / 1e9),
                 'mean [0.4914, 0.4822, 0.4465]', "local-dir:cifar_aff_resnet20.cifar100",
                 'library_name: timm'):
        assert text in card or text in card.lower(), text


def test_a_folder_without_weights_is_named(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps(
        dict(architecture='cifar_aff_resnet20', num_classes=100, pretrained_cfg={})))
    with pytest.raises(Exception, match='no model.safetensors.*gluon-aff convert'):
        timm.create_model('local-dir:%s' % tmp_path, pretrained=True)


def test_torch_hub_loads_every_name_from_a_clone(fake_cifar_release, tmp_path):
    net, _, _ = fake_cifar_release['fine']
    import hubconf
    assert set(n for n in dir(hubconf) if not n.startswith('_') and callable(getattr(hubconf, n))) \
        == set(twin.list_models())
    model = torch.hub.load(ROOT, 'cifar_aff_resnet20', source='local', pretrained=True,
                           root=str(tmp_path), **SMALL).eval()
    with torch.no_grad():
        out = model(torch.from_numpy(_x())).numpy()
    np.testing.assert_allclose(out, net(mx.nd.array(_x())).asnumpy(), rtol=1e-4, atol=1e-5)


def test_weights_carry_torchvisions_metadata():
    """Accuracy and label set, multiply-adds, parameters, file size, categories and the
    evaluation transform; the numbers stored in released.json are measured again on the
    twin (and the multiply-adds in MXNet's graph)."""
    assert [w.name for w in twin.get_weights('cifar_aff_resnet32')] == \
        ['cifar_aff_resnet32.cifar100', 'cifar_aff_resnet32.cifar100_coarse']
    assert twin.get_weights('resnet50_add') == []
    measured = {}
    for ckpt in released.CHECKPOINTS:
        w, = twin.get_weights('%s.%s' % (ckpt.model, TAG[ckpt.labels]))
        assert w.checkpoint == ckpt and w.url.endswith(ckpt.path)
        assert w.meta['categories'] == class_names_of(ckpt.labels)
        assert list(w.meta['metrics'].values()) == [ckpt.value]
        assert w.meta['num_params'] > 0 and w.meta['file_size_mb'] > 1
        if ckpt.model not in measured:
            measured[ckpt.model] = measure_checkpoint(ckpt)
            size = ckpt.input_size
            graph = totals(count_graph(mx_get_model(ckpt.model, classes=ckpt.head_classes),
                                       (1, 3, size, size)))
            assert graph['macs'] == ckpt.macs, ckpt.model
        assert measured[ckpt.model] == dict(num_params=ckpt.num_params, macs=ckpt.macs,
                                            file_size=ckpt.file_size), ckpt.model
    w = twin.get_weights('iaff_resnet50')[0]
    assert w.meta['macs_g'] == 4.796 and w.meta['num_params'] == 35170120
    assert len(w.meta['categories']) == 1000 and w.meta['metrics'] == {'top1_err': 0.2022}
    from gluon_aff.data.photos import sample_photos
    assert tuple(w.transforms()(sample_photos()[0]).shape) == (3, 224, 224)
