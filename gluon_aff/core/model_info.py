"""``ModelInfo``: what the zoo knows about one name, the same object in both frameworks."""
import functools
import json
import os
from collections import OrderedDict

from .released import TAGS

__all__ = ['ModelInfo', 'TAGS', 'class_names_of']


@functools.lru_cache(maxsize=None)
def _class_names():
    with open(os.path.join(os.path.dirname(__file__), 'class_names.json')) as f:
        return json.load(f)


def class_names_of(labels):
    """The class names of a label set ('imagenet': 1,000; 'fine': CIFAR-100's 100;
    'coarse': its 20 superclasses), in label order."""
    return list(_class_names()[labels])


class ModelInfo(object):
    """One declared zoo name (``gluon_aff.core.zoo``).

    ``name``, ``family`` (its name: ``imagenet_resnet``, ``cifar_resnet`` ...), ``fusion``
    (canonical fusion name, ``afi`` for the AFI networks), ``args`` (the arguments the
    declaration gives it), ``description``; the preprocessing its weights were trained
    with: ``input_size``, ``mean``/``std`` (RGB, on [0, 1] pixels), ``crop_ratio`` and
    ``interpolation`` of the evaluation resize; ``classes`` (the default head); the released
    files (``checkpoints``) and their ``pretrained_tags``; ``arguments``, what a user may
    pass when building it.
    """

    def __init__(self, name, family, fusion, args, description):
        self.name = name
        self.family_spec = family
        self.family = family.name
        self.fusion = fusion
        self.args = dict(args)
        self.description = description
        pre = family.preprocessing
        self.input_size = pre['input_size']
        self.mean = tuple(pre['mean'])
        self.std = tuple(pre['std'])
        self.crop_ratio = pre['crop_ratio']
        self.interpolation = pre['interpolation']
        self.classes = pre['classes']

    @property
    def arguments(self):
        """The build arguments this name takes (besides ``classes``), in both frameworks."""
        return self.family_spec.arguments

    def class_arguments(self, user):
        """The network class's keyword arguments: the declared ones, updated with the
        user's (already checked: ``gluon_aff.core.arguments.check_arguments``)."""
        return self.family_spec.class_arguments(self.args, user)

    @property
    def smallest(self):
        """Arguments of this family's smallest network (one block per stage)."""
        return dict(self.family_spec.smallest)

    @property
    def task(self):
        """'classification' or 'segmentation' (per-pixel logits; not in timm's registry)."""
        return self.family_spec.task

    @property
    def first_conv(self):
        """The key path of the convolution that takes the image (timm's ``first_conv``)."""
        return self.family_spec.first_conv(self.class_arguments({}))

    @property
    def classifier_key(self):
        """The key path of the layer giving the logits (timm's ``classifier``)."""
        return self.family_spec.classifier_key

    @property
    def pool_size(self):
        """The last stage's map size at ``input_size`` (timm's ``pool_size``)."""
        side = self.input_size // self.family_spec.reduction
        return (side, side)

    @property
    def init(self):
        """The original script's initialiser for this network: 'xavier' or 'msra'."""
        return self.family_spec.init

    @property
    def checkpoints(self):
        """The released checkpoints of this name (``gluon_aff.core.released``)."""
        from .released import checkpoints_for
        return checkpoints_for(self.name)

    @property
    def pretrained_tags(self):
        """timm's tags of the released files, default first (``in1k``; ``cifar100``,
        ``cifar100_coarse``)."""
        from .released import select_checkpoint
        found = self.checkpoints
        if not found:
            return []
        default = select_checkpoint(self.name, True)
        return [TAGS[c.labels] for c in [default] + [c for c in found if c is not default]]

    def preprocessing(self):
        """The evaluation preprocessing as plain data (what exports write beside the model
        and ``deploy.runtimes.preprocess`` reads): input size, crop ratio, interpolation,
        mean and std."""
        return dict(input_size=self.input_size, crop_ratio=self.crop_ratio,
                    interpolation=self.interpolation, mean=list(self.mean), std=list(self.std))

    @property
    def class_names(self):
        """ImageNet's 1,000 class names for the ImageNet networks with the full head, else
        None (a CIFAR head's names depend on the label set it was trained on:
        ``class_names_of``)."""
        if self.classes == 1000 and self.family.startswith('imagenet'):
            return class_names_of('imagenet')
        return None

    def as_dict(self):
        return OrderedDict(
            name=self.name, family=self.family, fusion=self.fusion, args=self.args,
            input_size=self.input_size, mean=self.mean, std=self.std,
            crop_ratio=self.crop_ratio, interpolation=self.interpolation,
            classes=self.classes, description=self.description,
            checkpoints=[c.file for c in self.checkpoints],
            pretrained_tags=self.pretrained_tags)

    def __repr__(self):
        return 'ModelInfo(%s, family=%s, fusion=%s, input_size=%d)' % (
            self.name, self.family, self.fusion, self.input_size)
