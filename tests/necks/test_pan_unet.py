"""PAN and UNetDecoderBlock: each merge is the fusion (checked against the pieces and the
standalone blocks), 'add' is the plain neck, channels and sizes follow the fusion layer's
rules, bad maps are named; segmentation_models_pytorch's U-Net with the block, and smp's
own Unet on a zoo encoder ('tu-' name) with the block used by hand."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from gluon_aff import torch as twin
from gluon_aff.torch.necks import PAN, UNetDecoderBlock

CHANNELS = [8, 16, 32]


def _maps(batch=2, seed=0, width=40):
    g = torch.Generator().manual_seed(seed)
    return OrderedDict([('c%d' % i, torch.randn(batch, c, 32 >> i, width >> i, generator=g))
                        for i, c in enumerate(CHANNELS)])


@pytest.mark.parametrize('fusion', ['add', 'aff', 'iaff'])
def test_pan_by_hand(fusion):
    torch.manual_seed(0)
    pan = PAN(CHANNELS, 12, fusion=fusion).eval()
    x = _maps()
    fuse = ((lambda mods, i, a, b: a + b) if fusion == 'add'
            else (lambda mods, i, a, b: mods[i](a, b)))
    with torch.no_grad():
        lat = [pan.lateral[i](m) for i, m in enumerate(x.values())]
        t2 = lat[2]
        t1 = fuse(pan.top_down, 1, F.interpolate(t2, size=lat[1].shape[-2:]), lat[1])
        t0 = fuse(pan.top_down, 0, F.interpolate(t1, size=lat[0].shape[-2:]), lat[0])
        p = [pan.smooth[i](t) for i, t in enumerate((t0, t1, t2))]
        n1 = pan.out[0](fuse(pan.bottom_up, 0, p[1], pan.down[0](p[0])))
        n2 = pan.out[1](fuse(pan.bottom_up, 1, p[2], pan.down[1](n1)))
        got = pan(x)
    assert list(got) == list(x)
    for g, w in zip(got.values(), (p[0], n1, n2)):
        torch.testing.assert_close(g, w)
    assert (pan.top_down is None) == (fusion == 'add')


def test_pan_odd_sizes_a_batch_of_one_and_bad_maps():
    pan = PAN(CHANNELS, 12).train()
    x = _maps(batch=1, width=41)       # 41 -> 20 -> 10: the stride-2 path gives 21, 11
    out = pan(x)
    assert [tuple(v.shape[-2:]) for v in out.values()] == [(32, 41), (16, 20), (8, 10)]
    sum(v.mean() for v in out.values()).backward()
    x['c2'] = torch.randn(1, 30, 8, 10)
    with pytest.raises(ValueError, match=r"level 2 \('c2'\).*says 32 channels"):
        pan(x)
    with pytest.raises(ValueError, match='two or more levels'):
        PAN([8], 12)


@pytest.mark.parametrize('fusion', ['add', 'aff'])
def test_the_unet_block_projects_resizes_and_fuses(fusion):
    torch.manual_seed(0)
    block = UNetDecoderBlock(32, 16, 24, fusion=fusion).eval()
    x, skip = torch.randn(2, 32, 5, 6), torch.randn(2, 16, 11, 13)
    with torch.no_grad():
        a = block.x_proj(F.interpolate(x, size=(11, 13)))
        b = block.skip_proj(skip)
        z = a + b if fusion == 'add' else block.fusion(a, b)
        want = block.conv2(block.conv1(z))
        got = block(x, skip)
    assert got.shape == (2, 24, 11, 13)
    torch.testing.assert_close(got, want)
    last = UNetDecoderBlock(24, 0, 8).eval()
    assert last(got).shape == (2, 8, 22, 26) and last.fusion is None
    with pytest.raises(ValueError, match=r'skip has shape \(2, 15, 11, 13\).*skip_channels=16'):
        block(x, skip[:, :15])
    with pytest.raises(ValueError, match='give forward\\(x, skip\\)'):
        block(x)


def test_smp_unet_with_the_fusion_block_trains_a_step():
    smp = pytest.importorskip('segmentation_models_pytorch')
    from gluon_aff.torch.integrations.smp import SMPDecoderBlock, smp_unet
    model = smp_unet('tu-iaff_resnet50', fusion='iaff', encoder_weights=None, classes=3,
                     encoder_depth=4, decoder_channels=(32, 16, 8, 8),
                     layers=[1, 1, 1, 1], stem_width=8)
    assert isinstance(model, smp.Unet)
    blocks = model.decoder.blocks
    assert all(isinstance(b, SMPDecoderBlock) for b in blocks)
    assert [b.fusion is not None for b in blocks] == [True, True, True, False]
    x = torch.rand(2, 3, 64, 64)
    out = model(x)
    assert out.shape == (2, 3, 64, 64)
    F.cross_entropy(out, torch.randint(0, 3, (2, 64, 64))).backward()
    assert blocks[0].fusion.global_att2[1].weight.grad is not None


def test_smps_own_unet_on_a_zoo_encoder_with_the_block_by_hand():
    """The documented use without smp_unet: smp's features, the block applied by hand."""
    smp = pytest.importorskip('segmentation_models_pytorch')
    encoder = smp.encoders.get_encoder('tu-aff_resnet50', weights=None, depth=4,
                                       layers=[1, 1, 1, 1], stem_width=8)
    features = encoder(torch.rand(1, 3, 64, 64))
    channels = list(encoder.out_channels)
    assert [f.shape[1] for f in features] == channels
    block = UNetDecoderBlock(channels[-1], channels[-2], 16)
    assert block(features[-1], features[-2]).shape[-2:] == features[-2].shape[-2:]
    assert twin.list_fusions()
