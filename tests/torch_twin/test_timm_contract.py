"""Every zoo name keeps timm's model contract, as timm's own ResNets keep it: the model API,
the creation arguments (each works or is refused by name), features as timm's (and as
``resnet50d``'s, for a drop-in swap), every parameter trained, and TorchScript, torch.fx,
torch.export and ONNX. Networks are built at their family's smallest configuration, where
names that differ only in depth build the same network: the creation arguments and the
training of every parameter walk each distinct network once (``DISTINCT``: every name's
network is among them, ``test_distinct_networks_cover_every_name``); the costliest checks
(scripting, tracing, feature wrappers, torch.export and ONNX) walk the fewest of those that
hold every family, fusion and setting (``COVERING``): their failures are a module's or a
family's code, and each block and family is among those."""
import io
import warnings

import numpy as np
import pytest
import timm
from timm.optim import create_optimizer_v2
import torch

from gluon_aff import torch as twin
from gluon_aff.core.zoo import get_model_info, list_models
from helpers import covering_names, distinct_names, stand_in

NAMES = list_models()
SEGMENTATION = 'fpn_resnet'
DISTINCT = distinct_names(NAMES)
COVERING = covering_names(NAMES)      # for the exports and feature wrappers


def test_distinct_networks_cover_every_name():
    """A name left out of DISTINCT builds, at the smallest configuration, the same network as
    the one walked for it: the same modules and parameter shapes."""
    assert len(DISTINCT) == 34
    shapes = {n: {k: tuple(v.shape) for k, v in _build(n).state_dict().items()} for n in NAMES}
    for name in NAMES:
        twin_of = stand_in(name, DISTINCT)
        assert shapes[name] == shapes[twin_of], (name, twin_of)


def _creator(name):
    """timm's create_model for the names in timm's registry; the segmentation networks,
    outside it, through gluon_aff.torch.get_model (the same arguments)."""
    return timm.create_model if get_model_info(name).task == 'classification' \
        else twin.get_model


def _build(name, **kwargs):
    info = get_model_info(name)
    return twin.get_model(name, **dict(info.smallest, **kwargs))


def _input(net, batch=2, seed=0):
    size = 16 if get_model_info(net.zoo_name).family == SEGMENTATION else 2 * net.total_stride
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=g)


@pytest.mark.parametrize('name', NAMES)
def test_the_model_api(name):
    info = get_model_info(name)
    net = _build(name).eval()
    x = _input(net)
    assert net.num_classes == info.classes and net.num_features == net.feature_info[-1]['num_chs'] > 0
    assert net.head_hidden_size >= net.num_features or info.family == SEGMENTATION
    with torch.no_grad():
        out = net(x)
        final = net.forward_features(x)
        final_, maps = net.forward_intermediates(x)
        only = net.forward_intermediates(x, indices=[-1, 0], intermediates_only=True,
                                         stop_early=True)
    torch.testing.assert_close(final_, final)
    assert len(maps) == len(net.feature_info) == net.num_stages + 1
    for m, f in zip(maps, net.feature_info):
        assert tuple(m.shape) == (2, f['num_chs'], x.shape[2] // f['reduction'],
                                  x.shape[3] // f['reduction'])
    torch.testing.assert_close(only[0], maps[-1])
    torch.testing.assert_close(only[1], maps[0])
    with pytest.raises(ValueError, match='indices=.*there are %d feature maps' % len(maps)):
        net.forward_intermediates(x, indices=[len(maps)])
    if info.family == SEGMENTATION:
        assert out.shape == (2, info.classes) + tuple(x.shape[2:])
        with pytest.raises(NotImplementedError, match='call the network itself'):
            net.forward_head(final)
        with pytest.raises(ValueError, match='segments images'):
            net.reset_classifier(0)
        return
    with torch.no_grad():
        pooled = net.forward_head(final, pre_logits=True)
        mapped = net.head_map(final).numpy()
    np.testing.assert_allclose(pooled.numpy(), mapped.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net.forward_head(final), out)
    assert out.shape == (2, info.classes) and pooled.shape == (2, net.head_hidden_size)
    net.reset_classifier(0)
    with torch.no_grad():
        torch.testing.assert_close(net(x), pooled)
    net.reset_classifier(7, global_pool='catavgmax')
    assert net.get_classifier().in_features == 2 * net.head_hidden_size
    with torch.no_grad():
        assert net(x).shape == (2, 7)
    net.reset_classifier(0, global_pool='')
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), mapped, rtol=1e-6)
    with pytest.raises(ValueError, match="global_pool=''.*num_classes=0"):
        net.reset_classifier(3, global_pool='')


@pytest.mark.parametrize('name', DISTINCT)
def test_timms_creation_arguments_work_or_are_refused_by_name(name):
    info = get_model_info(name)
    small = info.smallest
    create = _creator(name)
    with pytest.raises(ValueError, match="does not take 'bogus'"):
        create(name, bogus=1, **small)
    with pytest.raises(ValueError, match='feature_cls='):
        create(name, features_only=True, feature_cls='bogus', **small)
    meta = create(name, device='meta', **small)
    assert {p.device.type for p in meta.parameters()} == {'meta'}
    half = create(name, dtype=torch.bfloat16, **small)
    assert {p.dtype for p in half.state_dict().values() if p.is_floating_point()} == \
        {torch.bfloat16}
    if info.family == SEGMENTATION:
        for kwargs in (dict(num_classes=0), dict(global_pool='max'), dict(drop_rate=0.1),
                       dict(output_stride=16)):
            with pytest.raises(ValueError, match=list(kwargs)[0] if 'classes' not in
                               list(kwargs)[0] else 'segments'):
                create(name, **dict(small, **kwargs))
        return
    headless = create(name, num_classes=0, global_pool='max', **small).eval()
    x = _input(headless)
    with torch.no_grad():
        assert headless(x).shape == (2, headless.head_hidden_size)
        unpooled = create(name, num_classes=0, global_pool='', **small).eval()
        assert unpooled(x).dim() == 4
    dropped = create(name, drop_rate=0.5, **small)
    assert dropped.head_drop.p == 0.5
    if info.family == 'cifar_afi_shufflenet':
        with pytest.raises(ValueError, match='drop_path_rate=0.1.*no residual branch'):
            create(name, drop_path_rate=0.1, **small)
    else:
        deep = create(name, drop_path_rate=0.2, **small)
        rates = [m.rate for m in deep.modules() if type(m).__name__ == 'DropPath']
        assert rates and max(rates) == pytest.approx(0.2) and min(rates) < 0.2
    if info.family in ('imagenet_resnet', 'imagenet_resnext'):
        for stride, last in ((16, [2, 4, 8, 16, 16]), (8, [2, 4, 8, 8, 8])):
            dilated = create(name, output_stride=stride, **small)
            assert [f['reduction'] for f in dilated.feature_info] == last
    else:
        with pytest.raises(ValueError, match='output_stride=16.*ImageNet'):
            create(name, output_stride=16, **small)


@pytest.mark.parametrize('name', COVERING)
def test_features_as_timm_and_its_wrappers(name, tmp_path):
    """features_only returns feature_info's maps (0 the stem) through each of timm's
    wrappers (weights given as timm gives a file: pretrained_cfg_overlay), and
    torchvision's feature extractor reads the same modules."""
    from torchvision.models.feature_extraction import create_feature_extractor
    net = _build(name).eval()
    x = _input(net)
    with torch.no_grad():
        expected = net.forward_intermediates(x, intermediates_only=True)
    info = get_model_info(name)
    create = _creator(name)
    path = twin.save_safetensors(net, str(tmp_path / 'net.safetensors'))
    for kind in ('list', 'getter', 'hook', 'fx', 'dict'):
        features = create(name, features_only=True, feature_cls=kind,
                                     out_indices=(0, -1), pretrained=True,
                                     pretrained_cfg_overlay=dict(file=path), **info.smallest)
        with torch.no_grad():
            maps = features.eval()(x)
        maps = list(maps.values()) if isinstance(maps, dict) else maps
        assert len(maps) == 2, kind
        torch.testing.assert_close(maps[0], expected[0], msg=kind)
        torch.testing.assert_close(maps[1], expected[-1], msg=kind)
        assert features.feature_info.channels() == [net.feature_info[0]['num_chs'],
                                                     net.feature_info[-1]['num_chs']]
    modules = {f['module']: str(i) for i, f in enumerate(net.feature_info)}
    extractor = create_feature_extractor(net, return_nodes=modules)
    with torch.no_grad():
        got = extractor(x)
    for i, m in enumerate(expected):
        torch.testing.assert_close(got[str(i)], m)
    for bad in ((len(expected),), (-len(expected) - 1,)):
        with pytest.raises(ValueError, match='out_indices=.*indices must be in'):
            create(name, features_only=True, out_indices=bad, **info.smallest)


@pytest.mark.parametrize('out_indices', [None, (1, 2, 3, 4), (0, 2), (-1,), (3,), 2])
def test_iaff_resnet50_swaps_in_for_resnet50d_as_a_backbone(out_indices):
    kwargs = {} if out_indices is None else dict(out_indices=out_indices)
    ours = timm.create_model('iaff_resnet50', features_only=True, layers=[1, 1, 1, 1],
                             **kwargs)
    theirs = timm.create_model('resnet50d', features_only=True, layers=[1, 1, 1, 1], **kwargs)
    assert ours.feature_info.channels() == theirs.feature_info.channels()
    assert ours.feature_info.reduction() == theirs.feature_info.reduction()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert [m.shape for m in ours.eval()(x)] == [m.shape for m in theirs.eval()(x)]


@pytest.mark.parametrize('name', DISTINCT)
def test_every_parameter_is_trained(name):
    """One step: every Parameter gets a gradient (the values the original keeps fixed are
    buffers), and checkpoint keys are the MXNet ones (tests/torch_twin/test_twin_zoo.py)."""
    net = _build(name).train()
    out = net(_input(net, batch=4))
    (out * torch.randn_like(out)).sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.requires_grad]
    assert missing == []


def test_grad_checkpointing_and_layer_decay_work_on_the_zoo():
    for name in ('iaff_resnet50', 'cifar_aff_resnext38_32x4d', 'cifar_afi_resnet32',
                 'cifar_iaff_resnet20'):
        net = _build(name).eval()
        x = _input(net, batch=2).requires_grad_()
        net(x).sum().backward()
        plain = {n: p.grad.clone() for n, p in net.named_parameters()}
        net.zero_grad()
        net.set_grad_checkpointing(True)
        net(x).sum().backward()
        for n, p in net.named_parameters():
            torch.testing.assert_close(p.grad, plain[n], msg=n)
        optimizer = create_optimizer_v2(net, 'sgd', lr=0.1, layer_decay=0.5)
        scales = [g['lr_scale'] for g in optimizer.param_groups]
        assert min(scales) < max(scales) == 1.0
        groups = timm.models.group_parameters(net, net.group_matcher())
        stages = tuple(f['module'] + '.' for f in net.feature_info[1:])
        first, last = groups[min(groups)], groups[max(groups)]
        assert first and not any(n.startswith(stages) for n in first)      # the stem
        assert len(groups) > len(stages) + 1 and \
            any(n.startswith(net.classifier_name) for n in last)


@pytest.mark.parametrize('name', COVERING)
def test_scripted_and_traced_forms_agree_with_eager(name):
    net = _build(name).eval()
    x = _input(net)
    with torch.no_grad():
        expected = net(x)
        scripted = torch.jit.script(net)(x)
        traced = torch.fx.symbolic_trace(net)(x)
    scale = expected.abs().max()
    assert (scripted - expected).abs().max() <= 1e-5 * scale
    assert (traced - expected).abs().max() <= 1e-5 * scale


@pytest.mark.parametrize('name', COVERING)
def test_exported_forms_agree_with_eager(name):
    """torch.export with a dynamic batch and the ONNX export (in ONNX Runtime), once per
    family, fusion and setting (``COVERING``)."""
    import onnxruntime
    net = _build(name).eval()
    x = _input(net, batch=3)
    with torch.no_grad():
        expected = net(x)
    scale = expected.abs().max()
    batch = torch.export.Dim('batch', min=1, max=64)
    program = torch.export.export(net, (x[:2],), dynamic_shapes=({0: batch},))
    with torch.no_grad():
        assert (program.module()(x) - expected).abs().max() <= 1e-5 * scale
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(net, (x,), f, dynamo=False, input_names=['x'],
                          dynamic_axes={'x': {0: 'batch'}})
    session = onnxruntime.InferenceSession(f.getvalue())
    got = session.run(None, {'x': x[:1].numpy()})[0]
    assert np.abs(got - expected[:1].numpy()).max() <= 1e-5 * float(scale)


def test_the_covering_walk_holds_every_family_fusion_and_setting():
    def traits(names, field):
        return {getattr(get_model_info(n), field) if field != 'setting'
                else get_model_info(n).args.get('setting') for n in names}
    for field in ('family', 'fusion', 'setting'):
        assert traits(COVERING, field) == traits(NAMES, field), field
    assert set(COVERING) <= set(DISTINCT) and len(COVERING) < len(DISTINCT)
