"""The ablation fusion variants (AFF paper Tables 1, 3, 4, 6) and N-way fusion."""
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import npref
from helpers import numpy_params, randomize
from gluon_aff.model_zoo import get_model
from gluon_aff.nn import MultiAFF, create_fusion, list_fusions

C = 8
ALL = ['add', 'concat', 'global_global', 'local_local', 'ms_gau', 'ms_se', 'ms_sa', 'aff',
       'iaff', 'half_aff', 'concat_aff', 'recursive_aff', 'se', 'sk', 'gau']


def _inputs():
    rng = np.random.RandomState(0)
    return (mx.nd.array(rng.normal(0, 1, (2, C, 3, 3))),
            mx.nd.array(rng.normal(0, 1, (2, C, 3, 3))))


def test_every_variant_is_registered():
    assert set(ALL) <= set(list_fusions())


@pytest.mark.parametrize('name', ALL)
def test_variant_formula(name):
    """Each variant against its formula in NumPy (tests/npref.py: global context = pooled,
    then two 1x1 convolutions with BN; local context = the same per pixel), evaluated on
    the block's parameters: a global branch built as a local one, or the other way round,
    fails here."""
    block = randomize(create_fusion(name, C, 2), seed=4)
    y, x = _inputs()
    expected = npref.fusion(name, y.asnumpy().astype(np.float64),
                            x.asnumpy().astype(np.float64), numpy_params(block))
    assert np.abs(block(y, x).asnumpy() - expected).max() < 1e-5
    block.hybridize()
    assert np.abs(block(y, x).asnumpy() - expected).max() < 1e-5


# the paper's r for Table 4 (equal budget): 2 for one MS-CAM, 4 for iAFF's two
TABLE4_R = {'ms_gau': 2, 'ms_se': 2, 'ms_sa': 2, 'aff': 2, 'iaff': 4}
HOST_WIDTHS = (64, 128, 256)        # cifar_*_resnet20, channel_times 4, one block per stage


def _attention_parameters(net):
    return sum(int(np.prod(p.shape)) for k, p in net._collect_params_with_prefix().items()
               if '.attention.' in k and p.grad_req != 'null')


def test_table4_attention_budgets_exactly():
    for fusion, r in TABLE4_R.items():
        net = get_model('cifar_add_resnet20', fusion=fusion, r=r, blocks=1)
        mscams = 2 if fusion == 'iaff' else 1
        expected = sum(mscams * npref.mscam_parameters(c, r) for c in HOST_WIDTHS)
        assert _attention_parameters(net) == expected, fusion
    # Table 4's rule equalises the C^2 terms; iAFF's extra biases and BNs make its
    # attention 1.5% larger (0.19% of the whole network)
    budgets = [sum((2 if f == 'iaff' else 1) * npref.mscam_parameters(c, r) for c in HOST_WIDTHS)
               for f, r in TABLE4_R.items()]
    assert max(budgets) <= 1.02 * min(budgets)
    # Table 3's single-scale variants spend what AFF spends, in two branches of one kind
    for fusion in ('global_global', 'local_local'):
        net = get_model('cifar_add_resnet20', fusion=fusion, r=2, blocks=1)
        assert _attention_parameters(net) == sum(npref.mscam_parameters(c, 2)
                                                 for c in HOST_WIDTHS)
    # the global-only refinements (se, sk, gau) have one global branch
    net = get_model('cifar_add_resnet20', fusion='se', r=2, blocks=1)
    assert _attention_parameters(net) == sum(npref.mscam_parameters(c, 2) // 2
                                             for c in HOST_WIDTHS)


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
    m = npref.sigmoid((multi.local_heads[0](multi.local_trunk(s))
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


def _canned(calls):
    """A stand-in for one training run: records the call, returns a metric made from it."""
    def run(model, fusion, r, blocks, seed, epochs, data, channel_times, folder):
        calls.append((model, fusion, r, blocks, seed))
        return 0.5 + 0.01 * len(fusion) + 0.1 * blocks + 0.001 * seed
    return run


@pytest.mark.parametrize('table,host', [('3', 'resnet'), ('6', 'inception'), ('4', 'fpn')])
def test_ablate_runs_every_variant_of_the_table_on_the_host(table, host, tmp_path, capsys,
                                                           monkeypatch):
    """The runner's jobs and its table/CSV/plot, on canned metrics (training is tested on
    its own): every variant of the table with the paper's r, for each b and seed."""
    import csv
    from gluon_aff.cli import main
    from gluon_aff.tools import ablate
    calls = []
    monkeypatch.setattr(ablate, '_classification_run', _canned(calls))
    monkeypatch.setattr(ablate, '_segmentation_run', _canned(calls))
    out = str(tmp_path / 'abl')
    assert main(['ablate', '--table', table, '--host', host, '--blocks', '1', '2', '--seeds',
                 '0', '1', '--epochs', '1', '--out', out, '--progress', 'off']) == 0
    expected = [(ablate.HOSTS[host], f, r, b, seed) for f, r in ablate.TABLES[table]
                for b in (1, 2) for seed in (0, 1)]
    assert calls == expected
    if host == 'fpn':       # the generated StopSign stand-in
        assert os.path.isfile(os.path.join(out, 'synthetic_stopsign', 'annotations',
                                           'instances_train2017.json'))
    text = capsys.readouterr().out
    first, r = ablate.TABLES[table][0]
    mean = 0.5 + 0.01 * len(first) + 0.1 + 0.0005           # b = 1, seeds 0 and 1
    assert '| %s | %s | %.4f ± 0.0005 |' % (first, r or '-', mean) in text
    with open(os.path.join(out, 'ablation_table%s_%s.csv' % (table, host))) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(expected) and rows[0]['fusion'] == first
    assert os.path.getsize(os.path.join(out, 'ablation_table%s_%s.png' % (table, host))) > 1000


def test_ablate_one_real_run_trains_the_variant(tmp_path, capsys, monkeypatch):
    """One real run through the runner (AFF at Table 4's r = 2, one epoch on digits): its
    checkpoint holds that variant, and the metric is the best validation accuracy its log
    shows."""
    import glob
    import re
    from gluon_aff.cli import main
    from gluon_aff.tools import ablate
    monkeypatch.setitem(ablate.TABLES, '4', [('aff', 2)])
    out = str(tmp_path / 'abl')
    assert main(['ablate', '--table', '4', '--host', 'resnet', '--blocks', '1', '--seeds', '0',
                 '--epochs', '1', '--out', out, '--progress', 'off']) == 0
    folder = os.path.join(out, 'runs', 'aff-b1-seed0')
    best = glob.glob(os.path.join(folder, '*-best.params'))[0]
    saved = mx.nd.load(best)
    # AFF (local_att/global_att, no second pair) with r = 2 on the 16-channel first stage
    assert saved['features.2.0.attention.local_att.0.weight'].shape == (8, 16, 1, 1)
    assert not any('local_att2' in k for k in saved)
    log = open(glob.glob(os.path.join(folder, 'train_*.log'))[0]).read()
    val = max(float(v) for v in re.findall(r'val top1=([\d.]+)', log))
    assert '| aff | 2 | %.4f ± 0.0000 |' % val in capsys.readouterr().out
