"""Every zoo family trains one step at every oneDNN instruction-set level this CPU offers
(oneDNN once died with SIGFPE in AFI-ResNet setting A on AVX-512 CPUs)."""
import numpy as np
import mxnet as mx
import pytest
from mxnet import autograd

from gluon_aff.nn.channels import concat_channels
from gluon_aff.tools.isa_check import (CHECKS, check_levels, cpu_flags, failures, format_matrix,
                                      isa_levels)


@pytest.mark.e2e
def test_every_family_trains_at_both_channel_blockings():
    """The lowest level (SSE4.1: oneDNN's 8-channel blocks, as on AVX2) and this CPU's own
    (16-channel blocks on AVX-512 CPUs); where this CPU has no AVX-512, its own level blocks
    by 8 as SSE4.1 does, and only its own runs (the canary, narrow_afi_resnet, cuts those
    8-channel blocks as the zoo's AFI networks cut AVX-512's 16).
    `gluon-aff check-cpu` runs every level."""
    flags = cpu_flags() or set()
    levels = ['SSE41', 'default'] if 'avx512f' in flags else ['default']
    table = check_levels(levels=levels, timeout=300)
    print(format_matrix(table))
    assert not failures(table), format_matrix(table)
    ran = {level for (_, level), (status, _) in table.items() if status == 'ok'}
    assert ran == set(levels)
    assert {label for label, _ in table} == {check[0] for check in CHECKS}


def test_isa_levels_follow_cpu_flags():
    levels = dict(isa_levels({'sse4_1', 'avx2'}))
    assert levels['SSE41'] is None and levels['AVX2'] is None and levels['default'] is None
    assert 'avx512f' in levels['AVX512_CORE']
    assert dict(isa_levels({'sse4_1', 'avx2', 'avx512f', 'avx512bw', 'avx512vl',
                            'avx512dq'}))['AVX512_CORE'] is None


def test_concat_channels_values_and_gradients_at_unaligned_splits():
    rng = np.random.RandomState(0)
    for widths in ((4, 4), (3, 5), (12, 4), (8, 8), (1, 2, 5)):
        parts = [rng.normal(size=(2, c, 3, 3)).astype(np.float32) for c in widths]
        head = rng.normal(size=(2, sum(widths), 3, 3)).astype(np.float32)
        xs = [mx.nd.array(p) for p in parts]
        for x in xs:
            x.attach_grad()
        with autograd.record():
            out = concat_channels(mx.nd, *xs)
            loss = (out * mx.nd.array(head)).sum()
        loss.backward()
        np.testing.assert_array_equal(out.asnumpy(), np.concatenate(parts, axis=1))
        offsets = np.cumsum((0,) + widths)
        for x, a, b in zip(xs, offsets[:-1], offsets[1:]):
            np.testing.assert_array_equal(x.grad.asnumpy(), head[:, a:b])
