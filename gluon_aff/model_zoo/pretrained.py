"""Released checkpoints loaded into the MXNet zoo, with clear errors.

Which files were released, where they come from and how they are verified is
``gluon_aff.core.released`` (shared with the PyTorch twin); this module reads a file with MXNet
and fits it to a network.
"""
import logging
import os

import mxnet as mx

from ..core.released import (BASE_URL_ENV, CHECKPOINTS, DEFAULT_BASE_URL, Checkpoint,  # noqa: F401
                        CheckpointError, CheckpointMismatchError, ChecksumError, DownloadError,
                        checkpoints_for, download, fetch_checkpoint, git_blob_id,
                        mismatch_error, model_root, resolve_pretrained,
                        select_checkpoint)

__all__ = ['Checkpoint', 'CHECKPOINTS', 'checkpoints_for', 'select_checkpoint',
           'model_root', 'git_blob_id', 'fetch_checkpoint', 'download', 'read_params',
           'load_params', 'load_pretrained', 'CheckpointError', 'CheckpointMismatchError',
           'ChecksumError', 'DownloadError', 'BASE_URL_ENV']

logger = logging.getLogger('gluon_aff')


def read_params(path):
    """Load a .params file as a dict of NDArrays, with a clear error if it is unreadable."""
    if not os.path.isfile(path):
        raise CheckpointError("params file '%s' does not exist" % path)
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError:
        # MXNet's message is a C++ check; the format's own reader says what is wrong
        from ..core.params_file import ParamsFileError, read_params as read_format
        try:
            read_format(path)
            reason = 'MXNet cannot load it'
        except ParamsFileError as e:
            reason = str(e)
        raise CheckpointError(
            "cannot read '%s' (%d bytes): it is truncated or not an MXNet .params file "
            "(%s). Download or save it again." % (path, os.path.getsize(path), reason)) from None
    if not isinstance(loaded, dict):
        raise CheckpointError("'%s' holds a list of arrays, not named parameters; save it "
                              "with net.save_parameters()." % path)
    # Files written by HybridBlock.export prefix names with 'arg:'/'aux:'.
    return {k.split(':', 1)[1] if k[:4] in ('arg:', 'aux:') else k: v
            for k, v in loaded.items()}


def _fits(net_shape, file_shape):
    return len(net_shape) == len(file_shape) and all(
        n in (0, f) for n, f in zip(net_shape, file_shape))


def load_params(net, params, ctx=None, source=None):
    """Load a file (path) or dict of arrays into ``net``, casting dtypes (float16
    checkpoints into a float32 network).

    If only the classifier's size differs (a checkpoint trained with other
    classes), everything else is loaded and the classifier re-initialised.
    Any other difference raises one ``CheckpointMismatchError`` naming the
    missing, unexpected and mis-shaped keys.
    """
    if isinstance(params, str):
        source = source or params
        params = read_params(params)
    source = source or 'checkpoint'
    ctx = ctx or mx.cpu()
    expected = net._collect_params_with_prefix()
    skip = set()
    classifier = getattr(net, 'classifier_keys', lambda: [])()
    if classifier and all(k in params and k in expected for k in classifier) and not all(
            _fits(expected[k].shape, params[k].shape) for k in classifier):
        skip = set(classifier)
    missing = [k for k in expected if k not in params and k not in skip]
    unexpected = [k for k in params if k not in expected]
    misshaped = ['%s (file %s, network %s)' % (k, tuple(params[k].shape), expected[k].shape)
                 for k in expected if k in params and k not in skip
                 and not _fits(expected[k].shape, params[k].shape)]
    if missing or unexpected or misshaped:
        raise mismatch_error(source, getattr(net, 'zoo_name', type(net).__name__), missing,
                             unexpected, misshaped, len(expected))
    for key, param in expected.items():
        if key not in skip:
            param._load_init(params[key], ctx, cast_dtype=True, dtype_source='current')
    if skip:
        net.classifier.initialize(mx.init.Xavier(), ctx=ctx, force_reinit=True)
        logger.warning('%s: loaded everything but the classifier (%s has %d classes, the '
                       'network %d); the classifier was re-initialised.',
                       getattr(net, 'zoo_name', type(net).__name__), source,
                       params[classifier[0]].shape[0], expected[classifier[0]].shape[0])
    net._clear_cached_op()
    return net


def load_pretrained(net, model, pretrained, ctx=None, root=None):
    """Load ``pretrained`` (True, a label set name, or a path) into the zoo network."""
    path, ckpt = resolve_pretrained(model, pretrained, root=root)
    load_params(net, path, ctx=ctx)
    if ckpt is None:
        return net
    if ckpt.labels == 'coarse':
        logger.warning('%s: loaded %s, trained on the 20 CIFAR-100 superclass labels; only '
                       'outputs 0-19 of its 100-way head are meaningful.', model, ckpt.file)
    net.checkpoint = ckpt
    return net
