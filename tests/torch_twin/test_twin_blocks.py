"""The twin's layers and fusion blocks against NumPy written from their formulas (and
MXNet's BatchNorm semantics in shared/spec/mxnet-formats.md), not from the twin's code."""
import numpy as np
import pytest
import torch

from gluon_aff import torch as twin
from gluon_aff.torch.layers import AvgPoolDown, BatchNorm2d

import npref


def test_batchnorm_trains_as_mxnet():
    """Batch statistics with the biased variance; running = 0.9 running + 0.1 batch, with the
    biased variance (PyTorch's own BatchNorm2d folds in the unbiased one)."""
    rng = np.random.RandomState(0)
    x = rng.normal(1.0, 2.0, (3, 4, 2, 2))
    bn = BatchNorm2d(4).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64))
        bn.bias.copy_(torch.tensor([0.0, 0.1, -0.1, 0.2], dtype=torch.float64))
    out = bn(torch.tensor(x, requires_grad=True)).detach().numpy()
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))       # np.var: biased
    expected = ((x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
                * np.array([1.0, 2.0, 0.5, 1.5])[:, None, None]
                + np.array([0.0, 0.1, -0.1, 0.2])[:, None, None])
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-12)
    bn.eval()
    np.testing.assert_allclose(
        bn(torch.tensor(x)).detach().numpy(),
        npref.bn(x, {'b.gamma': bn.weight.detach().numpy(), 'b.beta': bn.bias.detach().numpy(),
                     'b.running_mean': bn.running_mean.numpy(),
                     'b.running_var': bn.running_var.numpy()}, 'b'), rtol=1e-10)


def test_fixed_batchnorm_uses_gamma_one_and_keeps_its_statistics_as_mxnet():
    """MXNet's scale=False/center=False input BatchNorm: gamma is 1 whatever is stored; no
    gradient reaches it, so MXNet runs no backward and its statistics stay (update_stats
    False); what the original keeps fixed is a buffer, not a Parameter, under the same
    key."""
    bn = BatchNorm2d(3, fix_gamma=True, center=False, update_stats=False).double()
    assert [n for n, _ in bn.named_parameters()] == []
    assert {'weight', 'bias', 'running_mean', 'running_var'} <= set(bn.state_dict())
    bn.weight.fill_(5.0)
    bn.bias.fill_(0.25)
    x = torch.tensor(np.random.RandomState(1).normal(0, 3, (4, 3, 2, 2)))
    out = bn(x.clone().requires_grad_()).detach().numpy()
    assert abs(out.mean() - 0.25) < 1e-9 and abs(out.std() - 1.0) < 1e-3
    assert torch.equal(bn.running_mean, torch.zeros(3, dtype=torch.float64))
    bn.update_stats = True          # what fine-tuning turns on for a new image domain
    bn(x)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.numpy().mean(axis=(0, 2, 3)),
                               rtol=1e-12)
    with torch.no_grad():           # no step runs: nothing to update
        bn(x * 2)
    assert int(bn.num_batches_tracked) == 1


def test_avgpool_down_averages_what_a_border_window_covers():
    x = np.random.RandomState(2).normal(size=(1, 2, 5, 5))
    np.testing.assert_allclose(AvgPoolDown(2)(torch.tensor(x)).numpy(),
                               npref.avgpool_ceil_nopad(x, 2), rtol=1e-12)


def _params(module):
    """The module's weights as NumPy, under MXNet checkpoint names below the key 'f'."""
    from gluon_aff.torch.pretrained import mxnet_arrays_from_state_dict

    class Holder(torch.nn.Module):
        pass
    holder = Holder()
    holder.f = module
    return {k: v.astype(np.float64) for k, v in mxnet_arrays_from_state_dict(holder).items()}


def _randomize(module, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith('num_batches_tracked'):
                continue
            low = 0.5 if name.endswith(('running_var', 'weight')) and t.dim() == 1 else -0.5
            t.copy_(torch.rand(t.shape, generator=gen, dtype=t.dtype) * 1.0 + low)


@pytest.mark.parametrize('kind', ['add', 'aff', 'iaff', 'concat', 'global_global', 'local_local',
                                  'ms_gau', 'ms_se', 'ms_sa', 'half_aff', 'concat_aff',
                                  'recursive_aff', 'se', 'sk', 'gau'])
def test_fusion_blocks_follow_their_formulas(kind):
    """Eval mode, float64, against tests/npref.py's formulas (shared with the MXNet side's
    tests, written from the paper and the original code)."""
    block = twin.create_fusion(kind, 8, r=2).double().eval()
    _randomize(block, 3)
    rng = np.random.RandomState(4)
    y, x = rng.normal(size=(2, 8, 3, 3)), rng.normal(size=(2, 8, 3, 3))
    with torch.no_grad():
        out = block(torch.tensor(y), torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, npref.fusion(kind, y, x, _params(block), 'f'), rtol=1e-9,
                               atol=1e-12)


def test_inference_forms_equal_the_training_forms():
    rng = np.random.RandomState(5)
    y, x = torch.tensor(rng.normal(size=(2, 8, 3, 3))), torch.tensor(rng.normal(size=(2, 8, 3, 3)))
    for kind in ('aff', 'iaff'):
        block = twin.create_fusion(kind, 8, r=2).double().eval()
        _randomize(block, 6)
        with torch.no_grad():
            plain = block(y, x)
            block.inference_form = True
            torch.testing.assert_close(block(y, x), plain, rtol=1e-12, atol=1e-12)


def test_afi_is_a_softmax_weighted_sum():
    afi = twin.AFI(8, r=2).double()
    _randomize(afi, 7)
    rng = np.random.RandomState(8)
    maps = [rng.normal(size=(2, 8, 3, 3)) for _ in range(3)]
    with torch.no_grad():
        out = afi([torch.tensor(m) for m in maps]).numpy()
    np.testing.assert_allclose(out, npref.afi(maps, _params(afi), 'f'), rtol=1e-10)


def test_unknown_fusion_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown fusion type .iafff.*Did you mean.*iaff"):
        twin.create_fusion('iafff', 8, 4)
    assert twin.resolve_fusion('ASKCFuse') == 'aff'
    assert twin.resolve_fusion('ResGlobLocaforGlobLocaCha') == 'iaff'
