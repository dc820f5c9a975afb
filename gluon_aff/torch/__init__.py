"""The PyTorch twin of the zoo: the same networks, names and released weights, no MXNet.

``gluon_aff.torch.get_model('iaff_resnet50', pretrained=True)`` builds the network as a
``torch.nn.Module`` and loads the authors' MXNet checkpoint (downloaded and verified by git
blob id; read with numpy alone). Importing this package registers every name with timm:
``timm.create_model('iaff_resnet50', pretrained=True)``. The names are declared once for
both frameworks (``gluon_aff.core.zoo``); ``gluon_aff/torch/models`` implements each
family. See docs/pytorch.md.
"""
try:
    import torch  # noqa: F401
    import timm  # noqa: F401
except ImportError as e:        # pragma: no cover - depends on the environment
    raise ImportError("gluon_aff.torch needs PyTorch and timm: pip install 'gluon-aff[torch]' "
                      '(see docs/pytorch.md); missing: %s' % e.name) from e

from ..core.model_info import ModelInfo  # noqa: F401
from .fusion import (AFF, AFI, IAFF, MSCAM, Add, MultiAFF, create_fusion,  # noqa: F401
                     list_fusions, resolve_fusion)
from .layers import BatchNorm2d  # noqa: F401
from .registry import (get_model, get_model_info, list_models, set_attention_norm,  # noqa: F401
                       implemented_families, feature_network)
from .optimize import optimize  # noqa: F401
from .weights import Weights, get_weights  # noqa: F401
from .transforms import AutoAugment, eval_transform  # noqa: F401
from .pretrained import (load_checkpoint, load_state, read_checkpoint,  # noqa: F401
                      save_mxnet_params, save_safetensors, state_dict_from_mxnet)
from . import models, zoo  # noqa: F401,E402  (implements the families; the entries)
from .registry import make_entries as _make_entries

_make_entries()
