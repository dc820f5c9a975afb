"""The model zoo: AFF/iAFF ResNets and ResNeXts for ImageNet and CIFAR, and the AFINets
(AFI-ResNet, -ResNeXt, -MobileNetV2, -ShuffleNetV2) with their plain baselines, and
the AFF paper's Inception (same-layer) and FPN (long-skip, segmentation) hosts.

``get_model(name, pretrained=False, ...)`` builds a network, ``list_models('*aff*')``
lists names, ``get_model_info(name)`` gives its metadata and released checkpoints.
"""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.model_zoo')
from .registry import (ModelInfo, get_model, get_model_info, list_models, register_model,
                       GLUONCV_ALIASES, IMAGENET_PREPROCESS, CIFAR_PREPROCESS)
from .base import ZooNet
# each family module registers its entry functions when imported
from . import (resnet, resnext, cifar_resnet, cifar_resnext, afi_resnet, afi_resnext,  # noqa
               afi_mobilenet, afi_shufflenet, cifar_inception, fpn)
from .resnet import AFFResNet, AFFBottleneck  # noqa: F401
from .resnext import AFFResNeXt, AFFResNeXtBlock  # noqa: F401
from .cifar_resnet import CIFARAFFResNet, AFFPreActBlock  # noqa: F401
from .cifar_resnext import CIFARAFFResNeXt  # noqa: F401
from .afi_resnet import AFIResNet  # noqa: F401
from .afi_mobilenet import AFIMobileNetV2  # noqa: F401
from .afi_shufflenet import AFIShuffleNetV2  # noqa: F401
from .fpn import FPNResNet  # noqa: F401
from .pretrained import (CHECKPOINTS, Checkpoint, CheckpointError, CheckpointMismatchError,
                         ChecksumError, DownloadError, load_params, git_blob_id)


def __getattr__(name):
    """The entry functions by name: ``gluon_aff.model_zoo.iaff_resnet50(...)``, as from
    their family modules."""
    if name in list_models():
        return get_model_info(name).constructor
    raise AttributeError("module 'gluon_aff.model_zoo' has no attribute %r" % name)
