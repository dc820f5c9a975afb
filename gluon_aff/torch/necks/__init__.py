"""Necks with a fusion block at every merge (the AFF paper's long skip connections):
``AFFFPN`` (torchvision's FPN), ``fpn_backbone`` (a detector backbone from any timm name),
``PAN`` (path aggregation, as YOLO's necks), ``UNetDecoderBlock`` (a U-Net decoder step),
and ``smp_unet`` (segmentation_models_pytorch's U-Net with that block). See docs/necks.md."""
from .backbone import FPNBackbone, fpn_backbone
from .fpn import AFFFPN
from .merge import merge_factory
from .pan import PAN
from .unet import UNetDecoderBlock

__all__ = ['AFFFPN', 'FPNBackbone', 'PAN', 'UNetDecoderBlock', 'fpn_backbone',
           'merge_factory']
