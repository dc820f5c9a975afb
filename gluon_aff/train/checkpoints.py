"""Checkpoints that are never half-written, and the check that refuses diverged weights."""
import hashlib
import json
import os

import numpy as np

from ..core.atomic import atomic_path, describe_write_error, write_atomically
from ..core.divergence import TrainingDiverged
from ..core.params_file import read_params

__all__ = ['Checkpointer', 'save_params', 'sidecar', 'TrainingDiverged',
           'non_finite_parameters', 'parameters_digest']


def parameters_digest(net):
    """SHA-1 of the trainable parameters (sorted by key): equal on synchronised workers."""

    sha = hashlib.sha1()
    for key, p in sorted(net._collect_params_with_prefix().items()):
        if p.grad_req != 'null':
            sha.update(key.encode())
            sha.update(p.data().asnumpy().tobytes())
    return sha.hexdigest()

def sidecar(params_path):
    return os.path.splitext(params_path)[0] + '.json'


def non_finite_parameters(net):
    """Names of the parameters holding NaN or infinite values."""
    return [name for name, p in net._collect_params_with_prefix().items()
            if not np.isfinite(p.data().asnumpy()).all()]


def save_params(net, path):
    """``net.save_parameters(path)`` that is never half-written (see ``Checkpointer``)."""
    with atomic_path(path) as tmp:
        net.save_parameters(tmp)
        read_params(tmp)        # complete: MXNet once left a cut file without raising
    return path


class Checkpointer(object):
    """Writes params (+ trainer states + a small JSON with the next epoch) under the
    original names; a no-op unless ``enabled`` (only rank 0 writes in distributed runs).

    A checkpoint is never half-written: each file goes to a temporary name, is fsynced and
    renamed into place (``gluon_aff.core.atomic``), the parameters are read back before they
    take their name, and the JSON, naming the files of the set, comes last."""

    def __init__(self, net, trainer, save_dir, enabled=True, states=True):
        self.net, self.trainer, self.save_dir = net, trainer, save_dir
        self.enabled, self.states = enabled, states
        if enabled:
            try:
                os.makedirs(save_dir, exist_ok=True)
            except OSError as e:
                raise OSError(e.errno, describe_write_error(save_dir, e)) from e

    def save(self, name, next_epoch, extra=None):
        path = os.path.join(self.save_dir, name + '.params')
        if not self.enabled:
            return path
        bad = non_finite_parameters(self.net)
        if bad:
            raise TrainingDiverged('not saving %s: %d parameters hold NaN or infinite values '
                                   '(%s): the training diverged; lower the learning rate'
                                   % (path, len(bad), ', '.join(bad[:3])))
        save_params(self.net, path)
        states = os.path.splitext(path)[0] + '.states' if self.states else None
        if states:
            with atomic_path(states) as tmp:
                self.trainer.save_states(tmp)
        info = {'next_epoch': next_epoch, 'params': os.path.basename(path),
                'states': os.path.basename(states) if states else None}
        info.update(extra or {})
        # numpy scalars (metric values in the history) as the numbers they hold
        write_atomically(sidecar(path), json.dumps(info, default=lambda v: v.item()))
        self.last = path
        return path

    last = None

    def last_saved(self):
        """Where the last good checkpoint of this run is, as a sentence part."""
        return ('the last good checkpoint is %s' % self.last if self.last else
                'no checkpoint was saved in this run')


