"""The model zoo: AFF/iAFF ResNets and ResNeXts for ImageNet and CIFAR, and the AFINets
(AFI-ResNet, -ResNeXt, -MobileNetV2, -ShuffleNetV2) with their plain baselines, and
the AFF paper's Inception (same-layer) and FPN (long-skip, segmentation) hosts.

``get_model(name, pretrained=False, ...)`` builds a network, ``list_models('*aff*')``
lists names, ``get_model_info(name)`` gives its metadata and released checkpoints.
"""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.model_zoo')
from .registry import (ModelInfo, get_model, get_model_info, list_models, register_model,
                       IMAGENET_PREPROCESS, CIFAR_PREPROCESS)
from .base import ZooNet
from .resnet import *  # noqa: F401,F403  (each family registers its names on import)
from .resnext import *  # noqa: F401,F403
from .cifar_resnet import *  # noqa: F401,F403
from .cifar_resnext import *  # noqa: F401,F403
from .afi_resnet import *  # noqa: F401,F403
from .afi_resnext import *  # noqa: F401,F403
from .afi_mobilenet import *  # noqa: F401,F403
from .afi_shufflenet import *  # noqa: F401,F403
from .cifar_inception import *  # noqa: F401,F403
from .fpn import *  # noqa: F401,F403
from .pretrained import (CHECKPOINTS, Checkpoint, CheckpointError, CheckpointMismatchError,
                         ChecksumError, DownloadError, load_params, git_blob_id)
