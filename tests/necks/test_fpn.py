"""AFFFPN against torchvision's FeaturePyramidNetwork (the same module with fusion='add':
its state dicts load strictly, its outputs are equal), the fusion at each merge, and maps
that do not fit named by level."""
from collections import OrderedDict

import pytest
import torch
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

from gluon_aff import torch as twin
from gluon_aff.torch.necks import AFFFPN

CHANNELS = [8, 16, 32]


def _maps(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return OrderedDict([('c%d' % i, torch.randn(batch, c, 32 >> i, 40 >> i, generator=g))
                        for i, c in enumerate(CHANNELS)])


@pytest.mark.parametrize('extra', [None, 'pool', 'p6p7'])
def test_with_add_it_is_torchvisions_fpn(extra):
    def blocks():
        return {None: None, 'pool': LastLevelMaxPool(),
                'p6p7': LastLevelP6P7(CHANNELS[-1], 12)}[extra]
    theirs = FeaturePyramidNetwork(CHANNELS, 12, extra_blocks=blocks()).eval()
    ours = AFFFPN(CHANNELS, 12, extra_blocks=blocks(), fusion='add').eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    x = _maps()
    with torch.no_grad():
        want, got = theirs(x), ours(x)
    assert list(got) == list(want)
    for name in want:
        assert torch.equal(got[name], want[name]), name


@pytest.mark.parametrize('fusion', ['aff', 'iaff'])
def test_torchvisions_weights_load_with_only_the_fusions_missing(fusion):
    theirs = FeaturePyramidNetwork(CHANNELS, 12)
    ours = AFFFPN(CHANNELS, 12, fusion=fusion)
    result = ours.load_state_dict(theirs.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(k.startswith('fusions.') for k in result.missing_keys)
    assert len(ours.fusions) == len(CHANNELS) - 1
    assert isinstance(ours.fusions[0], twin.IAFF if fusion == 'iaff' else twin.AFF)


def test_each_merge_is_the_fusion_of_the_upsampled_and_the_lateral_map():
    """P_1 and P_0 by hand from torchvision's pieces and the standalone fusion blocks."""
    torch.manual_seed(0)
    fpn = AFFFPN(CHANNELS, 12, fusion='iaff').eval()
    x = _maps()
    maps = list(x.values())
    with torch.no_grad():
        inner2 = fpn.inner_blocks[2](maps[2])
        lat1 = fpn.inner_blocks[1](maps[1])
        inner1 = fpn.fusions[1](torch.nn.functional.interpolate(inner2, size=lat1.shape[-2:]),
                                lat1)
        lat0 = fpn.inner_blocks[0](maps[0])
        inner0 = fpn.fusions[0](torch.nn.functional.interpolate(inner1, size=lat0.shape[-2:]),
                                lat0)
        want = [fpn.layer_blocks[i](m) for i, m in enumerate((inner0, inner1, inner2))]
        got = list(fpn(x).values())
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w)
    # the fusion changes the result: not a sum under another name
    plain = AFFFPN(CHANNELS, 12, fusion='add').eval()
    plain.load_state_dict(fpn.state_dict(), strict=False)
    with torch.no_grad():
        assert not torch.allclose(plain(x)['c0'], got[0])


def test_a_custom_fusion_and_a_batch_of_one_in_training():
    fpn = AFFFPN(CHANNELS, 12, fusion=lambda c: twin.AFF(c, 2, resize=None)).train()
    out = fpn(_maps(batch=1))
    sum(v.square().mean() for v in out.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in fpn.parameters() if p.grad is not None)
    assert fpn.fusions[0].global_att[1].weight.grad is not None


def test_maps_that_do_not_fit_are_named_by_level():
    fpn = AFFFPN(CHANNELS, 12)
    x = _maps()
    x['c1'] = torch.randn(2, 20, 16, 20)
    with pytest.raises(ValueError, match=r"level 1 \('c1'\).*in_channels_list\[1\] says 16"):
        fpn(x)
    del x['c1']
    with pytest.raises(ValueError, match='built for 3 levels.*got 2 maps'):
        fpn(x)
    with pytest.raises(ValueError, match="unknown fusion type 'afff'.*'aff'"):
        AFFFPN(CHANNELS, 12, fusion='afff')


def test_scripted_and_traced_forms_agree():
    fpn = AFFFPN(CHANNELS, 12, extra_blocks=LastLevelMaxPool(), fusion='aff').eval()
    x = _maps()
    with torch.no_grad():
        want = fpn(x)
        scripted = torch.jit.script(fpn)(x)
    for name in want:
        torch.testing.assert_close(scripted[name], want[name])


def test_the_inference_form_folds_the_necks_batchnorms():
    """optimize() on a module torch.fx cannot trace whole (a dict in): folded child by
    child, BatchNorm statistics away from their defaults so that a wrong fold shows."""
    torch.manual_seed(0)
    fpn = AFFFPN(CHANNELS, 12, fusion='iaff', norm_layer=torch.nn.BatchNorm2d).eval()
    with torch.no_grad():
        for m in fpn.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2.0)
                m.running_mean.uniform_(-0.2, 0.2)
                m.bias.uniform_(-0.1, 0.1)
    fast = twin.optimize(fpn, prepack=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    x = _maps()
    with torch.no_grad():
        want, got = fpn(x), fast(x)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-5)
