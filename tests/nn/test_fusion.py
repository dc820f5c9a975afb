"""AFF, iAFF and MS-CAM computed by hand on tiny tensors with set weights."""
import math

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.nn import (AFF, IAFF, MSCAM, Add, create_fusion, list_fusions,
                          resolve_fusion)

K = 1 / math.sqrt(1 + 1e-5)   # an inference-mode BN with mean 0, var 1, gamma 1, beta 0


def _set(block, values):
    block.initialize()
    params = block._collect_params_with_prefix()
    for key, p in params.items():   # BN: mean 0, var 1, gamma 1, beta 0; convs: zero
        default = 1.0 if key.endswith(('gamma', 'running_var')) else 0.0
        p.set_data(mx.nd.full(p.shape, default))
    for key, v in values.items():
        params[key].set_data(mx.nd.array(np.asarray(v, dtype=np.float32).reshape(params[key].shape)))
    return block


# With C=2, r=2 (one inner channel): local picks channel 0 and returns (+, -) of it,
# global picks the mean of channel 1 and returns it on both channels.
PICKS = {
    'local_att.0.weight': [1.0, 0.0], 'local_att.3.weight': [1.0, -1.0],
    'global_att.1.weight': [0.0, 1.0], 'global_att.4.weight': [1.0, 1.0],
}


def _mscam_by_hand(s):
    local = K * K * np.maximum(s[:, 0:1], 0) * np.array([1.0, -1.0])[None, :, None, None]
    glob = K * K * np.maximum(s[:, 1:2].mean(axis=(2, 3), keepdims=True), 0)
    return 1 / (1 + np.exp(-(local + glob)))


Y = np.array([[[[0.5, -1.0], [2.0, 0.0]], [[1.0, 3.0], [-2.0, 0.5]]]])
X = np.array([[[[1.0, 0.5], [-1.0, 1.5]], [[0.0, -0.5], [1.0, 2.0]]]])


def test_aff_by_hand_with_factor_two():
    aff = _set(AFF(2, r=2), PICKS)
    w = _mscam_by_hand(Y + X)
    expected = 2 * Y * w + 2 * X * (1 - w)
    out = aff(mx.nd.array(Y), mx.nd.array(X)).asnumpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_aff_with_neutral_weights_is_addition():
    aff = _set(AFF(2, r=2), {})           # M = sigmoid(0) = 0.5 everywhere
    out = aff(mx.nd.array(Y), mx.nd.array(X)).asnumpy()
    np.testing.assert_allclose(out, Y + X, rtol=1e-6)   # 2 * 0.5 * (Y + X)


def test_iaff_by_hand_uses_second_global_branch():
    values = dict(PICKS)
    values.update({'local_att2.0.weight': [0.0, 1.0], 'local_att2.3.weight': [2.0, 1.0],
                   'global_att2.1.weight': [1.0, 0.0], 'global_att2.4.weight': [-1.0, 3.0]})
    iaff = _set(IAFF(2, r=2), values)
    w1 = _mscam_by_hand(Y + X)
    i = Y * w1 + X * (1 - w1)
    local2 = K * K * np.maximum(i[:, 1:2], 0) * np.array([2.0, 1.0])[None, :, None, None]
    glob2 = K * K * np.maximum(i[:, 0:1].mean(axis=(2, 3), keepdims=True), 0) \
        * np.array([-1.0, 3.0])[None, :, None, None]
    w2 = 1 / (1 + np.exp(-(local2 + glob2)))
    expected = Y * w2 + X * (1 - w2)
    out = iaff(mx.nd.array(Y), mx.nd.array(X)).asnumpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_iaff_second_step_reads_global_att2_not_global_att():
    # Only global_att2's last BN is pushed to +20: W2 ~ 1 and the output is ~Y.
    iaff = _set(IAFF(2, r=2), {'global_att2.5.beta': [20.0, 20.0]})
    out = iaff(mx.nd.array(Y), mx.nd.array(X)).asnumpy()
    np.testing.assert_allclose(out, Y, atol=1e-6)
    # The same push on global_att only moves the first step: W1 ~ 1, W2 = 0.5.
    iaff = _set(IAFF(2, r=2), {'global_att.5.beta': [20.0, 20.0]})
    out = iaff(mx.nd.array(Y), mx.nd.array(X)).asnumpy()
    np.testing.assert_allclose(out, (Y + X) / 2, atol=1e-6)


def test_mscam_refines_its_input():
    cam = _set(MSCAM(2, r=2), PICKS)
    out = cam(mx.nd.array(Y)).asnumpy()
    np.testing.assert_allclose(out, Y * _mscam_by_hand(Y), rtol=1e-6)
    np.testing.assert_allclose(cam.weight(mx.nd.array(Y)).asnumpy(), _mscam_by_hand(Y), rtol=1e-6)


def test_add_has_no_parameters():
    add = Add(8)
    assert list(add.collect_params().keys()) == []
    assert (add(mx.nd.ones((1, 8, 2, 2)), mx.nd.ones((1, 8, 2, 2))).asnumpy() == 2).all()


@pytest.mark.parametrize('alias,name', [('DirectAdd', 'add'), ('ASKCFuse', 'aff'),
                                        ('ResGlobLocaforGlobLocaCha', 'iaff'),
                                        ('AFF', 'aff'), ('iAFF', 'iaff'), ('add', 'add')])
def test_original_strings_are_aliases(alias, name):
    assert resolve_fusion(alias) == name
    assert type(create_fusion(alias, 16, 4)).__name__ == {'add': 'Add', 'aff': 'AFF',
                                                          'iaff': 'IAFF'}[name]


def test_unknown_fusion_names_the_known_ones():
    with pytest.raises(ValueError) as err:
        resolve_fusion('ASKCFusion')
    msg = str(err.value)
    assert "unknown fusion type 'ASKCFusion'" in msg
    assert 'aff' in msg and 'iaff' in msg and 'add' in msg and 'ASKCFuse' in msg
    assert set(list_fusions()) >= {'add', 'aff', 'iaff'}


def test_reduction_ratio_larger_than_channels_is_an_error():
    with pytest.raises(ValueError, match='r=32 is larger than the channel count 16'):
        AFF(16, r=32)
