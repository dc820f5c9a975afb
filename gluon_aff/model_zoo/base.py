"""What every zoo network shares: input checks, per-stage features, a replaceable head."""
import inspect
import warnings

import mxnet as mx
import numpy as np
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..core.features import take_indices
from ..nn.attention_norm import warn_if_single_sample

__all__ = ['ZooNet', 'make_norm', 'deep_stem_layers']


def make_norm(norm_layer, norm_kwargs, channels, **extra):
    """``norm_layer(in_channels=channels, **norm_kwargs, **extra)``.

    ``in_channels`` is given whenever the layer accepts it (BatchNorm and
    gluoncv's GroupNorm do, mxnet's GroupNorm does not), so that parameter
    shapes are known at construction: counts and checkpoint checks need no
    forward pass.
    """
    kwargs = dict(norm_kwargs or {})
    kwargs.update(extra)
    if _accepts_in_channels(norm_layer):
        kwargs['in_channels'] = channels
    return norm_layer(**kwargs)


def deep_stem_layers(width, out_channels, stride, norm_layer, norm_kwargs, in_channels=3):
    """The layers of a deep stem: 3x3 (stride) -> width, norm, ReLU, 3x3 -> width, norm,
    ReLU, 3x3 -> out_channels (no bias, no final norm); add them to a sequential."""
    return [nn.Conv2D(width, 3, stride, 1, use_bias=False, in_channels=in_channels),
            make_norm(norm_layer, norm_kwargs, width),
            nn.Activation('relu'),
            nn.Conv2D(width, 3, 1, 1, use_bias=False, in_channels=width),
            make_norm(norm_layer, norm_kwargs, width),
            nn.Activation('relu'),
            nn.Conv2D(out_channels, 3, 1, 1, use_bias=False, in_channels=width)]


def _accepts_in_channels(layer):
    try:
        return 'in_channels' in inspect.signature(layer).parameters
    except (TypeError, ValueError):
        return True


class ZooNet(HybridBlock):
    """Base of the zoo's networks: the contract every zoo entry keeps.

    A family subclasses it and provides the hooks the twin's families provide, with the
    same names and meanings (``gluon_aff.torch.base.ZooNet``; MXNet's take ``F`` first):

    - ``forward_stem(F, x)``: the stem's feature map (feature index 0, as timm's ResNets),
      and ``pool_stem(F, m)`` where a pool follows it before stage 1 (the ImageNet hosts'
      max-pool); ``stem_layer()``: the layer whose output that map is;
    - ``stage_layers()``: the stage layers, in order;
    - ``head_map(F, x)`` (the map the classifier pools), ``pool_head(F, m)`` (that map
      pooled: the classifier's input vector) and ``classify(F, v)`` (the classifier);
    - ``feature_channels``: the output channels of each stage, one entry per stage;
    - ``total_stride``: the smallest input side the network takes;
    - ``classifier_name``: the attribute holding the classifier (``fc`` or ``output`` as
      in the original checkpoints; FPN's ``head``, whose last layer is the classifier).

    Every zoo network then has, with the PyTorch twin's meanings (timm's):
    ``feature_info`` (index 0 the stem, then one entry per stage: channels, reduction,
    module), ``forward_features`` (the last stage's unpooled map), ``forward_head``,
    ``forward_intermediates``, ``classes``, ``classifier``, ``reset_classifier``, and
    ``set_features`` (return feature maps instead of logits). ``check_contract``
    verifies a family keeps it; ``build_model`` calls it for every entry.

    With feature maps selected (``get_model(..., features_only=True, out_indices=...)``)
    the network returns those maps instead of logits; the classifier stays in place so
    that released checkpoints still load.
    """
    classifier_name = 'fc'
    input_channels = 3
    train_size = 224    # the resolution the released models were trained at (for messages)

    def __init__(self, out_stages=None, **kwargs):
        super(ZooNet, self).__init__(**kwargs)
        self.zoo_name = type(self).__name__
        self.feature_channels = ()
        self.total_stride = 1
        self._out_indices = tuple(out_stages) if out_stages else None

    # -- to be provided by the families -------------------------------------------------
    def forward_stem(self, F, x):
        raise NotImplementedError

    def pool_stem(self, F, m):
        return m

    def stem_layer(self):
        raise NotImplementedError

    def stage_layers(self):
        raise NotImplementedError

    def head_map(self, F, x):
        """The map the classifier pools, computed from the last stage's output (the stage
        output itself unless the head first transforms it: the pre-activation CIFAR
        ResNet's final BN-ReLU, MobileNetV2/ShuffleNetV2's last 1x1). Grad-CAM weighs it."""
        return x

    def pool_head(self, F, m):
        """The vector the classifier takes: ``head_map``'s output pooled (and, in training,
        dropped out where the family has dropout)."""
        raise NotImplementedError

    def classify(self, F, v):
        """The logits from ``pool_head``'s vector (the classifier layer)."""
        raise NotImplementedError

    def _forward_head(self, F, x, pre_logits=False):
        """The logits (``pre_logits``: the pooled vector) from the last stage's map:
        ``classify(pool_head(head_map(x)))``."""
        v = self.pool_head(F, self.head_map(F, x))
        return v if pre_logits else self.classify(F, v)

    # -- the contract -------------------------------------------------------------------
    @property
    def num_stages(self):
        return len(self.stage_layers())

    def set_features(self, out_indices=None, out_stages=None):
        """Return feature maps instead of logits: those of ``out_indices`` (indices into
        ``feature_info``, 0 the stem; negative ones count from the end; an int n: the last
        n), or of ``out_stages`` (stage numbers, 1-based, 0 the stem); neither: every
        stage (1..n). Returns the network."""
        n = self.num_stages
        if out_indices is not None:
            picked, _ = take_indices(n + 1, out_indices, 'out_indices')
        elif out_stages is not None:
            picked = self._check_out_stages(out_stages)
        else:
            picked = list(range(1, n + 1))
        self._out_indices = tuple(picked)
        self._clear_cached_op()
        return self

    def set_out_stages(self, stages):
        """``set_features(out_stages=stages)``; ``'all'``: every stage; None: logits again."""
        if not stages:
            self._out_indices = None
            self._clear_cached_op()
            return self
        return self.set_features(out_stages=None if stages == 'all' else stages)

    @property
    def out_indices(self):
        """The feature indices the network returns instead of logits (None: logits)."""
        return self._out_indices

    out_stages = out_indices    # (the feature index of stage k is k)

    def check_contract(self):
        """Raise TypeError naming what a family leaves out of the ZooNet contract."""
        problems = []
        n = self.num_stages
        if n < 1:
            problems.append('stage_layers() returns no stage')
        if len(self.feature_channels) != n:
            problems.append('feature_channels has %d entries for %d stages'
                            % (len(self.feature_channels), n))
        if self.total_stride < 1:
            problems.append('total_stride is not set')
        weight = getattr(self.classifier, 'weight', None)
        if weight is None or not weight.shape or not weight.shape[0]:
            problems.append('classifier %r has no weight with a class axis'
                            % self.classifier_name)
        if problems:
            raise TypeError('%s (%s) breaks the ZooNet contract: %s'
                            % (self.zoo_name, type(self).__name__, '; '.join(problems)))

    @property
    def feature_info(self):
        """timm's ``feature_info``: entry 0 the stem, then one per stage, each a dict of
        ``num_chs`` (channels), ``reduction`` (input side / map side, at the training input
        size), ``module`` (the attribute path of the block giving it, e.g. ``layer3``) and
        ``index``."""
        if getattr(self, '_feature_info', None) is None:
            names = {id(block): name for name, block in _named_blocks(self)}
            size = max(self.train_size, self.total_stride)
            shapes = self._feature_shapes(size)
            blocks = [self.stem_layer()] + list(self.stage_layers())
            self._feature_info = [
                dict(num_chs=shape[1], reduction=size // shape[2],
                     module=names.get(id(block), ''), index=i)
                for i, (shape, block) in enumerate(zip(shapes, blocks))]
        return [dict(info) for info in self._feature_info]

    def _feature_shapes(self, size):
        """Output shapes of the stem and every stage for one input of size x size, by
        shape inference (no parameters needed)."""
        data = mx.sym.var('data')
        outs = self._feature_outputs(mx.sym, data, self.num_stages)
        _, shapes, _ = mx.sym.Group(outs).infer_shape_partial(
            data=(1, self.input_channels, size, size))
        return shapes

    # -- forward --------------------------------------------------------------------------
    def _check_out_stages(self, stages):
        n = self.num_stages
        stages = tuple(stages) if hasattr(stages, '__len__') else (stages,)
        bad = [s for s in stages if not isinstance(s, int) or not 0 <= s <= n]
        if bad or not stages:
            raise ValueError('out_stages must be stage numbers between 1 and %d (0: the '
                             'stem), got %r' % (n, stages))
        return list(stages)

    def _feature_outputs(self, F, x, last):
        """The stem's map and the maps of stages 1..``last``."""
        m = self.forward_stem(F, x)
        outs = [m]
        if last >= 1:
            x = self.pool_stem(F, m)
            for stage in self.stage_layers()[:last]:
                x = stage(x)
                outs.append(x)
        return outs

    def _stage_outputs(self, F, x, last):
        """The maps of stages 1..``last``."""
        return self._feature_outputs(F, x, last)[1:]

    def hybrid_forward(self, F, x):
        if self._out_indices:
            outs = self._feature_outputs(F, x, max(self._out_indices))
            picked = [outs[i] for i in self._out_indices]
            return picked[0] if len(picked) == 1 else tuple(picked)
        outs = self._feature_outputs(F, x, self.num_stages)
        return self._forward_head(F, outs[-1])

    def forward(self, x, *args):
        self.check_input(x)
        if isinstance(x, mx.nd.NDArray):
            warn_if_single_sample(self, x.shape[0])
        return super(ZooNet, self).forward(x, *args)

    def _build_cache(self, *args):
        if not self._out_indices:
            return super(ZooNet, self)._build_cache(*args)
        # A features-only network keeps its head (so checkpoints load) but does not use it.
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='Parameter .* is not used by any computation')
            return super(ZooNet, self)._build_cache(*args)

    def forward_features(self, x):
        """The last stage's feature map, unpooled (timm's ``forward_features``; for the
        pre-activation CIFAR ResNet, before the final BN/ReLU)."""
        self.check_input(x)
        return self._feature_outputs(mx.nd, x, self.num_stages)[-1]

    def forward_head(self, x, pre_logits=False):
        """Logits from ``forward_features``' map; ``pre_logits``: the pooled vector the
        classifier takes."""
        return self._forward_head(mx.nd, x, pre_logits=pre_logits)

    def forward_intermediates(self, x, indices=None, norm=False, stop_early=False,
                              output_fmt='NCHW', intermediates_only=False):
        """timm's ``forward_intermediates``: the maps of ``indices`` (into
        ``feature_info``; default all, an int n the last n) and, unless
        ``intermediates_only``, the last stage's map: ``(final, [maps])``."""
        if output_fmt != 'NCHW':
            raise ValueError("output_fmt=%r: the zoo's maps are NCHW" % (output_fmt,))
        self.check_input(x)
        n = self.num_stages
        picked, last = take_indices(n + 1, indices, 'indices')
        outs = self._feature_outputs(mx.nd, x, last if stop_early or intermediates_only
                                     else n)
        intermediates = [outs[i] for i in picked]
        return intermediates if intermediates_only else (outs[-1], intermediates)

    def check_input(self, x):
        """Raise ValueError for a batch this network cannot take (NDArray input only)."""
        if not isinstance(x, mx.nd.NDArray):
            return
        shape = tuple(x.shape)
        if len(shape) != 4:
            raise ValueError(
                "%s expects a batch of images shaped (N, %d, H, W), got shape %s; "
                "add the batch axis with x.expand_dims(axis=0)"
                % (self.zoo_name, self.input_channels, shape))
        if shape[0] == 0:
            raise ValueError('%s got a batch of 0 images (input shape %s); give it at least one'
                             % (self.zoo_name, shape))
        if shape[1] != self.input_channels:
            hint = ('; repeat a grayscale channel with x.repeat(3, axis=1)' if shape[1] == 1
                    else '; images must be NCHW (channels first): x.transpose((0, 3, 1, 2))'
                    if shape[3] == self.input_channels else '')
            raise ValueError('%s expects %d input channels, got %d (input shape %s)%s'
                             % (self.zoo_name, self.input_channels, shape[1], shape, hint))
        want = self._input_dtype()
        if want is not None and np.dtype(x.dtype) != want:
            raise ValueError('%s expects %s input (its parameters are %s), got %s; convert the '
                             'batch with x.astype(%r)%s'
                             % (self.zoo_name, np.dtype(want).name, np.dtype(want).name,
                                np.dtype(x.dtype).name, np.dtype(want).name,
                                ' after scaling uint8 pixels to [0, 1] and normalising them '
                                '(gluon_aff.data.eval_transform.eval_transform)'
                                if x.dtype == np.uint8 else ''))
        if min(shape[2:]) < self.total_stride:
            raise ValueError(
                '%s needs inputs of at least %dx%d pixels (its total stride), got %dx%d; '
                'it was trained at %dx%d, resize the images (e.g. gluon_aff.model_zoo.'
                'get_model_info(name).input_size)'
                % (self.zoo_name, self.total_stride, self.total_stride, shape[2], shape[3],
                   self.train_size, self.train_size))

    def _input_dtype(self):
        """The dtype of the first weight (the input's), once initialised."""
        if getattr(self, '_first_weight', None) is None:
            # held in a tuple: a Parameter attribute would become one of this block's own
            self._first_weight = (next((p for p in self.collect_params().values()
                                        if p.name.endswith('weight')), None),)
        first = self._first_weight[0]
        return np.dtype(first.dtype) if first is not None and first._data is not None else None

    # -- classifier -----------------------------------------------------------------------
    @property
    def classifier(self):
        """The layer producing the logits (a Dense; FPN's last 1x1 convolution)."""
        layer = getattr(self, self.classifier_name)
        if isinstance(layer, (nn.HybridSequential, nn.Sequential)):
            layer = layer[len(layer) - 1]
        return layer

    @property
    def classes(self):
        return self.classifier.weight.shape[0]

    def classifier_keys(self):
        """Checkpoint keys of the final Dense layer."""
        return ['%s.weight' % self.classifier_name, '%s.bias' % self.classifier_name]

    def reset_classifier(self, classes, init=None, ctx=None):
        """Replace the classifier by a fresh one with ``classes`` outputs (same kind: a
        Dense, or FPN's 1x1 convolution; same checkpoint keys).

        It is initialised with ``init`` (default Xavier) when ``ctx`` is given
        or the rest of the network is initialised.
        """
        old = self.classifier
        in_units = old.weight.shape[1]
        with self.name_scope():
            new = (nn.Conv2D(classes, 1, in_channels=in_units) if isinstance(old, nn.Conv2D)
                   else nn.Dense(classes, in_units=in_units))
        holder = getattr(self, self.classifier_name)
        if holder is old:
            setattr(self, self.classifier_name, new)
        else:       # the last layer of a sequential head keeps its index (and its key)
            holder._children[list(holder._children)[-1]] = new
        self._clear_cached_op()
        if ctx is None:
            ctx = _initialised_ctx(self)
        if ctx is not None:
            new.initialize(init or mx.init.Xavier(), ctx=ctx)
        return new


def _named_blocks(block, prefix=''):
    for name, child in block._children.items():
        path = prefix + name
        yield path, child
        yield from _named_blocks(child, path + '.')


def _initialised_ctx(block):
    for param in block.collect_params().values():
        if param._data is not None:
            return param.list_ctx()
    return None
