"""The fusion blocks in ultralytics model YAMLs: after ``register()``, ``AFF``, ``iAFF``
and ``MSCAM`` are layer names of a model YAML, fusing where ``Concat`` stands::

    - [[-1, 6], 1, AFF, []]      # two inputs; out: the first input's channels
    - [-1, 1, MSCAM, []]         # one input, reweighted
    - [[-1, 4], 1, iAFF, [8]]    # optional argument: r (default 4)

The first input is the map of the wider receptive field (the upsampled one in a
top-down path); the second is projected to its channels (1x1 convolution + BatchNorm) and
resized to its size (nearest) where they differ. The blocks are built on the first
forward pass (``DetectionModel`` runs one while it builds, to find its strides), when the
inputs' channels are known. Tested with ultralytics 8.4.190.

How: ultralytics' ``parse_model`` knows the output channels of the layers it lists and
fails on a layer of two inputs it does not know; ``register()`` wraps it so that each
fusion row is parsed as a row whose output has its first input's channels (``CBFuse``
with the inputs reversed: ``c2 = ch[f[-1]]``), then put back as the fusion layer, taking
its inputs in the row's order."""
import copy
import functools

import torch
from torch import nn

from ..fusion import AFF, IAFF, MSCAM

__all__ = ['register', 'AFFLayer', 'IAFFLayer', 'MSCAMLayer', 'YAMLFusion', 'YAML_LAYERS']


class YAMLFusion(nn.Module):
    """A fusion layer of a model YAML, built on its first input: ``block`` is
    ``AFF``/``IAFF`` (channels of the first input, the second projected and resized)
    or ``MSCAM`` (one input)."""

    kind = None         # the block class
    layer_name = None   # the name model YAMLs give it

    def __init__(self, r=4):
        super().__init__()
        self.r = int(r)
        self.block = None

    def _build(self, x):
        if self.kind is MSCAM:
            if not isinstance(x, torch.Tensor):
                raise ValueError('MSCAM takes one input (from: an int), got %d' % len(x))
            block = MSCAM(x.shape[1], self.r)
            ref = x
        else:
            if isinstance(x, torch.Tensor) or len(x) != 2:
                raise ValueError('%s takes two inputs (from: [a, b]), got %s' % (
                    self.layer_name, 'one' if isinstance(x, torch.Tensor) else len(x)))
            c0, c1 = int(x[0].shape[1]), int(x[1].shape[1])
            block = self.kind(c0, self.r, in_channels=(c0, c1), resize='nearest')
            ref = x[0]
        self.block = block.to(ref.device, ref.dtype).train(self.training)

    def forward(self, x):
        if self.block is None:
            self._build(x)
        return self.block(x)


# module-level classes, so that the whole model pickles (ultralytics' trainer saves
# checkpoints with torch.save of the model) and unpickles without register()
class AFFLayer(YAMLFusion):
    """``AFF`` in a model YAML: two inputs, the first's channels out."""
    kind, layer_name = AFF, 'AFF'


class IAFFLayer(YAMLFusion):
    """``iAFF`` in a model YAML: two inputs, the first's channels out."""
    kind, layer_name = IAFF, 'iAFF'


class MSCAMLayer(YAMLFusion):
    """``MSCAM`` in a model YAML: one input, reweighted."""
    kind, layer_name = MSCAM, 'MSCAM'


YAML_LAYERS = {layer.layer_name: layer for layer in (AFFLayer, IAFFLayer, MSCAMLayer)}


def _parse_model(original, d, ch, verbose=True):
    rows = {}
    d = copy.deepcopy(d)
    for section in ('backbone', 'head'):
        for j, row in enumerate(d.get(section, [])):
            f, n, m, args = row
            if m not in YAML_LAYERS:
                continue
            i = len(d['backbone']) + j if section == 'head' else j
            arity = 1 if m == 'MSCAM' else 2
            if (1 if isinstance(f, int) else len(f)) != arity:
                raise ValueError('model YAML row %d (%s): %s takes %s, got from: %s' % (
                    i, section, m, 'one input (from: an int)' if arity == 1 else
                    'two inputs (from: [a, b])', f))
            if arity == 2:
                rows[i] = (list(f), m, args)
                d[section][j] = [list(f)[::-1], 1, 'CBFuse', [[]]]
    model, save = original(d, ch, verbose)
    for i, (f, m, args) in rows.items():
        layer = YAML_LAYERS[m](*args)
        layer.i, layer.f, layer.np = i, f, 0
        model[i] = layer
    for layer in model:         # the one-input rows, parsed by ultralytics, named as written
        if isinstance(layer, YAMLFusion):
            layer.type = layer.layer_name
    return model, save


def register():
    """Make ``AFF``, ``iAFF`` and ``MSCAM`` layer names of ultralytics model YAMLs (for
    ``DetectionModel(yaml)``, ``YOLO(yaml)``...). Idempotent."""
    try:
        from ultralytics.nn import tasks
    except ImportError as e:
        raise ImportError('register() needs ultralytics: pip install ultralytics (tested '
                          'with 8.4.190)') from e
    tasks.__dict__.update(YAML_LAYERS)
    if not getattr(tasks.parse_model, 'gluon_aff', False):
        wrapped = functools.partial(_parse_model, tasks.parse_model)
        wrapped = functools.wraps(tasks.parse_model)(wrapped)
        wrapped.gluon_aff = True
        tasks.parse_model = wrapped
