"""The twin's zoo families, one module each; importing them registers their names."""
from . import resnet, resnext, cifar_resnet, cifar_inception, fpn  # noqa: F401
