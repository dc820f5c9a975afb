"""Checkpoint keys and shapes equal the original's, for the ten reference manifests."""
import glob
import json
import os

import numpy as np
import pytest

from helpers import COMPAT_DIR
import mxnet as mx

from gluon_aff.model_zoo import get_model
from gluon_aff.model_zoo import pretrained as P

MANIFESTS = sorted(glob.glob(os.path.join(COMPAT_DIR, '*.json')))


def trainable(net):
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values()
               if p.grad_req != 'null')


def _manifest(name):
    with open(os.path.join(COMPAT_DIR, name + '.json')) as f:
        return json.load(f)


def test_manifests_cover_every_released_network_and_agree_with_themselves():
    models = {_manifest(os.path.basename(p)[:-5])['model'] for p in MANIFESTS}
    released = {c.model for c in P.CHECKPOINTS}
    assert len(released) == 7 and released <= models
    assert os.path.isfile(os.path.join(COMPAT_DIR, 'README'))
    for path in MANIFESTS:
        m = _manifest(os.path.basename(path)[:-5])
        assert m['num_keys'] == len(m['keys']) == len({k for k, _ in m['keys']})
        stats = sum(int(np.prod(s)) for k, s in m['keys'] if k.endswith(('running_mean',
                                                                          'running_var')))
        total = sum(int(np.prod(s)) for _, s in m['keys'])
        # the trainable count leaves out the running statistics (and, in the CIFAR ResNet,
        # the input BN's 3 gammas and 3 betas)
        assert total - stats - m['trainable_parameters'] in (0, 6), m['model']


@pytest.mark.parametrize('name', ['aff_resnet50', 'iaff_resnext50_32x4d',
                                  'cifar_aff_resnext47_32x4d'])
def test_a_file_in_the_released_format_loads(name, tmp_path):
    """A file with exactly the manifest's keys and shapes, in the released dtypes (ImageNet:
    float16 convolutions and dense layers, float32 BatchNorm), loads into the zoo network."""
    m = _manifest(name)
    ckpt = [c for c in P.CHECKPOINTS if c.model == name][0]
    rng = np.random.RandomState(0)
    arrays = {}
    for key, shape in m['keys']:
        dtype = 'float32' if key.rsplit('.', 1)[-1] in ('gamma', 'beta', 'running_mean',
                                                        'running_var') else \
            ckpt.dtype['conv_dense']
        arrays[key] = mx.nd.array(rng.uniform(-1, 1, shape), dtype=dtype)
    path = str(tmp_path / 'released-format.params')   # (a released name would be checked)
    mx.nd.save(path, arrays)
    net = get_model(name, pretrained=path)
    got = net._collect_params_with_prefix()
    for key in (m['keys'][0][0], m['keys'][len(m['keys']) // 2][0], m['keys'][-1][0]):
        np.testing.assert_array_equal(got[key].data().asnumpy(),
                                      arrays[key].asnumpy().astype(np.float32))


@pytest.mark.parametrize('path', MANIFESTS, ids=[os.path.basename(p)[:-5] for p in MANIFESTS])
def test_keys_and_shapes_in_order(path):
    with open(path) as f:
        manifest = json.load(f)
    net = get_model(manifest['model'])
    got = [(k, list(p.shape)) for k, p in net._collect_params_with_prefix().items()]
    assert got == [(k, s) for k, s in manifest['keys']]
    assert len(got) == manifest['num_keys']
    assert trainable(net) == manifest['trainable_parameters']


@pytest.mark.parametrize('name,count', [
    ('aff_resnet50', 30373192), ('iaff_resnet50', 35170120),
    ('aff_resnext50_32x4d', 29953704), ('iaff_resnext50_32x4d', 34750632),
    ('cifar_aff_resnext38_32x4d', 7770148)])
def test_trainable_counts_of_the_original(name, count):
    assert trainable(get_model(name)) == count


def test_resnet152_has_the_originals_depth_in_both_frameworks():
    """The original's ResNet-152 is [3, 4, 36, 3] (not the usual [3, 8, 36, 3]): its keys
    are ResNet-101's ([3, 4, 23, 3], the manifest) with 13 more stage-3 blocks shaped as
    layer3.1; so are its trainable parameters, in MXNet and in the twin."""
    import re

    from gluon_aff import torch as twin
    base = _manifest('iaff_resnet101')
    block = [(k[len('layer3.1.'):], s) for k, s in base['keys'] if k.startswith('layer3.1.')]
    expected, added = [], 0
    for key, shape in base['keys']:
        expected.append((key, shape))
        if key == [k for k, _ in base['keys'] if k.startswith('layer3.22.')][-1]:
            for i in range(23, 36):
                expected += [('layer3.%d.%s' % (i, k), s) for k, s in block]
            added = 13 * sum(int(np.prod(s)) for k, s in block if not re.search('running_', k))
    net = get_model('iaff_resnet152')
    assert [(k, list(p.shape)) for k, p in net._collect_params_with_prefix().items()] == expected
    assert added > 0 and trainable(net) == base['trainable_parameters'] + added
    tnet = twin.get_model('iaff_resnet152', device='meta')
    assert sum(p.numel() for p in tnet.parameters() if p.requires_grad) == \
        base['trainable_parameters'] + added
    assert [len(getattr(tnet, 'layer%d' % i)) for i in range(1, 5)] == [3, 4, 36, 3]
