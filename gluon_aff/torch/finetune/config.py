"""What a fine-tuning run is: its configuration (one field per flag of
``python -m gluon_aff.torch.finetune``, through ``gluon_aff.core.commandline``) and what it
returns."""
import dataclasses
import json
import math
from typing import Optional

import torch

from ...core.commandline import check_choices, flag_of, option

__all__ = ['FinetuneConfig', 'FinetuneResult', 'NOT_RECIPE']

# fields that change where a run writes, what it shows or how it resumes, not what it
# computes (the others are the recipe, which --auto-resume must find unchanged)
NOT_RECIPE = ('out_dir', 'workers', 'progress', 'auto_resume')


def _pretrained(text):
    return {'true': True, 'false': False, 'auto': 'auto'}.get(text.lower(), text)


def _optional(text):
    return None if text.lower() == 'none' else text


@dataclasses.dataclass
class FinetuneConfig:
    """Fine-tune a zoo network (the PyTorch twin) on an image folder with train/ and val/;
    several processes with torchrun --nproc_per_node N."""
    model: str = option(dataclasses.MISSING, 'zoo name, e.g. iaff_resnet50', positional=True)
    data_dir: str = option(dataclasses.MISSING, 'folder with train/ and val/, one subfolder '
                           'per class', positional=True)
    out_dir: str = option('finetune', 'where checkpoints, the history and the log go')
    pretrained: object = option(
        'auto', "auto: the released weights where the name has them, else the original's "
        'initialisation; true, false, or a checkpoint file (.params, .safetensors, .pt)',
        parse=_pretrained)
    model_kwargs: dict = option(None, 'JSON of extra get_model arguments, e.g. '
                                '\'{"blocks": 1}\'', parse=json.loads, default_factory=dict)
    epochs: int = option(10, 'training epochs')
    batch_size: int = option(32, 'images per step on each process')
    lr: float = option(0.01, 'peak learning rate (after the warm-up)')
    momentum: float = option(0.9, "Nesterov momentum (the original's nag)")
    wd: float = option(1e-4, 'weight decay')
    warmup_epochs: float = option(0.0, 'linear warm-up, in epochs')
    mixup: float = option(0.2, "timm's mixup alpha (0: off)")
    cutmix: float = option(0.0, "timm's cutmix alpha (0: off)")
    label_smoothing: float = option(0.1, 'label smoothing')
    auto_augment: Optional[str] = option(
        'imagenet', "the original's AutoAugment policy: cifar10, imagenet or none",
        choices=('cifar10', 'imagenet', None), parse=_optional)
    hflip: bool = option(True, 'no horizontal flips', flags=('--no-hflip',),
                         action='store_false')
    workers: int = option(2, 'data-loading worker processes (0: in the main process)')
    seed: int = option(0, 'the seed of every random draw (data order, augmentation, mixup)')
    channels_last: bool = option(False, 'channels-last memory format')
    # torch.compile's backend ('inductor' fuses the fusion modules' element-wise work:
    # benchmarks/train_step_cost.md), or None for eager; the first steps compile
    compile: Optional[str] = option(None, 'train through torch.compile (backend, default '
                                    'inductor); the first steps compile', nargs='?',
                                    const='inductor', parse=str)
    amp: Optional[str] = option(None, 'autocast the forward pass: bf16, or fp16 (CUDA, with '
                                'a gradient scaler)', choices=(None, 'bf16', 'fp16'),
                                parse=_optional)
    auto_resume: bool = option(False, 'continue from the newest complete epoch checkpoint in '
                               '--out-dir that a run with the same options wrote (start fresh '
                               'when there is none); rerun the same command after a kill')
    skip_bad_images: bool = option(False, 'replace an unreadable image by the next readable '
                                   'one of its folder, and log it, instead of stopping')
    progress: str = option('auto', 'batch progress bars; auto = only on a terminal',
                           choices=('auto', 'on', 'off'))

    def check(self):
        """ValueError naming each flag whose value cannot work."""
        problems = []
        for key in ('epochs', 'batch_size'):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append('%s=%r must be a whole number of at least 1'
                                % (flag_of(type(self), key), value))
        if not isinstance(self.workers, int) or self.workers < 0:
            problems.append('--workers=%r must be a whole number >= 0' % (self.workers,))
        for key in ('lr', 'momentum', 'wd', 'warmup_epochs', 'mixup', 'cutmix',
                    'label_smoothing'):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                    not math.isfinite(value) or value < 0:
                problems.append('%s=%r must be a number >= 0' % (flag_of(type(self), key),
                                                                 value))
        if self.lr == 0:
            problems.append('--lr 0 would not train')
        if not 0 <= self.label_smoothing < 1:
            problems.append('--label-smoothing %r must be in [0, 1)' % (self.label_smoothing,))
        if (self.mixup or self.cutmix) and isinstance(self.batch_size, int) and \
                self.batch_size % 2:
            problems.append('--batch-size %d must be even for mixup/cutmix (timm mixes a batch '
                            'with its reverse)' % self.batch_size)
        if self.compile is not None and not isinstance(self.compile, str) and \
                not callable(self.compile):
            problems.append("--compile %r must be a torch.compile backend ('inductor')"
                            % (self.compile,))
        if not isinstance(self.model_kwargs, dict):
            problems.append('--model-kwargs must be a JSON object, got %r' % (self.model_kwargs,))
        try:
            check_choices(self)
        except ValueError as e:
            problems.append(str(e))
        if problems:
            raise ValueError('fine-tuning configuration: ' + '; '.join(problems))
        return self

    def recipe(self, world_size):
        """What decides the computation, as plain data (saved with every checkpoint, so that
        --auto-resume continues only the same run); the number of processes included."""
        recipe = {k: v for k, v in sorted(dataclasses.asdict(self).items())
                  if k not in NOT_RECIPE}
        recipe['compile'] = None if recipe['compile'] is None else str(recipe['compile'])
        recipe['world_size'] = world_size
        return json.loads(json.dumps(recipe, default=str))


@dataclasses.dataclass
class FinetuneResult:
    """What ``run`` returns: the best validation top-1 and its epoch, the checkpoint paths
    (written by rank 0), one dict per epoch, the class names (label order), the number of
    processes, the epoch the run started at (0, or where --auto-resume continued), and the
    trained network (the last epoch's weights)."""
    best_acc: float
    best_epoch: int
    best: str
    last: str
    history: list
    classes: list
    world_size: int
    start_epoch: int = 0
    net: torch.nn.Module = dataclasses.field(repr=False, default=None)
