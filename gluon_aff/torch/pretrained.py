"""MXNet checkpoints in PyTorch: key mapping, loading with named mismatches, conversion.

The twin's modules carry the MXNet checkpoint's structural names, so the mapping is only
BatchNorm's: MXNet ``gamma``/``beta`` are PyTorch ``weight``/``bias`` (``running_mean`` and
``running_var`` keep their names). Files are read with ``gluon_aff.core.params_file`` (numpy
alone, no MXNet); float16 arrays (the released ImageNet files) are cast to the network's
dtype.
"""
import json
import logging
import os

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..core.model_info import class_names_of
from ..core.params_file import read_params, write_params
from ..core.released import CheckpointError, mismatch_error, resolve_pretrained

__all__ = ['mxnet_to_torch_key', 'torch_to_mxnet_key', 'state_dict_from_mxnet',
           'mxnet_arrays_from_state_dict', 'load_state', 'load_checkpoint', 'save_mxnet_params',
           'save_safetensors', 'read_checkpoint', 'checkpoint_metadata']

logger = logging.getLogger('gluon_aff')

_BN = {'gamma': 'weight', 'beta': 'bias'}
_BN_BACK = {'weight': 'gamma', 'bias': 'beta'}


def mxnet_to_torch_key(key, batchnorms):
    """``features.0.gamma`` -> ``features.0.weight``; ``batchnorms``: the module paths of the
    network's BatchNorms."""
    module, _, leaf = key.rpartition('.')
    return '%s.%s' % (module, _BN[leaf]) if module in batchnorms and leaf in _BN else key


def torch_to_mxnet_key(key, batchnorms):
    module, _, leaf = key.rpartition('.')
    return '%s.%s' % (module, _BN_BACK[leaf]) if module in batchnorms and leaf in _BN_BACK else key


def _batchnorms(net):
    return {name for name, m in net.named_modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}


def state_dict_from_mxnet(net, arrays):
    """The MXNet arrays (name -> numpy array) as a state dict of ``net``'s key names."""
    norms = _batchnorms(net)
    return {mxnet_to_torch_key(k, norms): torch.from_numpy(np.ascontiguousarray(v))
            for k, v in arrays.items()}


def mxnet_arrays_from_state_dict(net, state=None):
    """``net``'s state (or ``state``) as MXNet checkpoint arrays (name -> numpy array),
    without PyTorch's ``num_batches_tracked``."""
    norms = _batchnorms(net)
    state = net.state_dict() if state is None else state
    return {torch_to_mxnet_key(k, norms): v.detach().cpu().numpy()
            for k, v in state.items() if not k.endswith('num_batches_tracked')}


def read_checkpoint(path):
    """A file as a dict of tensors or arrays: an MXNet ``.params`` (by its magic number), a
    ``.safetensors``, or a ``torch.save``d state dict. Returns ``(arrays, is_mxnet)``; a
    file that is none of these, or cut short, is a ``CheckpointError`` naming it."""
    if not os.path.isfile(path):
        raise CheckpointError("checkpoint '%s' does not exist" % path)
    with open(path, 'rb') as f:
        head = f.read(8)
    if head[:8] == (0x112).to_bytes(8, 'little'):
        return read_params(path), True
    if path.endswith('.safetensors'):
        try:
            return load_file(path), False
        except Exception as e:
            raise CheckpointError(
                "cannot read '%s' as a .safetensors file (%s: %s); it is cut short or not "
                'one: write it again (it is never half-written by gluon-aff, so copy it '
                'again from where it came)' % (path, type(e).__name__, str(e).splitlines()[0]
                                               if str(e) else '')) from None
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise CheckpointError("cannot read '%s': it is neither an MXNet .params file, a "
                              '.safetensors file nor a PyTorch state dict (%s)'
                              % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    if not isinstance(state, dict):
        raise CheckpointError("'%s' holds a %s, not a state dict" % (path, type(state).__name__))
    return state.get('state_dict', state), False


def checkpoint_metadata(path):
    """What a ``.safetensors`` file written by gluon-aff says about itself: ``model``,
    ``class_names`` (list), ``model_args`` (dict) and the rest as strings; {} for other
    files."""
    if not (isinstance(path, str) and path.endswith('.safetensors') and os.path.isfile(path)):
        return {}
    try:
        with safe_open(path, 'pt') as f:
            meta = dict(f.metadata() or {})
    except Exception:
        return {}           # read_checkpoint names what is wrong with it
    for key in ('class_names', 'model_args'):
        if key in meta:
            try:
                meta[key] = json.loads(meta[key])
            except ValueError:
                del meta[key]
    return meta


def load_state(net, state, source='checkpoint'):
    """Load a state dict (PyTorch key names) into ``net`` with the MXNet side's rules:
    dtypes are cast; when only the classifier's size differs, everything else is loaded
    and the classifier keeps its fresh initialisation (a warning says so); any other
    difference raises ``CheckpointMismatchError`` naming the missing, unexpected and
    mis-shaped keys."""
    expected = {k: v for k, v in net.state_dict().items() if not k.endswith('num_batches_tracked')}
    state = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    classifier = [name for name, m in net.named_modules() if m is net.get_classifier()][0]
    head = ['%s.weight' % classifier, '%s.bias' % classifier]
    skip = set()
    if all(k in state and k in expected for k in head) and any(
            tuple(state[k].shape) != tuple(expected[k].shape) for k in head):
        skip = set(head)
    missing = [k for k in expected if k not in state and k not in skip]
    unexpected = [k for k in state if k not in expected]
    misshaped = ['%s (file %s, network %s)' % (k, tuple(state[k].shape), tuple(expected[k].shape))
                 for k in expected if k in state and k not in skip
                 and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or misshaped:
        raise mismatch_error(source, getattr(net, 'zoo_name', type(net).__name__), missing,
                             unexpected, misshaped, len(expected))
    with torch.no_grad():
        params = dict(net.named_parameters())
        params.update(net.named_buffers())
        for key, target in params.items():
            if key in state and key not in skip:
                target.copy_(torch.as_tensor(state[key]).to(target.dtype))
    if skip:
        logger.warning('%s: loaded everything but the classifier (%s has %d classes, the '
                       'network %d); the classifier keeps its fresh initialisation.',
                       getattr(net, 'zoo_name', type(net).__name__), source,
                       state[head[0]].shape[0], expected[head[0]].shape[0])
    return net


def load_checkpoint(net, name, pretrained, root=None):
    """``pretrained`` (True, a tag or label set, a path, or a state dict) into the zoo
    network ``net``; ``net.class_names`` are the released file's or the ``.safetensors``
    metadata's class names (None where unknown)."""
    if isinstance(pretrained, dict):
        load_state(net, pretrained, source='the state dict')
        return net
    path, ckpt = resolve_pretrained(name, pretrained, root=root)
    arrays, is_mxnet = read_checkpoint(path)
    state = state_dict_from_mxnet(net, arrays) if is_mxnet else arrays
    load_state(net, state, source=path)
    names = checkpoint_metadata(path).get('class_names')
    if ckpt is not None:
        names = class_names_of(ckpt.labels)
    net.class_names = names if names and len(names) <= net.num_classes else None
    if ckpt is not None:
        net.checkpoint = ckpt
        if ckpt.labels == 'coarse':
            logger.warning('%s: loaded %s, trained on the 20 CIFAR-100 superclass labels; '
                           'only outputs 0-19 of its 100-way head are meaningful.',
                           name, ckpt.file)
    return net


def save_mxnet_params(net, path):
    """Write ``net``'s weights as an MXNet ``.params`` file (what ``save_parameters`` writes)."""
    write_params(path, mxnet_arrays_from_state_dict(net))
    return path


def save_safetensors(net, path, metadata=None, model=None, class_names=None,
                     model_args=None, source=None):
    """Write ``net``'s state dict (PyTorch key names) as ``.safetensors``, with ``model``
    (its zoo name, default ``net.zoo_name``), ``class_names``, ``model_args`` (the build
    arguments it needs besides the name's) and ``source`` in the file's metadata, so that
    ``get_model(model, pretrained=path)`` builds the right head."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    meta['model'] = model or getattr(net, 'zoo_name', type(net).__name__)
    if class_names is not None:
        meta['class_names'] = json.dumps(list(class_names))
    if model_args:
        meta['model_args'] = json.dumps(model_args)
    if source:
        meta['source'] = str(source)
    save_file(state, path, metadata=meta)
    return path
