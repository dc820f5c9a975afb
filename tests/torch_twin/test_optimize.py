"""gluon_aff.torch.optimize: the inference form computes what the network computes (every
name, at batch 2 and 1, BatchNorm statistics and affine values away from their defaults, so
that a wrong fold shows) and is what it says it is (BatchNorms folded, global branches on
the pooled vector, the fusion blocks in their inference form; with prepacking, every
convolution packed and the ReLUs, residual sums and attention weights taken into them)."""
import collections

import numpy as np
import pytest
import torch

from gluon_aff import torch as twin
from gluon_aff.core.zoo import get_model_info, list_models
from gluon_aff.torch.fusion import GlobalContext
from gluon_aff.torch.layers import GlobalAvgPool
from gluon_aff.torch.packed_conv import PackedConv2d, prepack_available
from helpers import distinct_names


def _conditioned(name, seed=0):
    info = get_model_info(name)
    net = twin.get_model(name, **info.smallest)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.5)
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.4 - 0.2)
                if isinstance(m.weight, torch.nn.Parameter):
                    m.weight.copy_(torch.rand(m.num_features, generator=g) * 0.4 + 0.8)
                m.bias.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
            elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                # non-zero, as in the released files: a fold must scale a convolution's own
                # bias by the BatchNorm after it, not add it as it is
                m.bias.copy_(torch.rand(m.out_channels, generator=g) * 0.4 - 0.2)
    return net.eval()


def _kinds(net):
    return collections.Counter(type(m).__name__ for m in net.modules())


def _conv_then_batchnorm(net):
    """How many BatchNorms take a convolution's output that nothing else reads (a
    pre-activation block's BatchNorm after the stem shares it with the shortcut), read
    from the traced graph."""
    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):     # the twin's BatchNorm2d is a subclass
            return (isinstance(m, (torch.nn.BatchNorm2d, GlobalContext))
                    or super().is_leaf_module(m, qualname))
    graph = Tracer().trace(net)
    modules = dict(net.named_modules())

    def kind(node):
        return type(modules[node.target]) if node.op == 'call_module' else None
    # a global branch's two convolutions each feed its own BatchNorm, nothing else
    return sum(2 if kind(n) is GlobalContext else
               1 if issubclass(kind(n), torch.nn.BatchNorm2d)
               and kind(n.args[0]) is not None and issubclass(kind(n.args[0]), torch.nn.Conv2d)
               and len(n.args[0].users) == 1 else 0
               for n in graph.nodes if kind(n) is not None)


# once per distinct network of the families' smallest configurations (names that differ only
# in depth build the same one there)
@pytest.mark.parametrize('name', distinct_names(list_models()))
def test_the_inference_form_computes_what_the_network_computes(name):
    net = _conditioned(name)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    size = 16 if get_model_info(name).family == 'fpn_resnet' else 2 * net.total_stride
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    fast = twin.optimize(net, prepack=False)
    forms = [fast]
    if prepack_available():
        forms.append(twin.optimize(net, example=x))
    for form in forms:
        for batch in (x, x[:1]):
            with torch.inference_mode():
                want = net(batch)
                got = form(batch.contiguous(memory_format=torch.channels_last))
            err = float((got - want).abs().max() / want.abs().max())
            assert err <= 1e-5, (name, type(form).__name__, len(batch), err)
    # the network it came from is left as it was
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    kinds, plain = _kinds(fast), _kinds(net)
    pairs = _conv_then_batchnorm(net)
    assert _conv_then_batchnorm(fast) == 0
    assert kinds['BatchNorm2d'] == plain['BatchNorm2d'] - pairs, name
    assert kinds['GlobalAvgPool'] == 0 and kinds['PooledMLP'] == plain['GlobalContext']
    # AFF and iAFF keep their one form (the blend as torch.lerp in their own forward)
    assert (kinds['AFF'], kinds['IAFF']) == (plain['AFF'], plain['IAFF'])


@pytest.mark.parametrize('name', ['resnet50_add', 'aff_resnet50', 'iaff_resnet50'])
def test_the_imagenet_hosts_keep_no_batchnorm(name):
    """Every BatchNorm of a ResNet(-D) host and its attention follows a convolution."""
    fast = twin.optimize(_conditioned(name), prepack=False)
    assert _kinds(fast)['BatchNorm2d'] == 0
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               for p in fast.parameters() if p.dim() == 4)


def test_folding_by_hand():
    """A 1x1 convolution and its BatchNorm against NumPy arithmetic of the formula."""
    rng = np.random.RandomState(0)
    conv = torch.nn.Conv2d(3, 2, 1, bias=False)
    bn = twin.BatchNorm2d(2).eval()
    w, gamma, beta = rng.randn(2, 3), rng.rand(2) + 0.5, rng.randn(2)
    mean, var = rng.randn(2), rng.rand(2) + 0.5
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w.reshape(2, 3, 1, 1)))
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
        bn.running_mean.copy_(torch.tensor(mean))
        bn.running_var.copy_(torch.tensor(var))
    folded = twin.optimize(torch.nn.Sequential(conv, bn), channels_last=False,
                           prepack=False)[0]
    x = rng.randn(3)
    want = (w @ x - mean) / np.sqrt(var + bn.eps) * gamma + beta
    with torch.no_grad():
        got = folded(torch.tensor(x, dtype=torch.float32).reshape(1, 3, 1, 1)).flatten()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_the_global_branch_is_a_matrix_vector_product():
    """On a pooled vector: mean over H and W by hand, then ``W2 relu(W1 v + b1) + b2``."""
    fast = twin.optimize(_conditioned('iaff_resnet50'), prepack=False)
    mlp = next(m for m in fast.modules() if type(m).__name__ == 'PooledMLP')
    assert not any(isinstance(m, (GlobalAvgPool, torch.nn.Conv2d)) for m in mlp.modules())
    c = mlp.fc1.in_features
    x = torch.randn(2, c, 3, 5, generator=torch.Generator().manual_seed(2))
    v = x.numpy().mean(axis=(2, 3))
    w1, b1 = mlp.fc1.weight.detach().numpy(), mlp.fc1.bias.detach().numpy()
    w2, b2 = mlp.fc2.weight.detach().numpy(), mlp.fc2.bias.detach().numpy()
    want = np.maximum(v @ w1.T + b1, 0) @ w2.T + b2
    with torch.no_grad():
        got = mlp(x)
    assert got.shape == (2, c, 1, 1)
    np.testing.assert_allclose(got[:, :, 0, 0].numpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not prepack_available(), reason="this PyTorch has no oneDNN prepacking")
@pytest.mark.parametrize('name, maps, vectors', [('resnet50_add', 4, 0), ('iaff_resnet50', 2, 4)])
def test_prepacking_takes_the_passes_after_each_convolution(name, maps, vectors):
    """Every convolution is packed; each plain block's residual sum (with its ReLU) and each
    MS-CAM's ``sigmoid(L + g)`` are inside a convolution; the only ReLUs left in the graph
    follow a sum or blend that is not a convolution's."""
    net = _conditioned(name)
    fast = twin.optimize(net)
    packed = [m for m in fast.modules() if isinstance(m, PackedConv2d)]
    assert not any(type(m) is torch.nn.Conv2d for m in fast.modules())
    unpacked = twin.optimize(net, prepack=False)
    assert len(packed) == sum(type(m) is torch.nn.Conv2d for m in unpacked.modules())
    assert sum(m.residual == 'map' and m.post == 'relu' for m in packed) == maps
    assert sum(m.residual == 'vector' and m.post == 'sigmoid' for m in packed) == vectors
    calls = [(n.op, getattr(n.target, '__name__', n.target)) for n in fast.graph.nodes]
    assert not any('sigmoid' in str(target) for _, target in calls)
    # what is left: iAFF's X + Y (both read again by the blends) and no sum in resnet50_add
    assert sum(t in ('add', 'add_') for _, t in calls) == (0 if name == 'resnet50_add' else 2)
    for node in fast.graph.nodes:
        if node.op == 'call_method' and node.target == 'relu':
            source = node.args[0]
            assert not (source.op == 'call_module' and isinstance(
                fast.get_submodule(source.target), PackedConv2d)), node
