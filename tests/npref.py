"""A NumPy reference forward (inference mode) of the four host families, written from
the specification of the original code, not from gluon_aff's implementation.

``P`` is a dict of float64 arrays keyed like the original checkpoints.
"""
import math

import numpy as np

EPS = 1e-5


def conv(x, w, b=None, stride=1, pad=0, dilation=1, groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    # a mis-wired reference would otherwise broadcast silently
    assert c == cg * groups and o % groups == 0, (x.shape, w.shape, groups)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dilation:i * dilation + stride * (oh - 1) + 1:stride,
                           j * dilation:j * dilation + stride * (ow - 1) + 1:stride]
                out[:, g * og:(g + 1) * og] += np.einsum('nchw,oc->nohw', patch, ws[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def bn(x, P, key, fix_gamma=False):
    gamma = np.ones_like(P[key + '.gamma']) if fix_gamma else P[key + '.gamma']
    scale = gamma / np.sqrt(P[key + '.running_var'] + EPS)
    return ((x - P[key + '.running_mean'][None, :, None, None]) * scale[None, :, None, None]
            + P[key + '.beta'][None, :, None, None])


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def maxpool3s2p1(x):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    oh, ow = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, :, i:i + 2 * (oh - 1) + 1:2, j:j + 2 * (ow - 1) + 1:2])
    return out


def avgpool_ceil_nopad(x, k):
    """AvgPool(k, stride k, ceil_mode=True, count_include_pad=False): border windows
    that hang over the edge average only the pixels they cover."""
    if k == 1:
        return x
    n, c, h, w = x.shape
    oh, ow = int(math.ceil((h - k) / k)) + 1, int(math.ceil((w - k) / k)) + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * k:min(i * k + k, h), j * k:min(j * k + k, w)].mean(axis=(2, 3))
    return out


def gap(x):
    return x.mean(axis=(2, 3), keepdims=True)


def dense(x, P, key):
    return x.reshape(x.shape[0], -1) @ P[key + '.weight'].T + P[key + '.bias']


# -- fusion --------------------------------------------------------------------------------
def local_att(s, P, key):
    t = relu(bn(conv(s, P[key + '.0.weight'], P[key + '.0.bias']), P, key + '.1'))
    return bn(conv(t, P[key + '.3.weight'], P[key + '.3.bias']), P, key + '.4')


def global_att(s, P, key):
    t = relu(bn(conv(gap(s), P[key + '.1.weight'], P[key + '.1.bias']), P, key + '.2'))
    return bn(conv(t, P[key + '.4.weight'], P[key + '.4.bias']), P, key + '.5')


def fuse(kind, y, x, P, key):
    """y: body output, x: shortcut."""
    assert y.shape == x.shape, (key, y.shape, x.shape)
    if kind == 'add':
        return y + x
    w = sigmoid(local_att(y + x, P, key + '.local_att') + global_att(y + x, P, key + '.global_att'))
    if kind == 'aff':
        return 2 * y * w + 2 * x * (1 - w)
    i = y * w + x * (1 - w)
    w2 = sigmoid(local_att(i, P, key + '.local_att2') + global_att(i, P, key + '.global_att2'))
    return y * w2 + x * (1 - w2)


def stage_kinds(kind, start_layer, n):
    return [kind if s + 1 >= start_layer else 'add' for s in range(n)]


# -- ImageNet AFF-ResNet (deep stem, avg_down) ----------------------------------------------
def imagenet_resnet(x, P, layers, kind, start_layer):
    x = relu(bn(conv(x, P['conv1.0.weight'], stride=2, pad=1), P, 'conv1.1'))
    x = relu(bn(conv(x, P['conv1.3.weight'], pad=1), P, 'conv1.4'))
    x = conv(x, P['conv1.6.weight'], pad=1)
    x = maxpool3s2p1(relu(bn(x, P, 'bn1')))
    for s, (blocks, k) in enumerate(zip(layers, stage_kinds(kind, start_layer, 4))):
        for b in range(blocks):
            key = 'layer%d.%d' % (s + 1, b)
            stride = 2 if (s > 0 and b == 0) else 1
            out = relu(bn(conv(x, P[key + '.conv1.weight']), P, key + '.bn1'))
            out = relu(bn(conv(out, P[key + '.conv2.weight'], stride=stride, pad=1), P, key + '.bn2'))
            out = bn(conv(out, P[key + '.conv3.weight']), P, key + '.bn3')
            if key + '.downsample.1.weight' in P:
                sc = avgpool_ceil_nopad(x, stride)
                sc = bn(conv(sc, P[key + '.downsample.1.weight']), P, key + '.downsample.2')
            else:
                sc = x
            x = relu(fuse(k, out, sc, P, key + '.attention'))
    return dense(gap(x), P, 'fc')


# -- ResNeXt block, shared by both ResNeXt families -----------------------------------------
def resnext_block(x, P, key, stride, kind, avg_down, cardinality):
    out = relu(bn(conv(x, P[key + '.body.0.weight']), P, key + '.body.1'))
    out = relu(bn(conv(out, P[key + '.body.3.weight'], stride=stride, pad=1, groups=cardinality),
                  P, key + '.body.4'))
    out = bn(conv(out, P[key + '.body.6.weight']), P, key + '.body.7')
    if avg_down and key + '.downsample.1.weight' in P:
        sc = bn(conv(avgpool_ceil_nopad(x, stride), P[key + '.downsample.1.weight']),
                P, key + '.downsample.2')
    elif key + '.downsample.0.weight' in P:
        sc = bn(conv(x, P[key + '.downsample.0.weight'], stride=stride), P, key + '.downsample.1')
    else:
        sc = x
    return relu(fuse(kind, out, sc, P, key + '.attention'))


def imagenet_resnext(x, P, layers, kind, start_layer, cardinality=32):
    x = relu(bn(conv(x, P['features.0.weight'], stride=2, pad=1), P, 'features.1'))
    x = relu(bn(conv(x, P['features.3.weight'], pad=1), P, 'features.4'))
    x = relu(bn(conv(x, P['features.6.weight'], pad=1), P, 'features.7'))
    x = maxpool3s2p1(x)
    for s, (blocks, k) in enumerate(zip(layers, stage_kinds(kind, start_layer, 4))):
        for b in range(blocks):
            stride = 2 if (s > 0 and b == 0) else 1
            # stage 1 projects with a plain 1x1 conv, later stages with avg_down
            x = resnext_block(x, P, 'features.%d.%d' % (10 + s, b), stride, k, s > 0, cardinality)
    return dense(gap(x), P, 'output')


# -- CIFAR pre-activation AFF-ResNet --------------------------------------------------------
def cifar_resnet(x, P, layers, kind, start_layer):
    x = bn(x, P, 'features.0', fix_gamma=True)   # gamma ignored, beta added
    x = conv(x, P['features.1.weight'], pad=1)
    for s, (blocks, k) in enumerate(zip(layers, stage_kinds(kind, start_layer, 3))):
        for b in range(blocks):
            key = 'features.%d.%d' % (2 + s, b)
            stride = 2 if (s > 0 and b == 0) else 1
            out = conv(relu(bn(x, P, key + '.resfwd.0')), P[key + '.resfwd.2.weight'],
                       stride=stride, pad=1)
            out = conv(relu(bn(out, P, key + '.resfwd.3')), P[key + '.resfwd.5.weight'], pad=1)
            if key + '.downsample.1.weight' in P:
                sc = conv(avgpool_ceil_nopad(x, stride), P[key + '.downsample.1.weight'])
            else:
                sc = x
            x = fuse(k, out, sc, P, key + '.attention')   # no ReLU after
    x = relu(bn(x, P, 'features.5'))
    return dense(gap(x), P, 'output')


# -- CIFAR AFF-ResNeXt ----------------------------------------------------------------------
def cifar_resnext(x, P, layers, kind, start_layer, cardinality=32):
    x = relu(bn(conv(x, P['features.0.weight'], pad=1), P, 'features.1'))
    for s, (blocks, k) in enumerate(zip(layers, stage_kinds(kind, start_layer, 3))):
        for b in range(blocks):
            stride = 2 if (s > 0 and b == 0) else 1
            x = resnext_block(x, P, 'features.%d.%d' % (3 + s, b), stride, k, True, cardinality)
    return dense(gap(x), P, 'output')
