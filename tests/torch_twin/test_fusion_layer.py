"""AFF, iAFF and MS-CAM as layers for anyone's network: the ports' checkpoints (open-aff's
PyTorch port, LAION-CLAP's 1D and 2D copy), maps of other channels and sizes, 1D/2D/3D,
batch size 1 in training, a list argument, N maps, and bad input named by argument.

The reference modules below are written here from the ports' published layout and forward
(../shared/spec/ports.md: nn.Sequential branches, PyTorch's BatchNorm, the port's iAFF
taking its second global term from global_att), not from gluon_aff's code."""
import io
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gluon_aff import torch as twin

CONV = {1: nn.Conv1d, 2: nn.Conv2d}
NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


def _branch(channels, r, dims, pooled):
    inter = int(channels // r)
    layers = [POOL[dims](1)] if pooled else []
    return nn.Sequential(*layers, CONV[dims](channels, inter, 1), NORM[dims](inter),
                         nn.ReLU(inplace=True), CONV[dims](inter, channels, 1),
                         NORM[dims](channels))


class PortMSCAM(nn.Module):
    def __init__(self, channels=64, r=4):
        super().__init__()
        self.local_att = _branch(channels, r, 2, False)
        self.global_att = _branch(channels, r, 2, True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.local_att(x) + self.global_att(x))


class PortAFF(nn.Module):
    """open-aff's port (dims 2) and CLAP's copy (dims 1 or 2)."""

    def __init__(self, channels=64, r=4, dims=2):
        super().__init__()
        self.local_att = _branch(channels, r, dims, False)
        self.global_att = _branch(channels, r, dims, True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x, residual):
        xa = x + residual
        w = self.sigmoid(self.local_att(xa) + self.global_att(xa))
        return 2 * x * w + 2 * residual * (1 - w)


class PortIAFF(PortAFF):
    """The port's iAFF: its second weight's global term is global_att's (the bug)."""

    def __init__(self, channels=64, r=4, dims=2):
        super().__init__(channels, r, dims)
        self.local_att2 = _branch(channels, r, dims, False)
        self.global_att2 = _branch(channels, r, dims, True)

    def forward(self, x, residual):
        xa = x + residual
        w1 = self.sigmoid(self.local_att(xa) + self.global_att(xa))
        xi = x * w1 + residual * (1 - w1)
        w2 = self.sigmoid(self.local_att2(xi) + self.global_att(xi))
        return x * w2 + residual * (1 - w2)


def _maps(dims, batch=4, channels=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (batch, channels) + ((12,) if dims == 1 else (6, 6))
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


def _briefly_trained(module, dims, steps=3):
    """A few SGD steps, so that weights and running statistics are not the initial ones."""
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05)
    module.train()
    for step in range(steps):
        x, r = _maps(dims, seed=10 + step)
        out = module(x, r) if not isinstance(module, PortMSCAM) else module(x)
        optimizer.zero_grad()
        (out * out).mean().backward()
        optimizer.step()
    return module.eval()


@pytest.mark.parametrize('port,ours,dims', [
    (lambda: PortAFF(16, 4), lambda: twin.AFF(16, 4), 2),
    (lambda: PortMSCAM(16, 4), lambda: twin.MSCAM(16, 4), 2),
    (lambda: PortIAFF(16, 4), lambda: twin.IAFF(16, 4, compat='open-aff-pytorch'), 2),
    (lambda: PortAFF(16, 4, dims=1), lambda: twin.AFF(16, 4, dims=1), 1),
    (lambda: PortIAFF(16, 4, dims=1), lambda: twin.IAFF(16, 4, dims=1,
                                                        compat='open-aff-pytorch'), 1),
], ids=['port-AFF', 'port-MS_CAM', 'port-iAFF', 'CLAP-AFF-1D', 'CLAP-iAFF-1D'])
@pytest.mark.parametrize('trained', [False, True], ids=['initial', 'trained'])
def test_the_ports_state_dicts_load_strictly_and_give_their_outputs(port, ours, dims, trained):
    torch.manual_seed(0)
    reference = port()
    with torch.no_grad():           # not the initial values: every key must land
        for p in reference.parameters():
            p.uniform_(-0.5, 0.5)
    if trained:
        _briefly_trained(reference, dims)
    reference.eval()
    block = ours()
    with warnings.catch_warnings():
        warnings.simplefilter('error')      # the compat block loads without a warning
        block.load_state_dict(reference.state_dict(), strict=True)
    block.eval()
    x, r = _maps(dims, seed=3)
    with torch.no_grad():
        want = reference(x) if isinstance(reference, PortMSCAM) else reference(x, r)
        got = block(x) if isinstance(block, twin.MSCAM) else block(x, r)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_a_ports_iaff_in_the_faithful_block_warns_naming_compat_and_differs():
    reference = _briefly_trained(PortIAFF(16, 4), 2)
    state = reference.state_dict()
    assert int(state['global_att2.2.num_batches_tracked']) == 0
    assert int(state['global_att.2.num_batches_tracked']) > 0
    faithful = twin.IAFF(16, 4)
    with pytest.warns(UserWarning, match="compat='open-aff-pytorch'"):
        faithful.load_state_dict(state)
    x, r = _maps(2, seed=5)
    with torch.no_grad():
        assert (faithful.eval()(x, r) - reference(x, r)).abs().max() > 1e-3
    with warnings.catch_warnings():         # a faithful block's own state dict: no warning
        warnings.simplefilter('error')
        twin.IAFF(16, 4).load_state_dict(_briefly_trained(twin.IAFF(16, 4), 2).state_dict())
    with pytest.raises(ValueError, match="compat='bogus'.*'open-aff-pytorch'"):
        twin.IAFF(16, compat='bogus')


def test_a_state_dict_of_other_channels_names_the_key_and_both_shapes():
    with pytest.raises(RuntimeError, match=r'local_att\.0\.weight.*\[4, 16, 1, 1\].*'
                                           r'\[8, 32, 1, 1\]'):
        twin.AFF(32, 4).load_state_dict(PortAFF(16, 4).state_dict())


def _numpy_aff(x, r, block):
    """AFF of two already projected and resized maps, in NumPy from the formula (eval
    mode): W = sigmoid(L(X + R) + g(X + R)), Z = 2 (X W + R (1 - W))."""
    def conv(m, layer):         # a 1x1 convolution, channels first
        w = layer.weight.detach().numpy()[:, :, 0, 0]
        return np.einsum('oc,nchw->nohw', w, m) + layer.bias.detach().numpy()[None, :, None,
                                                                              None]

    def norm(m, bn):
        scale = bn.weight.detach().numpy() / np.sqrt(bn.running_var.numpy() + bn.eps)
        shift = bn.bias.detach().numpy() - bn.running_mean.numpy() * scale
        return m * scale[None, :, None, None] + shift[None, :, None, None]

    def branch(m, seq, offset):
        h = np.maximum(norm(conv(m, seq[offset]), seq[offset + 1]), 0)
        return norm(conv(h, seq[offset + 3]), seq[offset + 4])
    s = x + r
    w = 1 / (1 + np.exp(-(branch(s, block.local_att, 0)
                           + branch(s.mean(axis=(2, 3), keepdims=True), block.global_att, 1))))
    return 2 * (x * w + r * (1 - w))


def test_maps_of_other_channels_and_sizes_are_projected_and_resized():
    """in_channels=(32, 8): each map through its 1x1 convolution and norm to 16 channels;
    the 4x4 residual resized to 8x8 (nearest: each pixel repeated 2x2)."""
    block = twin.AFF(16, 4, in_channels=(32, 8)).eval()
    assert sorted(k.split('.')[1] for k in block.state_dict() if k.startswith('inputs.')) \
        == ['residual_proj'] * 6 + ['x_proj'] * 6
    g = torch.Generator().manual_seed(0)
    x, r = torch.randn(2, 32, 8, 8, generator=g), torch.randn(2, 8, 4, 4, generator=g)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        got = block(x, r).numpy()

    def project(m, seq):
        w = seq[0].weight.detach().numpy()[:, :, 0, 0]
        h = np.einsum('oc,nchw->nohw', w, m.numpy())
        bn = seq[1]
        scale = bn.weight.detach().numpy() / np.sqrt(bn.running_var.numpy() + bn.eps)
        return h * scale[None, :, None, None] + (bn.bias.detach().numpy()
                                                 - bn.running_mean.numpy() * scale)[None, :,
                                                                                    None, None]
    px = project(x, block.inputs.x_proj)
    pr = project(r, block.inputs.residual_proj).repeat(2, axis=2).repeat(2, axis=3)
    np.testing.assert_allclose(got, _numpy_aff(px, pr, block), rtol=1e-4, atol=1e-5)
    assert got.shape == (2, 16, 8, 8)
    with pytest.raises(ValueError, match=r"x is \(8, 8\) and residual \(4, 4\).*resize="):
        twin.AFF(16, 4, resize=None)(torch.randn(1, 16, 8, 8), torch.randn(1, 16, 4, 4))


@pytest.mark.parametrize('dims', [1, 2, 3])
@pytest.mark.parametrize('kind', ['AFF', 'IAFF', 'MSCAM'])
def test_batch_size_one_trains_for_every_block_and_dims(kind, dims):
    torch.manual_seed(0)
    block = getattr(twin, kind)(8, 2, dims=dims).train()
    x = torch.randn((1, 8) + (5,) * dims)
    r = torch.randn((1, 8) + (5,) * dims)
    norms = [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    before = [m.weight.detach().clone() for m in norms]
    optimizer = torch.optim.SGD(block.parameters(), lr=0.5)
    out = block(x) if kind == 'MSCAM' else block(x, r)
    (out * torch.randn_like(out)).sum().backward()
    optimizer.step()
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in block.parameters())
    assert any(not torch.equal(b, m.weight) for b, m in zip(before, norms))
    # the global branch's norms (one pooled vector) kept their statistics; the local
    # branch's (5^dims values per channel) updated theirs
    glob = block.global_att
    assert int(glob[2].num_batches_tracked) == 0 and float(glob[2].running_var[0]) == 1.0
    assert int(block.local_att[1].num_batches_tracked) == 1


@pytest.mark.parametrize('dims', [1, 2, 3])
def test_the_global_branch_trains_on_the_pooled_vector_as_the_formula_says(dims):
    """g(X) in training mode against NumPy: mean over the spatial axes, W1 v + b1, the
    batch's BatchNorm (biased variance), ReLU, W2 h + b2, BatchNorm; the running statistics
    move by MXNet's momentum; the gradients are those of the layers run on 1x1 maps."""
    torch.manual_seed(dims)
    branch = twin.AFF(8, 2, dims=dims).global_att.train()
    x = torch.randn((4, 8) + (3,) * dims)
    with torch.no_grad():
        for i in (2, 5):
            branch[i].weight.uniform_(0.5, 1.5)
            branch[i].bias.uniform_(-0.5, 0.5)
    p = {k: v.detach().numpy().astype(np.float64) for k, v in branch.state_dict().items()}

    def norm(h, i):
        mean, var = h.mean(0), h.var(0)
        return (h - mean) / np.sqrt(var + 1e-5) * p['%d.weight' % i] + p['%d.bias' % i], mean, var
    v = x.numpy().astype(np.float64).mean(axis=tuple(range(2, 2 + dims)))
    h, mean1, var1 = norm(v @ p['1.weight'].reshape(4, 8).T + p['1.bias'], 2)
    want, _, _ = norm(np.maximum(h, 0) @ p['4.weight'].reshape(8, 4).T + p['4.bias'], 5)
    got = branch(x.requires_grad_())
    assert got.shape == (4, 8) + (1,) * dims
    np.testing.assert_allclose(got.detach().reshape(4, 8).numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(branch[2].running_mean.numpy(), 0.1 * mean1, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(branch[2].running_var.numpy(), 0.9 + 0.1 * var1, rtol=1e-5)
    seed = torch.randn_like(got)
    grads = torch.autograd.grad((got * seed).sum(), [x, branch[1].weight, branch[5].weight])
    layered = x.detach().requires_grad_()
    out = layered
    for layer in branch:
        out = layer(out)
    want_grads = torch.autograd.grad((out * seed).sum(), [layered, branch[1].weight,
                                                           branch[5].weight])
    for g, w in zip(grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)


def test_a_list_argument_equals_two_and_norm_layer_is_any_callable_or_none():
    x, r = _maps(2)
    block = twin.IAFF(16, 4).eval()
    with torch.no_grad():
        torch.testing.assert_close(block([x, r]), block(x, r))
        torch.testing.assert_close(block((x, r)), block(x, r))
    grouped = twin.AFF(16, 4, norm_layer=lambda c: nn.GroupNorm(2, c))
    assert sum(isinstance(m, nn.GroupNorm) for m in grouped.modules()) == 4
    bare = twin.AFF(16, 4, norm_layer=None)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in bare.modules())
    assert {k for k in bare.state_dict()} == {'local_att.0.weight', 'local_att.0.bias',
                                              'local_att.3.weight', 'local_att.3.bias',
                                              'global_att.1.weight', 'global_att.1.bias',
                                              'global_att.4.weight', 'global_att.4.bias'}
    with pytest.raises(ValueError, match='exactly two maps'):
        block([x, r, x])


@pytest.mark.parametrize('bad,message', [
    (dict(dims=4), 'dims=4: the fusion blocks take dims=1'),
    (dict(in_channels=(8, 16, 32)), r'in_channels=\(8, 16, 32\): give None'),
    (dict(resize='cubic'), "resize='cubic': give one of"),
    (dict(r=32), 'reduction ratio r=32 is larger than the channel count 16'),
    (dict(norm_layer='batch'), "norm_layer='batch': give a callable"),
])
def test_bad_arguments_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        twin.AFF(16, **dict(dict(r=4), **bad))


@pytest.mark.parametrize('x,r,message', [
    ((1, 8, 4, 4), (1, 16, 4, 4), r'x has 8 channels.*in_channels=\(8, 16\)'),
    ((1, 16, 4, 4), (1, 32, 4, 4), r'residual has 32 channels.*in_channels=\(16, 32\)'),
    ((1, 16, 4), (1, 16, 4), r'AFF\(dims=2\) takes maps of rank 4 \(N, C, H, W\)'),
])
def test_maps_that_do_not_fit_are_named(x, r, message):
    with pytest.raises(ValueError, match=message):
        twin.AFF(16, 4)(torch.randn(x), torch.randn(r))


@pytest.mark.parametrize('kwargs,dims', [
    (dict(), 2), (dict(in_channels=(8, 24)), 2), (dict(dims=1), 1),
    (dict(dims=3, norm_layer=None), 3), (dict(compat='open-aff-pytorch'), 2)])
def test_scripted_exported_and_compiled_forms_agree(kwargs, dims):
    import onnxruntime
    cls = twin.IAFF if 'compat' in kwargs else twin.AFF
    block = cls(16, 4, **kwargs).eval()
    cx, cr = kwargs.get('in_channels', (16, 16))
    x = torch.randn((2, cx) + (6,) * dims)
    r = torch.randn((2, cr) + (3,) * dims)
    with torch.no_grad():
        want = block(x, r)
        torch.testing.assert_close(torch.jit.script(block)(x, r), want)
        torch.testing.assert_close(torch.compile(block, backend='eager')(x, r), want)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(block, (x, r), f, dynamo=False, input_names=['x', 'r'])
    got = onnxruntime.InferenceSession(f.getvalue()).run(None, {'x': x.numpy(),
                                                                'r': r.numpy()})[0]
    np.testing.assert_allclose(got, want.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('cls', [twin.AFF, twin.IAFF])
def test_an_onnx_export_with_free_sizes_resizes_at_every_size(cls):
    """Exported where both maps have one size (as a YOLO neck at its export size), the ONNX
    graph still resizes the second map when they differ at run time (an FPN on an input
    whose size is not a multiple of its strides)."""
    import onnxruntime
    block = cls(16, 4, in_channels=(8, 24), resize='nearest').eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(block, (torch.randn(1, 8, 8, 8), torch.randn(1, 24, 8, 8)), f,
                          dynamo=False, input_names=['x', 'r'],
                          dynamic_axes={'x': {2: 'h', 3: 'w'}, 'r': {2: 'rh', 3: 'rw'}})
    session = onnxruntime.InferenceSession(f.getvalue())
    for x_size, r_size in ((8, 8), (9, 5), (6, 12)):
        x, r = torch.randn(1, 8, x_size, x_size + 1), torch.randn(1, 24, r_size, r_size)
        with torch.no_grad():
            want = block(x, r).numpy()
        got = session.run(None, {'x': x.numpy(), 'r': r.numpy()})[0]
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4, err_msg=str(x_size))


def test_three_maps_of_other_channels_and_sizes_fuse_with_multiaff():
    """MultiAFF's softmax across the maps, after each is projected and resized to the
    first's size; with maps of one width and size it is the plain block, key for key."""
    plain = twin.MultiAFF(16, 3, r=4).eval()
    block = twin.MultiAFF(16, 3, r=4, in_channels=(16, 32, 8)).eval()
    assert set(plain.state_dict()) < set(block.state_dict())
    block.load_state_dict(plain.state_dict(), strict=False)
    xs = [torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4), torch.randn(2, 8, 2, 2)]
    with torch.no_grad():
        projected = [xs[0]] + [block.projections[i](xs[i]) for i in (1, 2)]
        resized = [projected[0]] + [p.repeat_interleave(8 // p.shape[2], 2)
                                    .repeat_interleave(8 // p.shape[3], 3)
                                    for p in projected[1:]]
        torch.testing.assert_close(block(xs), plain(resized))
        torch.testing.assert_close(torch.jit.script(block)(xs), block(xs))
    with pytest.raises(ValueError, match=r'the maps have \[16, 16, 16\] channels.*'
                                         r'in_channels=\[16, 16, 16\]'):
        block([torch.randn(1, 16, 4, 4)] * 3)
    with pytest.raises(ValueError, match="sizes differ.*resize='nearest'"):
        twin.MultiAFF(16, 2, resize=None)([torch.randn(1, 16, 4, 4), torch.randn(1, 16, 2, 2)])


def _gradients_reaching_each_norm(net, inputs):
    """{norm's name: whether the gradient its backward received was channels-last} after a
    training-mode backward of ``net(*inputs)``."""
    seen = {}
    for name, m in net.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_full_backward_hook(
                lambda mod, gin, gout, name=name: seen.__setitem__(
                    name, gout[0].is_contiguous(memory_format=torch.channels_last)))
    out = net(*inputs)
    out.backward(torch.randn_like(out))
    return seen


@pytest.mark.parametrize('block', ['AFF', 'IAFF', 'MSCAM'])
def test_a_channels_last_block_trains_on_channels_last_gradients(block):
    """In a channels-last network, every BatchNorm of the block takes its gradient
    channels-last: a map of another layout sends PyTorch's CPU kernels behind it (BatchNorm's
    backward five times slower) down their mixed-layout path. The global branch's mean
    used to return its gradient as an NCHW map, which turned the whole sum NCHW."""
    torch.manual_seed(0)
    net = getattr(twin, block)(32, r=4).train().to(memory_format=torch.channels_last)
    maps = [torch.randn(4, 32, 6, 6).contiguous(memory_format=torch.channels_last)
            .requires_grad_() for _ in range(1 if block == 'MSCAM' else 2)]
    seen = _gradients_reaching_each_norm(net, maps)
    assert len(seen) == {'AFF': 4, 'IAFF': 8, 'MSCAM': 4}[block]
    assert all(seen.values()), seen
    for m in maps:
        assert m.grad.is_contiguous(memory_format=torch.channels_last)


def test_the_spatial_mean_is_the_mean():
    """layers.spatial_mean (sum over size) against NumPy's mean, 1 to 3 spatial axes."""
    from gluon_aff.torch.layers import spatial_mean
    rng = np.random.RandomState(0)
    for shape in ((2, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 4)):
        x = rng.normal(2.0, 1.0, shape).astype(np.float32)
        axes = list(range(2, len(shape)))
        for keepdim in (False, True):
            got = spatial_mean(torch.from_numpy(x), axes, keepdim).numpy()
            want = x.astype(np.float64).mean(axis=tuple(axes), keepdims=keepdim)
            np.testing.assert_allclose(got, want, rtol=1e-6)
