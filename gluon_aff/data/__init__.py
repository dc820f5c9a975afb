"""Datasets and transforms: the offline digits set, AutoAugment, .rec packing, pipelines."""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.data')
from .digits import digits_dataset, DIGITS_TRAIN_SIZE, DIGITS_VAL_SIZE
from .autoaugment import AutoAugment, IMAGENET_POLICY, CIFAR10_POLICY, apply_op

__all__ = ['digits_dataset', 'DIGITS_TRAIN_SIZE', 'DIGITS_VAL_SIZE', 'AutoAugment',
           'IMAGENET_POLICY', 'CIFAR10_POLICY', 'apply_op']
