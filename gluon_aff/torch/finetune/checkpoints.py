"""A fine-tuning run's files, each written whole or not at all (``core.atomic``):
``best.safetensors`` when validation improves; after every epoch ``resume-EPOCH.pt`` (the
weights, optimiser, schedule, gradient scaler and every process's random states), then
``last.json`` naming it (the epoch, the best record, the history, the recipe), then
``last.safetensors``; on Ctrl-C or SIGTERM ``interrupted.safetensors``.

``last.json`` is written after the files it names and before the older ones go, so a run
killed at any moment leaves it naming a complete set: ``--auto-resume`` continues from
it when its recipe is this run's.
"""
import glob
import json
import logging
import os
import random

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import save_file

from ...core.atomic import atomic_path, remove_stale_temporaries, write_atomically
from ...core.commandline import recipe_mismatch
from ...core.released import CheckpointError

__all__ = ['RunFiles']

logger = logging.getLogger('gluon_aff')


def _random_states():
    state = np.random.get_state()
    return dict(python=random.getstate(), torch=torch.get_rng_state(),
                numpy=[state[0], state[1].tolist()] + list(state[2:]))


def _restore_random_states(states):
    python = states['python']
    random.setstate((python[0], tuple(python[1]), python[2]))
    torch.set_rng_state(states['torch'])
    np.random.set_state((states['numpy'][0], np.array(states['numpy'][1], np.uint32))
                        + tuple(states['numpy'][2:]))


def _weights(net):
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


class RunFiles(object):
    """The files of the run in ``out_dir`` for ``config`` (rank 0 writes them)."""

    def __init__(self, config, recipe, writes):
        self.config, self.recipe, self.writes = config, recipe, writes
        self.folder = config.out_dir
        self.paths = {k: os.path.join(self.folder, k + '.safetensors')
                      for k in ('best', 'last', 'interrupted')}
        self.meta = os.path.join(self.folder, 'last.json')
        self.saved_epoch = None

    def prepare(self):
        """Refuse to overwrite another run's checkpoints unless resuming (on every process,
        so that all stop alike); make the folder and remove what a killed run left: its
        writers' temporary files and resume files ``last.json`` no longer names (rank 0)."""
        existing = [os.path.basename(p) for p in (self.meta, self.paths['best'],
                                                  self.paths['last']) if os.path.exists(p)]
        if existing and not self.config.auto_resume:
            raise ValueError('%s already holds a run\'s checkpoints (%s): continue that run with '
                             '--auto-resume, or give another --out-dir; nothing was overwritten'
                             % (self.folder, ', '.join(existing)))
        if not self.writes:
            return
        os.makedirs(self.folder, exist_ok=True)
        stale = remove_stale_temporaries(self.folder)
        stale += self._remove_resume_files_but(self._named_resume_file())
        if stale:
            logger.info('removed %d file(s) a stopped run left in %s', len(stale), self.folder)

    def _remove_resume_files_but(self, keep):
        """Remove every ``resume-*.pt`` but ``keep``; their names."""
        removed = []
        for path in glob.glob(os.path.join(self.folder, 'resume-*.pt')):
            if os.path.basename(path) != keep:
                os.remove(path)
                removed.append(os.path.basename(path))
        return removed

    def _named_resume_file(self):
        try:
            with open(self.meta) as f:
                return json.load(f).get('state')
        except (OSError, ValueError):
            return None

    def resumable(self):
        """What ``last.json`` recorded (with the training state it names), or None when
        there is nothing to continue; a checkpoint of another recipe is refused naming the
        flag that differs."""
        if not os.path.isfile(self.meta):
            return None
        with open(self.meta) as f:
            meta = json.load(f)
        saved = meta.get('recipe') or {}
        error = recipe_mismatch(self.meta, saved, self.recipe, type(self.config), '--out-dir',
                                labels={'world_size': 'the number of processes'})
        if error:
            raise error
        path = os.path.join(self.folder, meta['state'])
        if not os.path.isfile(path):
            raise ValueError('--auto-resume: %s names %s, which is missing; remove %s to start '
                             'afresh' % (self.meta, meta['state'], self.folder))
        try:
            meta['state'] = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:          # a file cut short: torch's zip reader, pickle
            raise CheckpointError(
                '--auto-resume: %s, the training state of epoch %s that %s names, cannot be '
                'read (%s: %s); it was cut short or damaged after it was written. Put back '
                'a copy of it, or start afresh in another --out-dir (the weights of that '
                'epoch are in %s)' % (path, meta.get('next_epoch', 1) - 1, self.meta,
                                      type(e).__name__, str(e).splitlines()[0] if str(e) else '',
                                      self.paths['last'])) from None
        return meta

    def restore(self, meta, net, optimizer, scheduler, scaler, rank):
        """Load a resumable checkpoint into the run; returns the epoch to start at."""
        state = meta['state']
        net.load_state_dict(state['weights'])
        optimizer.load_state_dict(state['optimizer'])
        scheduler.load_state_dict(state['scheduler'])
        if scaler is not None and state.get('scaler'):
            scaler.load_state_dict(state['scaler'])
        states = state['random']
        _restore_random_states(states[rank] if rank < len(states) else states[0])
        logger.info('--auto-resume: continuing %s from epoch %d', self.folder,
                    meta['next_epoch'])
        return meta['next_epoch']

    def save_epoch(self, net, epoch, best, history, optimizer, scheduler, scaler, metadata,
                   improved):
        """After ``epoch``: ``best.safetensors`` if it improved, ``resume-EPOCH.pt``,
        ``last.json``, ``last.safetensors``, in that order (see the module). Every process
        takes part (the random states are gathered from each); rank 0 writes."""
        states = _gather(_random_states())
        if not self.writes:
            return
        weights = _weights(net)
        meta = dict(metadata, epoch=str(epoch), val_top1=repr(history[-1]['val_top1']))
        if improved:
            self._write_weights(self.paths['best'], weights, meta)
        name = 'resume-%04d.pt' % epoch
        with atomic_path(os.path.join(self.folder, name)) as tmp:
            torch.save(dict(weights=weights, optimizer=optimizer.state_dict(),
                            scheduler=scheduler.state_dict(),
                            scaler=scaler.state_dict() if scaler is not None else None,
                            random=states), tmp)
        write_atomically(self.meta, json.dumps(dict(
            next_epoch=epoch + 1, state=name, best=best, history=history,
            recipe=self.recipe), indent=1))
        self._write_weights(self.paths['last'], weights, meta)
        self._remove_resume_files_but(name)
        self.saved_epoch = epoch

    def finish(self, net, epoch, metadata):
        """At the end: ``last.safetensors`` as the final weights (a run resumed after its
        last epoch, or stopped between ``last.json`` and it, writes it here)."""
        if self.writes:
            self._write_weights(self.paths['last'], _weights(net), dict(metadata,
                                                                        epoch=str(epoch)))

    @staticmethod
    def _write_weights(path, weights, metadata):
        with atomic_path(path) as tmp:
            save_file(weights, tmp, metadata=metadata)

    def save_interrupted(self, net, epoch, metadata):
        """The weights at the moment of a Ctrl-C or SIGTERM (for you to look at; --auto-resume
        continues from the last complete epoch)."""
        if not self.writes:
            return None
        self._write_weights(self.paths['interrupted'], _weights(net),
                            dict(metadata, epoch=str(epoch), kind='interrupted'))
        return self.paths['interrupted']

    def last_good(self):
        """Where the last good checkpoint is, as a sentence part."""
        if self.saved_epoch is not None or os.path.isfile(self.meta):
            return 'the last good checkpoint is %s' % self.paths['last']
        return 'no checkpoint was saved in this run'


def _gather(obj):
    """``obj`` of every process, in rank order (one process: [obj])."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered
