"""The released weights as torchvision's weights describe theirs: one ``Weights`` per
released file (``iaff_resnet50.in1k``, ``cifar_aff_resnet32.cifar100_coarse`` ...) with its
url, the evaluation transform, and metadata: accuracy and label set, multiply-adds,
parameters, file size, categories, preprocessing.

    from gluon_aff.torch import get_weights
    w = get_weights('iaff_resnet50')[0]          # or get_weights('iaff_resnet50.in1k')
    w.meta['metrics'], w.meta['macs_g'], w.meta['num_params'], w.meta['file_size_mb']
    net = gluon_aff.torch.get_model(w.model, pretrained=w.tag).eval()
    x = w.transforms()('photo.jpg').unsqueeze(0)
"""
import dataclasses
import os
import tempfile

import numpy as np
import torch

from ..core.model_info import class_names_of
from ..core.params_file import write_params
from ..core.released import DEFAULT_BASE_URL, TAGS, checkpoints_for
from ..core.zoo import get_model_info
from .pretrained import mxnet_arrays_from_state_dict
from .registry import get_model
from .summary import count_layers, totals
from .transforms import eval_transform

__all__ = ['Weights', 'get_weights', 'measure_checkpoint']


@dataclasses.dataclass(frozen=True)
class Weights:
    """One released file of a zoo name: ``name`` (``model.tag``), ``model``, ``tag``,
    ``url``, ``checkpoint`` (``gluon_aff.core.released.Checkpoint``) and ``meta``."""
    name: str
    model: str
    tag: str
    url: str
    checkpoint: object
    meta: dict

    def transforms(self):
        """The evaluation transform (image -> 3 x S x S tensor), pixel for pixel the MXNet
        side's (``gluon_aff.torch.eval_transform``)."""
        return eval_transform(self.model)

    def get_state_dict(self, root=None):
        """The file's weights under the twin's key names (downloaded and verified first)."""
        return get_model(self.model, pretrained=self.tag, root=root).state_dict()


def _weights(ckpt):
    info = get_model_info(ckpt.model)
    tag = TAGS[ckpt.labels]
    metric = {'top1_err': 'top1_err', 'accuracy': 'acc@1'}.get(ckpt.metric, ckpt.metric)
    meta = dict(
        label_set=ckpt.labels, categories=class_names_of(ckpt.labels),
        metrics={metric: ckpt.value}, paper=ckpt.paper,
        num_params=ckpt.num_params, macs_g=round(ckpt.macs / 1e9, 3),
        file_size_mb=round(ckpt.file_size / 2 ** 20, 2), file_size=ckpt.file_size,
        input_size=info.input_size, crop_pct=info.crop_ratio,
        interpolation=info.interpolation, mean=info.mean, std=info.std,
        original_file=ckpt.file, git_blob_id=ckpt.git_blob_id, head_classes=ckpt.head_classes,
        dtypes=ckpt.dtype, recipe='https://github.com/YimianDai/open-aff')
    return Weights(name='%s.%s' % (ckpt.model, tag), model=ckpt.model, tag=tag,
                   url=DEFAULT_BASE_URL + ckpt.path, checkpoint=ckpt, meta=meta)


def get_weights(name):
    """The ``Weights`` of a zoo name (default first; [] without released files), or of
    one ``name.tag``."""
    info = get_model_info(name)
    found = [_weights(c) for c in checkpoints_for(info.name)]
    order = {t: i for i, t in enumerate(info.pretrained_tags)}
    found.sort(key=lambda w: order[w.tag])
    if '.' in name:
        tag = name.split('.', 1)[1]
        picked = [w for w in found if w.tag == tag]
        if not picked:
            raise ValueError("%s has no pretrained tag '%s'; its tags: %s"
                             % (info.name, tag, ', '.join(w.tag for w in found) or 'none'))
        return picked
    return found


def measure_checkpoint(ckpt):
    """What a released file's metadata says, measured on the twin: trainable parameters
    and multiply-adds of the network with the file's head, and the size of the ``.params``
    file MXNet writes for its arrays at their stored dtypes."""


    info = get_model_info(ckpt.model)
    net = get_model(ckpt.model, classes=ckpt.head_classes)
    size = info.input_size
    macs = totals(count_layers(net, (1, 3, size, size)))['macs']
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    norms = {name for name, m in net.named_modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    arrays = {}
    for key, value in mxnet_arrays_from_state_dict(net).items():
        stored = ckpt.dtype['batchnorm'] if key.rsplit('.', 1)[0] in norms \
            else ckpt.dtype['conv_dense']
        arrays[key] = value.astype(np.dtype(stored))
    fd, path = tempfile.mkstemp(suffix='.params')
    os.close(fd)
    try:
        write_params(path, arrays)
        file_size = os.path.getsize(path)
    finally:
        os.remove(path)
    return dict(num_params=params, macs=macs, file_size=file_size)
