"""Continuing a run: --resume-from/--resume-params, and --auto-resume, which finds the
newest complete checkpoint of the same recipe."""
import glob
import json
import logging
import os

from ..core.commandline import recipe_mismatch
from .checkpoints import sidecar
from .config import flag_of

__all__ = ['ResumePlan', 'find_resumable', 'warn_if_overwriting', 'check_auto_resume',
           'resume', 'resume_epoch']

logger = logging.getLogger('gluon_aff')


def find_resumable(save_dir, model, recipe, config_class):
    """The newest complete epoch-boundary checkpoint of this run in ``save_dir`` (its JSON
    present and every file it names), or None. A checkpoint of this model written with
    another recipe is refused, naming the flag that differs."""
    found, other = [], None
    for meta_path in sorted(glob.glob(os.path.join(save_dir, '*.json'))):
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get('kind') != 'epoch' or \
                meta.get('model') != model:
            continue
        files = [meta.get('params'), meta.get('states')]
        if not all(f is None or os.path.isfile(os.path.join(save_dir, f)) for f in files) or \
                not meta.get('params'):
            continue
        if meta.get('recipe') != recipe:
            other = other or (meta_path, meta.get('recipe') or {})
            continue
        found.append((meta['next_epoch'], meta_path, meta))
    if found:
        _, meta_path, meta = max(found, key=lambda f: (f[0], f[1]))
        meta['params'] = os.path.join(save_dir, meta['params'])
        return meta
    if other:
        meta_path, saved = other
        raise recipe_mismatch(meta_path, saved, recipe, config_class, '--save-dir',
                              writer='a run of %s' % model)
    return None


def warn_if_overwriting(save_dir, model):
    """A fresh run into a folder holding checkpoints of the same model says so."""
    saved = [p for p in glob.glob(os.path.join(save_dir, '*.json'))
             if os.path.basename(p).find(model) >= 0]
    if saved:
        logger.warning('%s already holds %d checkpoint(s) of %s; this run starts at epoch 0 '
                       'and may overwrite them (--auto-resume continues the newest)',
                       save_dir, len(saved), model)


def check_auto_resume(config, dist):
    """``--auto-resume`` goes alone, on one machine."""
    explicit = [flag_of(type(config), name) for name in ('resume_from', 'resume_params')
                if getattr(config, name, None)]
    if explicit:
        raise ValueError('give --auto-resume or %s, not both' % explicit[0])
    if dist.dist:
        raise ValueError('--auto-resume is for single-machine runs; resume distributed '
                         'runs with --resume-from/--resume-params')


def resume_epoch(params, epoch=None):
    """The epoch a run resumed from ``params`` starts at: ``epoch`` if given, else the one
    recorded beside the params, else 0."""
    if epoch is None:
        meta = sidecar(params)
        epoch = json.load(open(meta)).get('next_epoch', 0) if os.path.isfile(meta) else 0
    return epoch


def resume(net, trainer, params, states, epoch, ctx):
    """Load params (and states) to continue training; returns the epoch to start at
    (``resume_epoch``)."""
    from ..model_zoo.pretrained import load_params
    load_params(net, params, ctx=ctx)
    states = states or (os.path.splitext(params)[0] + '.states')
    if os.path.isfile(states):
        try:
            trainer.load_states(states)
        except Exception as e:      # pickle and MXNet errors of a damaged file
            from ..model_zoo.pretrained import CheckpointError
            raise CheckpointError("cannot read the trainer states '%s' (%s: %s); resume from "
                                  'an earlier checkpoint, or pass --resume-states with another '
                                  'file' % (states, type(e).__name__, e))
        logger.info('resumed trainer states from %s', states)
    else:
        logger.warning('no trainer states at %s: momentum and schedule restart', states)
    epoch = resume_epoch(params, epoch)
    logger.info('resumed %s; continuing at epoch %d', params, epoch)
    return epoch




class ResumePlan(object):
    """Where a run starts, decided before its data and trainer exist (the .rec sampler and
    the schedule need the epoch): from the newest checkpoint of the same recipe
    (``--auto-resume``), from ``params`` (``--resume-from``/``--resume-params``, with
    ``states`` and ``epoch`` defaulting to the files beside it), or at epoch 0.
    ``best`` and ``history`` are what the checkpoint recorded of the run so far."""

    def __init__(self, config, dist, model_name, params=None, states=None, epoch=None):
        self.params, self.states, self.best, self.history = params or None, states, {}, []
        if config.auto_resume:
            check_auto_resume(config, dist)
            meta = find_resumable(config.save_dir, model_name, config.recipe(), type(config))
            if meta is None:
                logger.info('--auto-resume: no checkpoint of this run in %s; starting at '
                            'epoch 0', config.save_dir)
                self.params, self.start_epoch = None, 0
            else:
                self.params, self.states = meta['params'], None
                self.start_epoch = meta['next_epoch']
                self.best = meta.get('best') or {}
                self.history = meta.get('history') or []
        elif self.params:
            self.start_epoch = resume_epoch(self.params, epoch)
        else:
            self.start_epoch = 0
            if dist.writes_files:
                warn_if_overwriting(config.save_dir, model_name)

    def load(self, net, trainer, ctx):
        """Load the parameters and trainer states the plan names (nothing to start afresh)."""
        if self.params:
            resume(net, trainer, self.params, self.states, self.start_epoch, ctx)
