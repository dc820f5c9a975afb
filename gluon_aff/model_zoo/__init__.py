"""The model zoo in MXNet/Gluon: AFF/iAFF ResNets and ResNeXts for ImageNet and CIFAR, the
AFINets (AFI-ResNet, -ResNeXt, -MobileNetV2, -ShuffleNetV2) with their plain baselines,
and the AFF paper's Inception (same-layer) and FPN (long-skip, segmentation) hosts.

The names are declared once for both frameworks (``gluon_aff.core.zoo``); each family
module here implements a family. ``get_model(name, pretrained=False, ...)`` builds a
network, ``list_models('*aff*')`` lists names, ``get_model_info(name)`` gives its
metadata and released checkpoints; ``gluon_aff.model_zoo.NAME(...)`` is the name's entry
function (also in gluoncv's table).
"""
from ..mxnet_compat import require_mxnet

require_mxnet('gluon_aff.model_zoo')
from .registry import (ModelInfo, get_model, get_model_info, list_models,  # noqa: E402
                       entry_function, implemented_families, make_entries, GLUONCV_ALIASES)
from .base import ZooNet  # noqa: E402,F401
# each family module implements its family (register_family) when imported
from . import (resnet, resnext, cifar_resnet, cifar_resnext, afi_resnet, afi_resnext,  # noqa
               afi_mobilenet, afi_shufflenet, cifar_inception, fpn)
from .resnet import AFFResNet, AFFBottleneck  # noqa: F401,E402
from .resnext import AFFResNeXt, AFFResNeXtBlock  # noqa: F401,E402
from .cifar_resnet import CIFARAFFResNet, AFFPreActBlock  # noqa: F401,E402
from .cifar_resnext import CIFARAFFResNeXt  # noqa: F401,E402
from .afi_resnet import AFIResNet  # noqa: F401,E402
from .afi_mobilenet import AFIMobileNetV2  # noqa: F401,E402
from .afi_shufflenet import AFIShuffleNetV2  # noqa: F401,E402
from .fpn import FPNResNet  # noqa: F401,E402
from .pretrained import (CHECKPOINTS, Checkpoint, CheckpointError,  # noqa: F401,E402
                         CheckpointMismatchError, ChecksumError, DownloadError, load_params,
                         git_blob_id)

make_entries()


def __getattr__(name):
    """The entry functions by name: ``gluon_aff.model_zoo.iaff_resnet50(...)``."""
    if name in list_models():
        return entry_function(name)
    raise AttributeError("module 'gluon_aff.model_zoo' has no attribute %r" % name)
