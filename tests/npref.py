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


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


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
    w = sigmoid(local_att(y + x, P, _k(key, 'local_att')) + global_att(y + x, P, _k(key, 'global_att')))
    if kind == 'aff':
        return 2 * y * w + 2 * x * (1 - w)
    i = y * w + x * (1 - w)
    w2 = sigmoid(local_att(i, P, _k(key, 'local_att2')) + global_att(i, P, _k(key, 'global_att2')))
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
def preact_paths(x, P, key, stride):
    """The pre-activation basic block's two paths before they are joined: BN-ReLU-3x3 twice,
    and the identity or AvgPool + 1x1 shortcut."""
    out = conv(relu(bn(x, P, key + '.resfwd.0')), P[key + '.resfwd.2.weight'],
               stride=stride, pad=1)
    out = conv(relu(bn(out, P, key + '.resfwd.3')), P[key + '.resfwd.5.weight'], pad=1)
    if key + '.downsample.1.weight' in P:
        return out, conv(avgpool_ceil_nopad(x, stride), P[key + '.downsample.1.weight'])
    return out, x


def cifar_resnet(x, P, layers, kind, start_layer):
    x = bn(x, P, 'features.0', fix_gamma=True)   # gamma ignored, beta added
    x = conv(x, P['features.1.weight'], pad=1)
    for s, (blocks, k) in enumerate(zip(layers, stage_kinds(kind, start_layer, 3))):
        for b in range(blocks):
            key = 'features.%d.%d' % (2 + s, b)
            out, sc = preact_paths(x, P, key, 2 if (s > 0 and b == 0) else 1)
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


# -- every registered fusion, by its formula (the paper's tables; README) -------------------
def _k(key, name):
    return key + '.' + name if key else name


def fusion(kind, y, x, P, key=''):
    """``kind``'s output for Y = ``y`` (body output, 5x5 branch, upsampled map) and X = ``x``
    (shortcut, 3x3 branch, lateral map); ``key`` is the block's checkpoint prefix."""
    assert y.shape == x.shape, (key, y.shape, x.shape)

    def L(s, name='local_att'):
        return local_att(s, P, _k(key, name))

    def G(s, name='global_att'):
        return global_att(s, P, _k(key, name))

    def M(s, suffix=''):
        return sigmoid(L(s, 'local_att' + suffix) + G(s, 'global_att' + suffix))

    def select(w):                      # AFF's soft selection, factor 2 included
        return 2 * y * w + 2 * x * (1 - w)
    s = x + y
    if kind in ('add', 'aff', 'iaff'):
        return fuse(kind, y, x, P, key)
    if kind == 'concat':                # one 1x1 conv (no bias) over [X, Y]
        return conv(np.concatenate([x, y], axis=1), P[_k(key, 'proj.weight')])
    if kind == 'global_global':
        return select(sigmoid(G(s, 'branch_a') + G(s, 'branch_b')))
    if kind == 'local_local':
        return select(sigmoid(L(s, 'branch_a') + L(s, 'branch_b')))
    if kind == 'ms_gau':
        return M(y) * x + y
    if kind == 'ms_se':
        return x + M(y) * y
    if kind == 'ms_sa':
        return M(s) * x + y
    if kind == 'half_aff':
        return x + M(s) * y
    if kind == 'concat_aff':
        local = L(s)
        glob = np.broadcast_to(G(s), local.shape)
        return select(sigmoid(conv(np.concatenate([local, glob], axis=1),
                                   P[_k(key, 'mix.weight')])))
    if kind == 'recursive_aff':
        v = M(s, '2')
        return select(sigmoid(L(s) * v + G(s) * (1 - v)))
    if kind == 'se':
        return x + sigmoid(G(y)) * y
    if kind == 'sk':
        w = sigmoid(G(s))
        return x * w + y * (1 - w)
    if kind == 'gau':
        return sigmoid(G(y)) * x + y
    raise AssertionError('no reference for fusion %r' % kind)


def mscam_parameters(channels, r):
    """Trainable parameters of one MS-CAM (local + global branch): two 1x1 convs with
    biases and two BNs (gamma, beta) in each branch."""
    inner = channels // r
    branch = channels * inner + inner + 2 * inner + inner * channels + channels + 2 * channels
    return 2 * branch


# -- CIFAR Inception host (the same-layer scenario) -----------------------------------------
def cifar_inception(x, P, blocks, kind):
    x = bn(x, P, 'features.0', fix_gamma=True)
    x = conv(x, P['features.1.weight'], pad=1)
    for s in range(3):
        for b in range(blocks):
            key = 'features.%d.%d' % (2 + s, b)
            stride = 2 if (s > 0 and b == 0) else 1
            h = relu(bn(x, P, key + '.pre.0'))
            x3 = conv(h, P[key + '.branch3.weight'], stride=stride, pad=1)
            y5 = conv(h, P[key + '.branch5.weight'], stride=stride, pad=2, dilation=2)
            out = conv(relu(bn(fusion(kind, y5, x3, P, key + '.attention'), P, key + '.post.0')),
                       P[key + '.post.2.weight'])
            if key + '.downsample.1.weight' in P:
                sc = conv(avgpool_ceil_nopad(x, stride), P[key + '.downsample.1.weight'])
            else:
                sc = x
            x = out + sc
    x = relu(bn(x, P, 'features.5'))
    return dense(gap(x), P, 'output')


# -- FPN on a ResNet-20-b (the long-skip scenario) ------------------------------------------
def bilinear_align_corners(x, height, width):
    """Bilinear resize with corner pixels aligned (MXNet's BilinearResize2D default)."""
    n, c, h, w = x.shape

    def axis(out, size):
        pos = np.arange(out) * ((size - 1) / (out - 1) if out > 1 else 0.0)
        lo = np.minimum(np.floor(pos).astype(int), size - 1)
        hi = np.minimum(lo + 1, size - 1)
        return lo, hi, pos - lo
    y0, y1, fy = axis(height, h)
    x0, x1, fx = axis(width, w)
    top = x[:, :, y0][:, :, :, x0] * (1 - fx) + x[:, :, y0][:, :, :, x1] * fx
    bottom = x[:, :, y1][:, :, :, x0] * (1 - fx) + x[:, :, y1][:, :, :, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def fpn_resnet(x, P, blocks, kind):
    h = conv(bn(x, P, 'stem.0', fix_gamma=True), P['stem.1.weight'], pad=1)
    c = []
    for s in range(3):
        for b in range(blocks):
            out, sc = preact_paths(h, P, 'stages.%d.%d' % (s, b), 2 if (s > 0 and b == 0) else 1)
            h = out + sc                 # plain addition inside the bottom-up blocks
        c.append(h)
    p = conv(c[2], P['laterals.2.weight'])
    for level, merge in ((1, 0), (0, 1)):
        lateral = conv(c[level], P['laterals.%d.weight' % level])
        up = bilinear_align_corners(p, *lateral.shape[2:])
        p = fusion(kind, up, lateral, P, 'merges.%d' % merge)
    return conv(relu(bn(p, P, 'head.0')), P['head.2.weight'], P['head.2.bias'])


# -- AFINets (the readings in the README) --------------------------------------------------
def afi(features, P, key):
    """softmax_i(W2 ReLU(W1 GAP(X_i))) per channel, the weighted sum of the X_i."""
    scores = np.stack([relu(gap(f)[:, :, 0, 0] @ P[key + '.fc1.weight'].T)
                       @ P[key + '.fc2.weight'].T for f in features], axis=1)
    a = softmax(scores, axis=1)
    return sum(a[:, i, :, None, None] * f for i, f in enumerate(features))


def interleave(h, f):
    """Channel c of ``h`` followed by channel c of ``f``, for every c."""
    n, c, hh, ww = h.shape
    return np.stack([h, f], axis=2).reshape(n, 2 * c, hh, ww)


def conv_bn(x, P, key, stride=1, pad=0, groups=1):
    return bn(conv(x, P[key + '.0.weight'], stride=stride, pad=pad, groups=groups), P, key + '.1')


def cifar_afi_resnet(x, P, blocks, setting):
    """Basic blocks (16/32/64): block i concatenates AFI(features of blocks 1..i-1) to its
    first convolution's output; each block passes on the first half (A) or all (B) of that
    output; ReLU after the residual addition."""
    x = relu(bn(conv(x, P['stem.0.weight'], pad=1), P, 'stem.1'))
    for s in range(3):
        features = []
        for b in range(blocks):
            key = 'stages.%d.%d' % (s, b)
            stride = 2 if (s > 0 and b == 0) else 1
            h = relu(bn(conv(x, P[key + '.conv1.weight'], stride=stride, pad=1), P, key + '.bn1'))
            feature = h[:, :h.shape[1] // 2] if (setting == 'A' and b == 0) else h
            if b > 0 and setting:
                h = np.concatenate([h, afi(features, P, key + '.afi')], axis=1)
            out = bn(conv(h, P[key + '.conv2.weight'], pad=1), P, key + '.bn2')
            sc = conv_bn(x, P, key + '.downsample', stride) if key + '.downsample.0.weight' in P \
                else x
            x = relu(out + sc)
            features.append(feature)
    return dense(gap(x), P, 'output')


def cifar_afi_mobilenetv2(x, P, config, setting):
    """A row's first block contributes nothing; block i >= 2 fuses the expansion outputs of
    blocks 2..i (its own included) and its depthwise 3x3 reads expansion and AFI channels
    interleaved."""
    x = relu(conv_bn(x, P, 'stem', pad=1))
    for s, (expansion, out, n, stride) in enumerate(config):
        features = []
        for b in range(n):
            key = 'stages.%d.%d' % (s, b)
            st = stride if b == 0 else 1
            h = relu(bn(conv(x, P[key + '.conv1.weight']), P, key + '.bn1'))
            if b > 0 and setting:
                features.append(h)
                h = interleave(h, afi(features, P, key + '.afi'))
            planes = P[key + '.conv2.weight'].shape[0]
            t = relu(bn(conv(h, P[key + '.conv2.weight'], stride=st, pad=1, groups=planes), P,
                        key + '.bn2'))
            t = bn(conv(t, P[key + '.conv3.weight']), P, key + '.bn3')
            if st == 1:
                t = t + (conv_bn(x, P, key + '.shortcut') if key + '.shortcut.0.weight' in P
                         else x)
            x = t
    x = relu(conv_bn(x, P, 'last'))
    return dense(gap(x), P, 'output')


def _shuffle(x):
    n, c, h, w = x.shape
    return x.reshape(n, 2, c // 2, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)


def cifar_afi_shufflenetv2(x, P, units, setting):
    """The down-sampling unit contributes its right branch's first 1x1 output (average-
    pooled by 2; its first half in A); each later unit fuses the earlier contributions and
    its depthwise 3x3 reads its own 1x1 output and the AFI output interleaved."""
    x = relu(conv_bn(x, P, 'stem', pad=1))
    for s, n in enumerate(units):
        key = 'stages.%d.0' % s
        cin = x.shape[1]
        left = relu(conv_bn(conv_bn(x, P, key + '.left_dw', 2, 1, cin), P, key + '.left_pw'))
        h = relu(conv_bn(x, P, key + '.right_pw1'))
        pooled = avgpool_ceil_nopad(h, 2)
        features = [pooled[:, :h.shape[1] // 2] if setting == 'A' else pooled]
        mid = h.shape[1]
        right = relu(conv_bn(conv_bn(h, P, key + '.right_dw', 2, 1, mid), P, key + '.right_pw2'))
        x = _shuffle(np.concatenate([left, right], axis=1))
        for b in range(1, n + 1):
            key = 'stages.%d.%d' % (s, b)
            half = x.shape[1] // 2
            keep, work = x[:, :half], x[:, half:]
            h = relu(conv_bn(work, P, key + '.pw1'))
            feature = h
            if setting is not None:
                h = interleave(h, afi(features, P, key + '.afi'))
                features.append(feature)
            t = conv_bn(h, P, key + '.dw', 1, 1, h.shape[1])
            out = relu(conv_bn(t, P, key + '.pw2'))
            x = _shuffle(np.concatenate([keep, out], axis=1))
    x = relu(conv_bn(x, P, 'last'))
    return dense(gap(x), P, 'output')
