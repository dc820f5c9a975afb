"""The twin's zoo families, one module each; importing them registers their names."""
from . import (resnet, resnext, cifar_resnet, cifar_inception, fpn,  # noqa: F401
               afi_resnet, afi_resnext, afi_mobilenet, afi_shufflenet)
