"""What every network of the PyTorch twin shares: the zoo's contract in timm's terms."""
import torch
from torch import nn

__all__ = ['ZooNet', 'deep_stem_layers']


def deep_stem_layers(width, out_channels, stride, norm, in_channels=3):
    """3x3 (stride) -> width, norm, ReLU, 3x3 -> width, norm, ReLU, 3x3 -> out_channels:
    the layers of a deep stem, at the MXNet side's sequential indices."""
    return [nn.Conv2d(in_channels, width, 3, stride, 1, bias=False), norm(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), norm(width), nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, 1, 1, bias=False)]


class ZooNet(nn.Module):
    """Base of the twin's networks, with the MXNet ``ZooNet``'s contract.

    A family provides ``_stem(x)``, ``_stages()`` (the stage modules in order),
    ``head_map(x)`` (what the classifier pools: the last stage's output, or a final
    norm/activation of it) and ``classify_map(m)`` (pooling, dropout, classifier), and sets
    ``feature_channels``, ``total_stride`` and ``classifier_name``. Every network then has
    timm's interface: ``forward_features`` (the last stage's map, before ``head_map``),
    ``forward_head(x, pre_logits=False)``, ``forward_intermediates``, ``feature_info``,
    ``get_classifier``/``reset_classifier``, ``num_classes``, and ``out_stages``
    (1-based stages returned instead of logits, the MXNet side's ``features_only``).
    """
    classifier_name = 'fc'
    input_channels = 3
    train_size = 224

    def __init__(self, out_stages=None):
        super().__init__()
        self.zoo_name = type(self).__name__
        self.feature_channels = ()
        self.total_stride = 1
        self.out_stages = tuple(out_stages) if out_stages else None

    # -- provided by the families -------------------------------------------------------
    def _stem(self, x):
        raise NotImplementedError

    def _stages(self):
        raise NotImplementedError

    def head_map(self, x):
        return x

    def classify_map(self, m, pre_logits=False):
        raise NotImplementedError

    # -- contract -------------------------------------------------------------------------
    @property
    def num_stages(self):
        return len(self._stages())

    def check_contract(self):
        problems = []
        if len(self.feature_channels) != self.num_stages:
            problems.append('feature_channels has %d entries for %d stages'
                            % (len(self.feature_channels), self.num_stages))
        if self.total_stride < 1:
            problems.append('total_stride is not set')
        if not isinstance(self.get_classifier(), (nn.Linear, nn.Conv2d)):
            problems.append('classifier %r is not a Linear or 1x1 Conv2d' % self.classifier_name)
        if problems:
            raise TypeError('%s breaks the ZooNet contract: %s'
                            % (self.zoo_name, '; '.join(problems)))

    @property
    def feature_info(self):
        """Per stage, as timm's: ``num_chs``, ``reduction`` (input side / map side at the
        training size), ``module`` (attribute path), ``index`` (1-based)."""
        names = {id(m): name for name, m in self.named_modules()}
        size = max(self.train_size, self.total_stride)
        with torch.no_grad():
            was = self.training
            self.eval()
            try:
                shapes = [o.shape for o in self._stage_outputs(
                    torch.zeros(1, self.input_channels, size, size), self.num_stages)]
            finally:
                self.train(was)
        return [dict(num_chs=c, reduction=size // s[2], module=names.get(id(stage), ''),
                     index=i + 1)
                for i, (c, s, stage) in enumerate(zip(self.feature_channels, shapes,
                                                      self._stages()))]

    def set_out_stages(self, stages):
        """Return these stages' maps (1-based, ``'all'``) instead of logits; None: logits."""
        if stages == 'all':
            stages = range(1, self.num_stages + 1)
        self.out_stages = self._check_stages(tuple(stages)) if stages else None
        return self

    def _check_stages(self, stages):
        n = self.num_stages
        if not stages or any(not isinstance(s, int) or not 1 <= s <= n for s in stages):
            raise ValueError('out_stages must be stage numbers between 1 and %d, got %r'
                             % (n, tuple(stages)))
        return tuple(stages)

    # -- forward --------------------------------------------------------------------------
    def check_input(self, x):
        if torch.jit.is_tracing() or torch.compiler.is_compiling():
            return
        if x.dim() != 4:
            raise ValueError('%s expects a batch of images shaped (N, %d, H, W), got shape %s; '
                             'add the batch axis with x.unsqueeze(0)'
                             % (self.zoo_name, self.input_channels, tuple(x.shape)))
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

    def _stage_outputs(self, x, last):
        x = self._stem(x)
        outs = []
        for stage in self._stages()[:last]:
            x = stage(x)
            outs.append(x)
        return outs

    def forward_features(self, x):
        """The last stage's feature map (timm's ``forward_features``)."""
        self.check_input(x)
        return self._stage_outputs(x, self.num_stages)[-1]

    def forward_head(self, x, pre_logits=False):
        """Logits (or the pooled features, ``pre_logits``) from ``forward_features``' map."""
        return self.classify_map(self.head_map(x), pre_logits=pre_logits)

    def forward_intermediates(self, x, indices=None, norm=False, stop_early=False,
                              output_fmt='NCHW', intermediates_only=False):
        """timm's ``forward_intermediates``: the maps of the stages ``indices`` (0-based;
        an int n takes the last n), then, unless ``intermediates_only``, the final map."""
        self.check_input(x)
        n = self.num_stages
        if indices is None:
            picked = list(range(n))
        elif isinstance(indices, int):
            picked = list(range(n - indices, n))
        else:
            picked = [i % n for i in indices]
        outs = self._stage_outputs(x, max(picked) + 1 if stop_early or intermediates_only
                                   else n)
        intermediates = [outs[i] for i in picked]
        if intermediates_only:
            return intermediates
        return outs[-1], intermediates

    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        """timm's hook for ``features_only``: nothing is removed (the checkpoint keys stay
        whole); returns the kept stage indices."""
        n = self.num_stages
        return list(range(n - indices, n)) if isinstance(indices, int) else [i % n for i in indices]

    def forward(self, x):
        if self.out_stages:
            self.check_input(x)
            outs = self._stage_outputs(x, max(self.out_stages))
            picked = [outs[i - 1] for i in self.out_stages]
            return picked[0] if len(picked) == 1 else tuple(picked)
        return self.forward_head(self.forward_features(x))

    # -- classifier -----------------------------------------------------------------------
    def get_classifier(self):
        layer = getattr(self, self.classifier_name)
        return layer[-1] if isinstance(layer, nn.Sequential) else layer

    @property
    def num_classes(self):
        return self.get_classifier().out_features if isinstance(
            self.get_classifier(), nn.Linear) else self.get_classifier().out_channels

    classes = num_classes

    def reset_classifier(self, num_classes, global_pool=None):
        """A fresh classifier with ``num_classes`` outputs, of the same kind and key."""
        old = self.get_classifier()
        if isinstance(old, nn.Linear):
            new = nn.Linear(old.in_features, num_classes)
        else:
            new = nn.Conv2d(old.in_channels, num_classes, 1)
        new.to(old.weight.device, old.weight.dtype)
        holder = getattr(self, self.classifier_name)
        if isinstance(holder, nn.Sequential):
            holder[len(holder) - 1] = new
        else:
            setattr(self, self.classifier_name, new)
        return new
