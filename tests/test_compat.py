"""Checkpoint keys and shapes equal the original's, for the ten reference manifests."""
import glob
import json
import os

import numpy as np
import pytest

from conftest import COMPAT_DIR
from gluon_aff.model_zoo import get_model

MANIFESTS = sorted(glob.glob(os.path.join(COMPAT_DIR, '*.json')))


def trainable(net):
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values()
               if p.grad_req != 'null')


def test_all_ten_manifests_are_here():
    assert len(MANIFESTS) == 10


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
