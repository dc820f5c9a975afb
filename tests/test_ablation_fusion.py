"""The ablation fusion variants (AFF paper Tables 1, 3, 4, 6) and N-way fusion."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from conftest import randomize
from gluon_aff.model_zoo import get_model
from gluon_aff.nn import MultiAFF, create_fusion, list_fusions
from gluon_aff.train.report import count_parameters

C = 8
ALL = ['add', 'concat', 'global_global', 'local_local', 'ms_gau', 'ms_se', 'ms_sa', 'aff',
       'iaff', 'half_aff', 'concat_aff', 'recursive_aff', 'se', 'sk', 'gau']


def _sig(v):
    return 1 / (1 + np.exp(-v))


def _inputs():
    rng = np.random.RandomState(0)
    return (mx.nd.array(rng.normal(0, 1, (2, C, 3, 3))),
            mx.nd.array(rng.normal(0, 1, (2, C, 3, 3))))


def _run(block, attr, s):
    """One context branch of ``block`` on ``s`` (NumPy)."""
    return getattr(block, attr)(mx.nd.array(s)).asnumpy()


def _expected(name, b, y, x):
    """The paper's formula for ``name``, written with the block's own context branches."""
    def M(s, a='local_att', g='global_att'):
        return _sig(_run(b, a, s) + _run(b, g, s))

    def G(s):
        return _sig(_run(b, 'global_att', s))
    if name == 'add':
        return y + x
    if name == 'concat':
        w = b.proj.weight.data().asnumpy()[:, :, 0, 0]          # (C, 2C): [W_A, W_B]
        return (np.einsum('oc,nchw->nohw', w[:, :C], x)
                + np.einsum('oc,nchw->nohw', w[:, C:], y))
    if name in ('global_global', 'local_local'):
        w = _sig(_run(b, 'branch_a', x + y) + _run(b, 'branch_b', x + y))
        return 2 * y * w + 2 * x * (1 - w)
    if name == 'ms_gau':
        return M(y) * x + y
    if name == 'ms_se':
        return x + M(y) * y
    if name == 'ms_sa':
        return M(x + y) * x + y
    if name == 'aff':
        w = M(x + y)
        return 2 * y * w + 2 * x * (1 - w)
    if name == 'iaff':
        w1 = M(x + y)
        i = y * w1 + x * (1 - w1)
        w2 = M(i, 'local_att2', 'global_att2')
        return y * w2 + x * (1 - w2)
    if name == 'half_aff':
        return x + M(x + y) * y
    if name == 'concat_aff':
        s = x + y
        local = _run(b, 'local_att', s)
        glob = np.broadcast_to(_run(b, 'global_att', s), local.shape)
        w = b.mix.weight.data().asnumpy()[:, :, 0, 0]
        w = _sig(np.einsum('oc,nchw->nohw', w, np.concatenate([local, glob], axis=1)))
        return 2 * y * w + 2 * x * (1 - w)
    if name == 'recursive_aff':
        s = x + y
        v = M(s, 'local_att2', 'global_att2')
        w = _sig(_run(b, 'local_att', s) * v + _run(b, 'global_att', s) * (1 - v))
        return 2 * y * w + 2 * x * (1 - w)
    if name == 'se':
        return x + G(y) * y
    if name == 'sk':
        w = G(x + y)
        return x * w + y * (1 - w)
    if name == 'gau':
        return G(y) * x + y
    raise AssertionError(name)


def test_every_variant_is_registered():
    assert set(ALL) <= set(list_fusions())


@pytest.mark.parametrize('name', ALL)
def test_variant_formula(name):
    block = randomize(create_fusion(name, C, 2), seed=4)
    y, x = _inputs()
    expected = _expected(name, block, y.asnumpy(), x.asnumpy())
    assert np.abs(block(y, x).asnumpy() - expected).max() < 1e-5
    block.hybridize()
    assert np.abs(block(y, x).asnumpy() - expected).max() < 1e-5


# the paper's r for Table 4 (equal budget): 2 for one MS-CAM, 4 for iAFF's two
TABLE4_R = {'ms_gau': 2, 'ms_se': 2, 'ms_sa': 2, 'aff': 2, 'iaff': 4}


def test_table4_variants_have_equal_budgets():
    counts = {f: count_parameters(get_model('cifar_add_resnet20', fusion=f, r=r, blocks=1))
              for f, r in TABLE4_R.items()}
    assert max(counts.values()) <= 1.05 * min(counts.values()), counts


def _multi_with_zero_second_head():
    multi = randomize(MultiAFF(C, 2, r=2), seed=5)
    # hold the second head's output at zero: zero conv weights/biases, BN beta/mean 0
    for heads in (multi.local_heads, multi.global_heads):
        for p in heads[1].collect_params().values():
            if not p.name.endswith(('gamma', 'running_var')):
                p.set_data(mx.nd.zeros(p.shape))
    return multi


def test_multi_aff_two_inputs_is_soft_selection():
    multi = _multi_with_zero_second_head()
    y, x = _inputs()
    s = (x + y)
    m = _sig((multi.local_heads[0](multi.local_trunk(s))
              + multi.global_heads[0](multi.global_trunk(s))).asnumpy())
    expected = m * x.asnumpy() + (1 - m) * y.asnumpy()
    assert np.abs(multi(x, y).asnumpy() - expected).max() < 1e-5


def test_multi_aff_weights_sum_to_one_and_three_inputs_train():
    multi = randomize(MultiAFF(C, 3, r=2), seed=6)
    rng = np.random.RandomState(1)
    xs = [mx.nd.array(rng.normal(0, 1, (2, C, 4, 4))) for _ in range(3)]
    w = multi.weights(mx.nd, *xs).asnumpy()
    assert w.shape == (2, 3, C, 4, 4) and (w >= 0).all()
    assert np.allclose(w.sum(axis=1), 1, atol=1e-6)
    multi.hybridize()
    trainer = gluon.Trainer(multi.collect_params(), 'sgd', {'learning_rate': 0.1})
    before = multi.local_heads[2][0].weight.data().copy()
    with autograd.record():
        loss = (multi(*xs) - 1).square().mean()
    loss.backward()
    trainer.step(1)
    assert (multi.local_heads[2][0].weight.data() - before).abs().max().asscalar() > 0
    multi.hybridize(False)
    with pytest.raises(ValueError, match='built for 3 inputs'):
        multi(*xs[:2])
    with pytest.raises(ValueError, match='n >= 2'):
        MultiAFF(C, 1)


def test_ablate_prints_a_table4_on_digits(tmp_path, capsys):
    """Reduced setting: one seed, one epoch, the tiny host (1 block per stage)."""
    import csv
    from gluon_aff.cli import main
    out = str(tmp_path / 'ablation')
    assert main(['ablate', '--table', '4', '--host', 'resnet', '--blocks', '1', '--seeds', '0',
                 '--epochs', '1', '--out', out, '--progress', 'off']) == 0
    text = capsys.readouterr().out
    assert 'best validation accuracy (mean ± std over 1 seed(s))' in text
    for fusion in ('add', 'concat', 'ms_gau', 'ms_se', 'ms_sa', 'aff', 'iaff'):
        assert '| %s |' % fusion in text
    with open(out + '/ablation_table4_resnet.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['fusion'] for r in rows] == ['add', 'concat', 'ms_gau', 'ms_se', 'ms_sa', 'aff',
                                           'iaff']
    assert [r['r'] for r in rows] == ['', '', '2', '2', '2', '2', '4']
    assert all(0.0 <= float(r['metric']) <= 1.0 for r in rows)
    assert (tmp_path / 'ablation' / 'ablation_table4_resnet.png').stat().st_size > 1000
    with pytest.raises(SystemExit):
        main(['ablate', '--table', '5'])          # argparse: invalid choice
