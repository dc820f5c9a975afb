"""The checkpoints the authors released: their table, and a verified download.

Read by both frameworks' zoos (``gluon_aff.model_zoo`` for MXNet, ``gluon_aff.torch`` for
PyTorch) and needing neither. The table is the data file ``released.json`` beside this
module. A file is identified by its git blob id (SHA-1 of ``b"blob <size>\\0" + content``),
the id under which the original repository stores it.
"""
import hashlib
import json
import logging
import os
import sys
import tempfile
from collections import OrderedDict, namedtuple

__all__ = ['Checkpoint', 'CHECKPOINTS', 'TAGS', 'LABEL_SETS', 'DEFAULT_BASE_URL', 'BASE_URL_ENV', 'checkpoints_for',
           'select_checkpoint', 'resolve_pretrained', 'model_root', 'git_blob_id', 'download',
           'fetch_checkpoint', 'CheckpointError', 'CheckpointMismatchError', 'ChecksumError',
           'DownloadError', 'listing', 'mismatch_error']

logger = logging.getLogger('gluon_aff')

BASE_URL_ENV = 'GLUON_AFF_REPO_URL'

Checkpoint = namedtuple('Checkpoint', [
    'model', 'file', 'path', 'git_blob_id', 'dtype', 'labels', 'head_classes',
    'label_classes', 'metric', 'value', 'input_size', 'paper', 'num_params', 'macs',
    'file_size'])
Checkpoint.__new__.__defaults__ = (None, None, None)
Checkpoint.__doc__ = """One released file: zoo ``model``, original ``file`` name and
``path`` under the repository's params/, ``git_blob_id``, array ``dtype``s, label set
(``imagenet``, ``fine`` = 100 CIFAR-100 classes, ``coarse`` = 20 superclasses on a
100-way head), the ``metric`` and ``value`` in its file name, the ``paper``'s figure; the
network's trainable parameters and multiply-adds at ``input_size``, and the file's size in
bytes (``gluon_aff.torch.weights.measure_checkpoint`` measures them again)."""


def _load_registry():
    with open(os.path.join(os.path.dirname(__file__), 'released.json')) as f:
        doc = json.load(f)
    return doc['base_url'], [Checkpoint(**entry) for entry in doc['checkpoints']]


DEFAULT_BASE_URL, CHECKPOINTS = _load_registry()


class CheckpointError(Exception):
    """A checkpoint could not be found, fetched, verified or loaded."""


class CheckpointMismatchError(CheckpointError, ValueError):
    """The file's keys or shapes do not fit the network."""


class ChecksumError(CheckpointError):
    """A downloaded or cached file is not the released one."""


class DownloadError(CheckpointError, IOError):
    """The download failed or was cut short; ``offline`` when the host was unreachable."""
    offline = False


# label set of a released file -> its pretrained tag (timm's ``name.tag``)
TAGS = OrderedDict([('imagenet', 'in1k'), ('fine', 'cifar100'), ('coarse', 'cifar100_coarse')])
LABEL_SETS = {tag: labels for labels, tag in TAGS.items()}


def checkpoints_for(model):
    return [c for c in CHECKPOINTS if c.model == model]


def select_checkpoint(model, which=True):
    """The released checkpoint of ``model``: ``True`` = default (fine labels where a
    fine-label file exists), a label set (``'fine'``/``'coarse'``/``'imagenet'``) or its
    tag (``'cifar100'``/``'cifar100_coarse'``/``'in1k'``)."""
    which = LABEL_SETS.get(which, which)
    found = checkpoints_for(model)
    if not found:
        with_files = sorted({c.model for c in CHECKPOINTS})
        raise CheckpointError(
            "no released checkpoint for '%s'; released ones exist for %s. Pass "
            "pretrained=PATH to load a file of your own." % (model, ', '.join(with_files)))
    if which is True:
        order = {'imagenet': 0, 'fine': 1, 'coarse': 2}
        return min(found, key=lambda c: order[c.labels])
    for c in found:
        if c.labels == which:
            return c
    raise CheckpointError("'%s' has no '%s' checkpoint; it has: %s" % (
        model, which, ', '.join('%s (%s)' % (c.labels, c.file) for c in found)))


def model_root(root=None):
    """Folder of released checkpoints: ``root``, else ``$MXNET_HOME/models``, else
    ``~/.mxnet/models`` (gluoncv's convention)."""
    if root is None:
        home = os.environ.get('MXNET_HOME')
        root = os.path.join(home, 'models') if home else os.path.join('~', '.mxnet', 'models')
    return os.path.expanduser(root)


def git_blob_id(path):
    """SHA-1 of ``b"blob <size>\\0" + content``, as ``git hash-object`` prints."""
    sha = hashlib.sha1(b'blob %d\0' % os.path.getsize(path))
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            sha.update(chunk)
    return sha.hexdigest()


def download(url, dest, git_blob=None, progress=True, timeout=60):
    """Download ``url`` to ``dest`` through a temporary file in the same folder.

    The file appears under ``dest`` only once it is complete and, when
    ``git_blob`` is given, its blob id matches; otherwise nothing is left behind.
    """
    import requests
    from tqdm import tqdm
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(dest) + '.', suffix='.part')
    try:
        with os.fdopen(fd, 'wb') as out:
            try:
                with requests.get(url, stream=True, timeout=timeout) as resp:
                    resp.raise_for_status()
                    total = int(resp.headers.get('content-length') or 0) or None
                    with tqdm(total=total, unit='B', unit_scale=True,
                              disable=not (progress and sys.stderr.isatty()),
                              desc=os.path.basename(dest)[:40]) as bar:
                        for chunk in resp.iter_content(chunk_size=1 << 20):
                            out.write(chunk)
                            bar.update(len(chunk))
            except requests.RequestException as e:
                error = DownloadError('download of %s failed: %s. Nothing was kept; try again, '
                                      'or put the file in %s yourself.' % (url, e, folder))
                # no route to the host (no network, DNS, refused, timeout), not an HTTP error
                error.offline = isinstance(e, (requests.ConnectionError, requests.Timeout))
                raise error
        size = os.path.getsize(tmp)
        if total is not None and size != total:
            raise DownloadError('download of %s stopped after %d of %d bytes. Nothing was '
                                'kept; try again.' % (url, size, total))
        if git_blob is not None:
            actual = git_blob_id(tmp)
            if actual != git_blob:
                raise ChecksumError(
                    'the file downloaded from %s has git blob id %s, not the released %s; '
                    'it was not kept. Check %s (or the URL) and try again.'
                    % (url, actual, git_blob, BASE_URL_ENV))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def fetch_checkpoint(ckpt, root=None, base_url=None, progress=True):
    """Path of the released file ``ckpt`` under ``root``, downloading it if absent.

    A file already there is verified by its blob id and refused if it differs.
    The base address is ``base_url``, else ``$GLUON_AFF_REPO_URL``, else the
    original repository's raw address.
    """
    root = model_root(root)
    path = os.path.join(root, ckpt.file)
    if os.path.exists(path):
        actual = git_blob_id(path)
        if actual != ckpt.git_blob_id:
            raise ChecksumError(
                '%s is not the released file: git blob id %s, expected %s. Delete it to '
                'download it again.' % (path, actual, ckpt.git_blob_id))
        return path
    base = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    url = base.rstrip('/') + '/' + ckpt.path
    logger.info('downloading %s to %s', url, path)
    return download(url, path, git_blob=ckpt.git_blob_id, progress=progress)



def listing(title, items, limit=6):
    items = list(items)
    shown = ', '.join(items[:limit]) + (', ... (%d more)' % (len(items) - limit)
                                       if len(items) > limit else '')
    return '%s (%d): %s' % (title, len(items), shown)

def resolve_pretrained(model, pretrained, root=None):
    """``(path, checkpoint)`` for a zoo network's ``pretrained=`` argument: True or a label
    set (``'fine'``, ``'coarse'``, ``'imagenet'``) fetches the released file (checkpoint is
    its ``Checkpoint``); a path is taken as it is (checkpoint None), but refused when it has
    a released file's name and not its content."""
    if isinstance(pretrained, str) and pretrained not in TAGS and pretrained not in LABEL_SETS:
        path = os.path.expanduser(pretrained)
        if not os.path.exists(path):
            raise CheckpointError(
                "pretrained='%s' is neither an existing file nor a label set; use True, a tag "
                "('in1k', 'cifar100', 'cifar100_coarse'), a label set ('fine', 'coarse') or "
                'the path of a checkpoint' % pretrained)
        released = [c for c in CHECKPOINTS if c.file == os.path.basename(path)]
        if released and git_blob_id(path) != released[0].git_blob_id:
            raise ChecksumError(
                '%s has the name of a released checkpoint but not its content (git blob '
                'id %s expected); download it again.' % (path, released[0].git_blob_id))
        return path, None
    ckpt = select_checkpoint(model, pretrained)
    return fetch_checkpoint(ckpt, root=root), ckpt


def mismatch_error(source, network, missing, unexpected, misshaped, total):
    """The ``CheckpointMismatchError`` of a file that does not fit a network of ``total``
    keys: the missing, unexpected and mis-shaped keys, and which network to build."""
    lines = ['%s does not fit %s:' % (source, network)]
    if missing:
        lines.append('  ' + listing('missing from the file', missing))
    if unexpected:
        lines.append('  ' + listing('in the file but not in the network', unexpected))
    if misshaped:
        lines.append('  ' + listing('different shapes', misshaped, limit=4))
    matched = total - len(missing)
    if matched < total // 2:
        lines.append('  Only %d of the network\'s %d keys are in the file: it was saved '
                     'from another architecture (e.g. a CIFAR network vs an ImageNet '
                     'one). Build the network the file was saved from.' % (matched, total))
    else:
        lines.append('  Build the network with the arguments used for training '
                     '(blocks, channel_times, start_layer, r, fusion type).')
    return CheckpointMismatchError('\n'.join(lines))
