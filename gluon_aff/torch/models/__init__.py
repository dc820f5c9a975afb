"""The twin's families, one module each (the MXNet zoo's file names); importing them
registers their implementations (``gluon_aff.torch.registry.register_family``)."""
from . import (resnet, resnext, cifar_resnet, cifar_resnext, cifar_inception, fpn,  # noqa: F401
               afi_resnet, afi_resnext, afi_mobilenet, afi_shufflenet)
