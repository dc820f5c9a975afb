"""What every network of the PyTorch twin shares: the zoo's contract in timm's terms."""
import math

import torch
from torch import nn
from timm.layers import SelectAdaptivePool2d
from timm.models._manipulate import checkpoint_seq

from ..core.features import take_indices
from .layers import tracing_or_compiling

__all__ = ['ZooNet', 'deep_stem_layers', 'checkpoint_stages']


def deep_stem_layers(width, out_channels, stride, norm, in_channels=3):
    """3x3 (stride) -> width, norm, ReLU, 3x3 -> width, norm, ReLU, 3x3 -> out_channels:
    the layers of a deep stem, at the MXNet side's sequential indices."""
    return [nn.Conv2d(in_channels, width, 3, stride, 1, bias=False), norm(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), norm(width), nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, 1, 1, bias=False)]


def checkpoint_stages(stages, x, flatten=True):
    """``x`` through ``stages`` with gradient checkpointing (timm's ``checkpoint_seq``; each
    block of a plain ``Sequential`` stage on its own with ``flatten``)."""
    return checkpoint_seq(stages, x, flatten=flatten)


def _pool(global_pool):
    """timm's pooling of a classifier head: flattened, but for '' (no pooling)."""
    return SelectAdaptivePool2d(pool_type=global_pool, flatten=bool(global_pool))


class ZooNet(nn.Module):
    """Base of the twin's networks: timm's model contract, as timm's ResNets keep it.

    A family provides the hooks the MXNet side's families provide, with the same names and
    meanings (``gluon_aff.model_zoo.base.ZooNet``), all TorchScript-compatible:
    ``forward_features(x)`` (stem and stages: the last stage's unpooled map), ``head_map(x)``
    (what the classifier pools: that map, or a final norm/activation/1x1 of it) and
    ``classify(v)`` (the classifier on ``pool_head``'s vector); and, for the per-stage
    features (Python only): ``forward_stem(x)`` (feature index 0), ``pool_stem(m)`` (a pool
    between the stem and stage 1), ``stem_layer()`` and ``stage_layers()``. It calls
    ``init_head`` for the pooling, dropout and classifier and ``set_feature_info`` with
    what built the stages, and sets ``feature_channels`` (per stage), ``classifier_name``
    and ``head_modules`` (the module names after the stages: what ``group_matcher`` calls
    the head).

    Every network then has timm's interface: ``num_classes``, ``num_features``,
    ``head_hidden_size``, ``feature_info`` (index 0 the stem, then the stages),
    ``forward_features``, ``forward_head(x, pre_logits=False)``, ``forward_intermediates``,
    ``prune_intermediate_layers``, ``get_classifier``/``reset_classifier``,
    ``group_matcher``, ``set_grad_checkpointing``; ``gluon_aff.torch.registry`` wraps it for
    ``features_only`` as timm does.
    """
    classifier_name = 'fc'
    head_modules = ('fc',)
    # timm's FeatureListNet/hook wrappers find feature_info's modules among the network's
    # children, one level of Sequential flattened where they sit inside one
    flatten_features = True
    input_channels = 3
    train_size = 224
    __jit_unused_properties__ = ['classes', 'num_stages']

    def __init__(self):
        super().__init__()
        self.zoo_name = type(self).__name__
        self.feature_channels = ()
        self.total_stride = 1           # set_feature_info: the last stage's reduction
        self.grad_checkpointing = False
        self.num_classes = 0
        self.num_features = 0
        self.head_hidden_size = 0
        self.drop_rate = 0.0

    # -- provided by the families -------------------------------------------------------
    def forward_features(self, x):
        """The last stage's feature map, unpooled (timm's ``forward_features``)."""
        raise NotImplementedError

    def head_map(self, x):
        return x

    def classify(self, x):
        raise NotImplementedError

    def forward_stem(self, x):
        raise NotImplementedError

    def pool_stem(self, m):
        return m

    def stage_layers(self):
        raise NotImplementedError

    def init_head(self, head_channels, num_classes, drop_rate=0.0, global_pool='avg'):
        """The head every family shares: ``global_pool`` (timm's pooling types),
        dropout at ``drop_rate`` and a linear classifier (named ``classifier_name``, as in
        the MXNet checkpoints) on ``head_map``'s ``head_channels`` channels. As timm's:
        ``num_features`` are the channels of ``forward_features``' map (the last stage's),
        ``head_hidden_size`` those of the vector the classifier takes (MobileNetV2's and
        ShuffleNetV2's final 1x1 widens the map first)."""
        self.num_features = self.feature_channels[-1]
        self.head_hidden_size = head_channels
        self.drop_rate = float(drop_rate)
        self.head_drop = nn.Dropout(self.drop_rate) if self.drop_rate else nn.Identity()
        self.reset_classifier(num_classes, global_pool)

    # -- the head ---------------------------------------------------------------------------
    def forward_head(self, x, pre_logits: bool = False):
        """Logits from ``forward_features``' map; ``pre_logits``: the pooled (and, in
        training, dropped-out) vector the classifier takes."""
        x = self.pool_head(self.head_map(x))
        return x if pre_logits else self.classify(x)

    def pool_head(self, m):
        """The vector the classifier takes: ``head_map``'s output pooled by ``global_pool``
        (and, in training, dropped out at ``drop_rate``)."""
        return self.head_drop(self.global_pool(m))

    def forward(self, x):
        if not torch.jit.is_scripting():
            self.check_input(x)
        return self.forward_head(self.forward_features(x))

    def get_classifier(self):
        return getattr(self, self.classifier_name)

    @property
    def classes(self):
        """The number of classes (the MXNet zoo's word for ``num_classes``)."""
        return self.num_classes

    def reset_classifier(self, num_classes, global_pool=None):
        """A fresh classifier with ``num_classes`` outputs (0: none, ``forward`` gives the
        pooled features), and the pooling ``global_pool`` if given ('avg', 'max',
        'avgmax', 'catavgmax', 'fast'; '' keeps the map unpooled, with no classifier)."""
        if global_pool is not None or not hasattr(self, 'global_pool'):
            pool = _pool('avg' if global_pool is None else global_pool)
            if pool.is_identity() and num_classes:
                raise ValueError("%s: global_pool='' keeps the map unpooled, which a linear "
                                 'classifier cannot take: give num_classes=0 as well (then '
                                 'forward returns the map)' % self.zoo_name)
            self.global_pool = pool
        elif self.global_pool.is_identity() and num_classes:
            raise ValueError("%s: its pooling is '' (no pooling); give global_pool='avg' with "
                             'num_classes=%d' % (self.zoo_name, num_classes))
        old = getattr(self, self.classifier_name, None)
        ref = next((p for p in old.parameters()), None) if old is not None else None
        features = self.head_hidden_size * self.global_pool.feat_mult()
        new = nn.Linear(features, num_classes) if num_classes else nn.Identity()
        if ref is not None:
            new = new.to(ref.device, ref.dtype)
        setattr(self, self.classifier_name, new)
        self.num_classes = num_classes
        return new

    # -- features ---------------------------------------------------------------------------
    @torch.jit.unused
    def set_feature_info(self, stem_channels, stem_reduction, stage_strides, pool_stride=1):
        """``feature_info`` as timm's, from what builds the stages (no forward pass): index 0
        the stem (``stem_channels`` at ``stem_reduction``), then each stage with its
        ``feature_channels`` entry, its reduction the stem's times ``pool_stride`` (a pool
        between the stem and stage 1) times the strides of the stages up to it; ``module``
        is the attribute path giving the map."""
        names = {id(m): name for name, m in self.named_modules()}
        reduction = stem_reduction * pool_stride
        info = [dict(num_chs=stem_channels, reduction=stem_reduction,
                     module=names[id(self.stem_layer())], index=0)]
        for i, (stage, channels, stride) in enumerate(zip(self.stage_layers(),
                                                          self.feature_channels,
                                                          stage_strides)):
            reduction *= stride
            info.append(dict(num_chs=channels, reduction=reduction, module=names[id(stage)],
                             index=i + 1))
        self.feature_info = info
        self.total_stride = reduction
        return info

    def stem_layer(self):
        """The module whose output is the stem's feature map (feature index 0)."""
        raise NotImplementedError

    @property
    def num_stages(self):
        return len(self.stage_layers())

    def _feature_maps(self, x, last):
        m = self.forward_stem(x)
        maps = [m]
        if last >= 1:
            x = self.pool_stem(m)
            for stage in self.stage_layers()[:last]:
                x = stage(x)
                maps.append(x)
        return maps

    @torch.jit.unused
    def forward_intermediates(self, x, indices=None, norm=False, stop_early=False,
                              output_fmt='NCHW', intermediates_only=False):
        """timm's ``forward_intermediates``: the maps of ``indices`` (into ``feature_info``,
        0 the stem; default all; an int n the last n; negative ones from the end) and,
        unless ``intermediates_only``, the last stage's map: ``(final, [maps])``.
        ``norm`` changes nothing (as for timm's ResNets, no final norm belongs to the
        stages); ``stop_early`` stops after the last map asked for."""
        if output_fmt != 'NCHW':
            raise ValueError("output_fmt=%r: the zoo's maps are NCHW" % (output_fmt,))
        self.check_input(x)
        picked, last = take_indices(self.num_stages + 1, indices, 'indices')
        maps = self._feature_maps(x, last if stop_early or intermediates_only
                                  else self.num_stages)
        intermediates = [maps[i] for i in picked]
        return intermediates if intermediates_only else (maps[-1], intermediates)

    @torch.jit.unused
    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        """timm's: the stages after the last of ``indices`` become ``nn.Identity`` and,
        with ``prune_head``, the pooling and classifier go (``reset_classifier(0, '')``).
        Returns the kept feature indices."""
        picked, last = take_indices(self.num_stages + 1, indices, 'indices')
        for info in self.feature_info[last + 1:]:
            self.set_submodule(info['module'], nn.Identity())
        if prune_head:
            self.reset_classifier(0, '')
        return picked

    @torch.jit.unused
    def group_matcher(self, coarse=False):
        """timm's layer grouping (for ``layer_decay``): the stem first, then each stage
        (each block of it unless ``coarse``), then the head."""
        stages = [info['module'] for info in self.feature_info[1:]]
        head = self.head_modules

        def group(name):
            for i, path in enumerate(stages):
                if name.startswith(path + '.'):
                    block = name[len(path) + 1:].split('.', 1)[0]
                    return (i + 1,) if coarse or not block.isdigit() else (i + 1, int(block))
            if any(name == h or name.startswith(h + '.') for h in head):
                return (math.inf,)
            return (0,)
        return group

    @torch.jit.unused
    def set_grad_checkpointing(self, enable=True):
        """Recompute each stage's activations in the backward pass instead of keeping
        them (timm's; eager and torch.compile, not TorchScript)."""
        self.grad_checkpointing = enable

    # -- contract and input -----------------------------------------------------------------
    @torch.jit.unused
    def check_contract(self):
        problems = []
        if len(self.feature_channels) != self.num_stages:
            problems.append('feature_channels has %d entries for %d stages'
                            % (len(self.feature_channels), self.num_stages))
        if len(getattr(self, 'feature_info', ())) != self.num_stages + 1:
            problems.append('feature_info is not set (set_feature_info)')
        if not isinstance(self.get_classifier(), (nn.Linear, nn.Conv2d, nn.Identity)):
            problems.append('classifier %r is not a Linear or 1x1 Conv2d' % self.classifier_name)
        if problems:
            raise TypeError('%s breaks the ZooNet contract: %s'
                            % (self.zoo_name, '; '.join(problems)))

    @torch.jit.unused
    def check_input(self, x):
        """ValueError for a batch this network cannot take (eager mode only: traced, exported
        and compiled graphs run without it)."""
        if not isinstance(x, torch.Tensor) or tracing_or_compiling():
            return
        if x.dim() != 4:
            raise ValueError('%s expects a batch of images shaped (N, %d, H, W), got shape %s; '
                             'add the batch axis with x.unsqueeze(0)'
                             % (self.zoo_name, self.input_channels, tuple(x.shape)))
        if x.shape[0] == 0:
            raise ValueError('%s got a batch of 0 images (input shape %s); give it at least one'
                             % (self.zoo_name, tuple(x.shape)))
        if x.shape[1] != self.input_channels:
            raise ValueError('%s expects %d input channels, got %d (input shape %s)%s'
                             % (self.zoo_name, self.input_channels, x.shape[1], tuple(x.shape),
                                '; images must be NCHW: x.permute(0, 3, 1, 2)'
                                if x.shape[3] == self.input_channels else ''))
        if not x.is_floating_point():
            raise ValueError('%s expects float input, got %s; scale pixels to [0, 1] and '
                             'normalise them (timm.data.create_transform)' % (self.zoo_name,
                                                                               x.dtype))
        weight = next(self.parameters(), None)
        if weight is not None and x.dtype != weight.dtype and not torch.is_autocast_enabled():
            raise ValueError('%s has %s weights and got a %s batch; convert one to the other '
                             '(x.to(%s), or net.to(%s))' % (self.zoo_name, weight.dtype, x.dtype,
                                                            weight.dtype, x.dtype))
        if min(x.shape[2:]) < self.total_stride:
            raise ValueError('%s needs inputs of at least %dx%d pixels (its total stride), got '
                             '%dx%d; it was trained at %dx%d'
                             % (self.zoo_name, self.total_stride, self.total_stride,
                                x.shape[2], x.shape[3], self.train_size, self.train_size))
