"""Training: the CIFAR and ImageNet recipes of the original scripts (train_cifar.py,
train_imagenet.py at the repository root are thin entry points over this package)."""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.train')
