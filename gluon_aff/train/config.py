"""What a training run is: one typed configuration per recipe, and what a run returns.

``CifarConfig``, ``ImageNetConfig`` and ``SegConfig`` hold every flag of
``train_cifar.py``, ``train_imagenet.py`` and ``train_seg.py`` under the flag's name
(``--lr-decay-epoch`` is ``lr_decay_epoch``; ``-j/--num-data-workers`` is
``num_workers``), with the original's defaults. The scripts' parsers are built from these
classes (``gluon_aff.train.options``), so a flag and its field cannot drift apart.
Options that a zoo name configures itself (``blocks``, ``channel_times``, ``r``, ...) are
``None`` until given: given, they override the zoo name's value; not given, the host
networks ``--model resnet``/``resnext`` take the original's value (named in the help).

A configuration checks its values when it is made (``ValueError`` naming the flag).
``gluon_aff.train.run(config)`` trains and returns a ``TrainResult``.
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Optional

from ..core.attention_norm import ATTENTION_NORMS
from ..core.commandline import check_choices, flag_of, option  # noqa: F401 (re-exported)

__all__ = ['RunConfig', 'ClassificationConfig', 'CifarConfig', 'ImageNetConfig', 'SegConfig',
           'TrainResult', 'KVSTORES', 'PROGRESS']

KVSTORES = ('device', 'local', 'dist_sync', 'dist_device_sync', 'dist_async')
PROGRESS = ('auto', 'on', 'off')


@dataclass
class RunConfig:
    """What every recipe has: the network, the optimisation length, where files go, how
    the run shows itself and resumes."""
    model: Optional[str] = option(None, 'resnet or resnext (the original host families), or '
                                  'any zoo name (`gluon-aff list`); required')
    askc_type: Optional[str] = option(
        None, 'fusion type: DirectAdd/ASKCFuse/ResGlobLocaforGlobLocaCha or add/aff/iaff (and '
        'any registered fusion); required with --model resnet/resnext, overrides a zoo name\'s')
    attention_norm: str = option(
        'batch', '(new) how the attention modules\' BatchNorms run: batch (as released), '
        'global_stats or frozen (for 1 image per device; see gluon_aff.nn.set_attention_norm)',
        choices=ATTENTION_NORMS)
    batch_size: int = option(128, 'batch size per device')
    num_epochs: int = option(1, 'training epochs')
    lr: float = option(0.1, 'base learning rate')
    seed: Optional[int] = option(None, '(new) seed Python, NumPy and MXNet, again at every '
                                 'epoch; with -j 0 CPU runs repeat exactly')
    mode: str = option('hybrid', 'hybrid or imperative', choices=('hybrid', 'imperative'))
    summary: bool = option(False, 'print the network\'s layers and parameter count before '
                           'training')
    save_dir: str = option('params', 'folder of the checkpoints')
    progress: str = option('auto', '(new) batch progress bars; auto = only on a terminal',
                           choices=PROGRESS)
    auto_resume: bool = option(
        False, '(new) continue from the newest complete checkpoint in --save-dir that a run '
        'with the same options wrote (start fresh when there is none); rerun the same '
        'command after a kill or preemption')
    # testing aid: stop every training epoch and every classification validation after N
    # batches (smoke runs of the recipes)
    test_max_batches: Optional[int] = option(None, 'stop epochs and validations after N '
                                             'batches', hidden=True)

    # the fields that must be at least 1, by recipe
    POSITIVE = ('batch_size', 'num_epochs')

    def __post_init__(self):
        for name in self.POSITIVE:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError('%s must be at least 1, got %d' % (flag_of(type(self), name),
                                                                    value))
        check_choices(self)

    def recipe(self, ignore=()):
        """The fields that decide what the run computes, as plain data (saved with every
        checkpoint so that --auto-resume continues only the same run)."""
        return {k: v for k, v in sorted(dataclasses.asdict(self).items())
                if k not in NOT_RECIPE and k not in ignore}


@dataclass
class ClassificationConfig(RunConfig):
    """What the CIFAR and ImageNet recipes share."""
    num_workers: int = option(96, 'data-loading worker processes (0: load in the main '
                              'process)', flags=('-j', '--num-data-workers'))
    momentum: float = option(0.9, 'momentum of NAG')
    wd: float = option(0.0001, 'weight decay')
    lr_decay: float = option(0.1, 'step decay factor')
    lr_decay_period: int = option(0, 'decay every this many epochs (0: use --lr-decay-epoch)')
    mixup: bool = option(False, 'train with mixup')
    auto_aug: bool = option(False, 'AutoAugment (built in; CIFAR-10 policy for CIFAR, ImageNet '
                            'policy for ImageNet)', flags=('--auto_aug',))
    label_smoothing: bool = option(False, 'label smoothing 0.1')
    no_wd: bool = option(False, 'no weight decay on BN gamma/beta and biases')
    warmup_lr: float = option(0.0, 'learning rate at the start of the linear warm-up')
    start_layer: Optional[int] = option(None, 'stages below this use plain addition (default '
                                        '1 for CIFAR, 3 for ImageNet)')
    r: Optional[int] = option(None, 'reduction ratio of the attention (default: 4 in CIFAR '
                              'ResNet blocks, 16 in bottleneck/ResNeXt blocks). Other values '
                              'build networks that no longer load the released weights.')
    no_augment: bool = option(False, '(new) no random crop/flip/colour augmentation (for '
                              'debugging)')
    use_pretrained: bool = option(False, 'start from the released checkpoint of the chosen '
                                  'network')
    kvstore: str = option('device', '(new) gradient aggregation; dist_* train on several '
                          'machines, started by `python -m gluon_aff.train.launch`', choices=KVSTORES)


@dataclass
class CifarConfig(ClassificationConfig):
    """train_cifar.py: the CIFAR recipe (also offline on scikit-learn's digits)."""
    dataset: str = option('cifar100', 'cifar100, cifar10 or digits (offline, scikit-learn\'s '
                          'digits)', choices=('cifar100', 'cifar10', 'digits'))
    data_dir: Optional[str] = option(None, '(new) folder of a local CIFAR copy (gluon\'s file '
                                     'layout); default ~/.mxnet/datasets/<dataset>')
    coarse_label: bool = option(False, '(new) CIFAR-100 with the 20 superclass labels on the '
                                '100-way head: the paper\'s and the released "superclass" '
                                'files\' setting')
    channel_times: Optional[int] = option(None, 'width multiplier (default 4 for --model '
                                          'resnet/resnext)')
    blocks: Optional[int] = option(None, 'blocks per stage (default 1 for --model '
                                   'resnet/resnext)')
    gpus: str = option('0,1,2,3', "GPU ids, comma separated; '' trains on the CPU")
    num_epochs: int = option(640, 'training epochs')
    lr: float = option(0.2, 'base learning rate')
    lr_decay_epoch: str = option('300,450', 'step-decay epochs (the schedule applies them minus '
                                 '--warmup-epochs, as the original)')
    drop_rate: Optional[float] = option(None, 'dropout before the classifier (default 0)')
    save_period: int = option(10, 'save params every this many epochs (0: only best and '
                              'final)')
    logging_dir: str = option('logs', 'folder of the logs')
    resume_from: Optional[str] = option(None, 'params file to resume from; its .states and '
                                        '.json siblings, when present, restore the optimizer '
                                        'and the epoch')
    resume_states: Optional[str] = option(None, '(new) trainer states file')
    resume_epoch: Optional[int] = option(None, '(new) epoch to resume at (default: from the '
                                         '.json sibling, else 0)')
    save_plot_dir: str = option('.', 'folder of the training-curve PNG')
    mixup_alpha: float = option(1.0, 'alpha of mixup\'s Beta distribution')
    mixup_off_epoch: int = option(40, 'no mixup in the last this many epochs')
    cosine: bool = option(False, 'linear warm-up then cosine decay (else constant with step '
                          'decay)')
    warmup_epochs: int = option(10, 'epochs of linear warm-up')
    deep_stem: bool = option(False, 'three 3x3 stem convolutions')

    POSITIVE = ('batch_size', 'num_epochs', 'blocks', 'channel_times')


@dataclass
class ImageNetConfig(ClassificationConfig):
    """train_imagenet.py: the ImageNet recipe (.rec files or an image folder)."""
    data_dir: str = option('~/.mxnet/datasets/imagenet', 'image folder with train/ and val/ '
                           '(one sub-folder per class)')
    rec_train: str = option('~/.mxnet/datasets/imagenet/rec/train.rec', 'training .rec file')
    rec_train_idx: str = option('~/.mxnet/datasets/imagenet/rec/train.idx',
                                'index of --rec-train')
    rec_val: str = option('~/.mxnet/datasets/imagenet/rec/val.rec', 'validation .rec file')
    rec_val_idx: str = option('~/.mxnet/datasets/imagenet/rec/val.idx', 'index of --rec-val')
    use_rec: bool = option(False, 'read .rec files (ImageRecordIter)')
    skip_bad_images: bool = option(
        False, '(new) image folders: skip an empty, unreadable or truncated image (each is '
        'logged) instead of stopping with its path')
    ignore_auto_aug_with_rec: bool = option(
        False, '(new) with --use-rec, ignore --auto_aug as the original did (its .rec iterator '
        'never applied AutoAugment, so the released ImageNet weights were trained without '
        'it); otherwise the training .rec is read with Python transforms so that AutoAugment '
        'applies')
    dtype: str = option('float16', 'float16 (GPUs, with multi-precision) or float32',
                        choices=('float16', 'float32'))
    num_gpus: int = option(4, '0 trains on the CPU')
    num_epochs: int = option(240, 'training epochs')
    lr: float = option(0.075, 'base learning rate')
    lr_mode: str = option('cosine', 'cosine, step or poly')
    lr_decay_epoch: str = option('40,60', 'step-decay epochs')
    warmup_epochs: int = option(5, 'epochs of linear warm-up')
    last_gamma: bool = option(False, 'zero-initialise the last BN gamma of every block')
    input_size: int = option(224, '>= 320 uses EfficientNet-style crops and bicubic resizing '
                             '(image folder input)')
    crop_ratio: float = option(0.875, 'validation: resize to ceil(input-size / crop-ratio), '
                               'centre crop')
    use_se: bool = option(False, 'SE in ResNeXt blocks')
    mixup_alpha: float = option(0.2, 'alpha of mixup\'s Beta distribution')
    mixup_off_epoch: int = option(5, 'no mixup in the last this many epochs')
    teacher: Optional[str] = option(None, 'distil from this zoo or gluoncv model '
                                    '(released/pretrained weights, or --teacher-params)')
    teacher_params: Optional[str] = option(None, '(new) params file for --teacher')
    temperature: float = option(20.0, 'distillation temperature')
    hard_weight: float = option(0.5, 'weight of the hard-label loss in distillation')
    batch_norm: bool = option(False, 'BatchNorm in VGG models (gluoncv); no effect on the AFF '
                              'families')
    save_frequency: int = option(10, 'save params/states every this many epochs (0: only best '
                                 'and final)')
    resume_epoch: Optional[int] = option(None, 'epoch to resume at (default: from the .json '
                                         'beside --resume-params, else 0)')
    resume_params: str = option('', 'params file to resume from')
    resume_states: str = option('', 'trainer states file (default: the .states beside '
                                '--resume-params)')
    log_interval: int = option(50, 'log speed and training metric every this many batches')
    logging_file: str = option('train_imagenet.log', 'the log file')
    use_gn: bool = option(False, 'GroupNorm (32 groups) in the host')
    num_layer: int = option(50, '50, 101 or 152')
    # testing aid: N blocks in every stage of the ImageNet ResNet/ResNeXt (names unchanged)
    test_layers: Optional[int] = option(None, 'blocks per stage', hidden=True)
    classes: int = option(1000, '(new) classifier size (labels must be below it)')

    POSITIVE = ('batch_size', 'num_epochs', 'input_size')


@dataclass
class SegConfig(RunConfig):
    """train_seg.py: the AFF paper's StopSign segmentation recipe (ResNet-20-b + FPN)."""
    coco_root: Optional[str] = option(None, 'COCO folder (annotations/instances_train2017.json, '
                                      'train2017/)')
    ann_file: Optional[str] = option(None, 'COCO instances json (default: COCO_ROOT/annotations/'
                                     'instances_train2017.json)')
    image_dir: Optional[str] = option(None, "folder of the annotation file's images (default: "
                                      'found under --coco-root)')
    val_fraction: float = option(0.2, 'share of the stop-sign images held out for validation')
    model: Optional[str] = option('fpn_resnet20_aff_b1', 'an fpn_resnet20_* zoo name')
    askc_type: Optional[str] = option(None, 'override the merges\' fusion type')
    blocks: Optional[int] = option(None, 'blocks per stage (b)')
    input_size: int = option(128, 'images are resized to this square')
    batch_size: int = option(32, 'batch size per device')
    num_epochs: int = option(300, 'training epochs')
    lr: float = option(0.01, 'AdaGrad\'s base learning rate')
    power: float = option(0.9, 'poly schedule power')
    gpus: str = option('', "GPU ids, comma separated, e.g. '0,1' ('': the CPU)")
    seed: Optional[int] = option(0, 'seed of the split, the shuffling and the flips')
    limit: Optional[int] = option(None, 'use at most this many images')
    logging_dir: str = option('logs', 'folder of the logs')
    save_period: int = option(10, '(new) save params/states every this many epochs (0: only '
                              'best and final)')
    resume_from: Optional[str] = option(None, '(new) params file to resume from; its .states '
                                        'and .json siblings restore the optimizer and the '
                                        'epoch')

    POSITIVE = ('batch_size', 'num_epochs', 'input_size', 'blocks')


# fields that change where a run writes, what it shows or how it resumes, not what it
# computes: a run may continue another that differs only in these
NOT_RECIPE = frozenset({
    'resume_from', 'resume_states', 'resume_epoch', 'resume_params', 'auto_resume',
    'num_workers', 'progress', 'save_dir', 'logging_dir', 'logging_file', 'save_plot_dir',
    'summary', 'save_period', 'save_frequency', 'log_interval', 'data_dir', 'rec_train',
    'rec_train_idx', 'rec_val', 'rec_val_idx', 'coco_root', 'ann_file', 'image_dir',
    'skip_bad_images'})


@dataclass
class TrainResult:
    """What a finished run leaves: ``best`` is the best validation value of ``metric``
    (``val_top1`` for classification, ``fg_iou`` for segmentation) and ``best_path`` the
    parameters that reached it; ``final_path`` the last epoch's; ``checkpoints`` every
    params file written; ``history`` one dict of statistics per epoch."""
    model_name: str
    metric: str
    best: float
    best_path: Optional[str]
    final_path: str
    checkpoints: List[str]
    history: List[dict]
    log_file: Optional[str] = None
