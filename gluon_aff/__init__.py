"""gluon-aff: Attentional Feature Fusion (AFF, iAFF, MS-CAM) for MXNet/Gluon.

Importing the package registers every zoo name in gluoncv's model table, so
``gluoncv.model_zoo.get_model('iaff_resnet50')`` works after ``import gluon_aff``.
"""
__version__ = '0.1.0'

from . import nn  # noqa: F401
from . import model_zoo  # noqa: F401
from .model_zoo import get_model, list_models, get_model_info  # noqa: F401
