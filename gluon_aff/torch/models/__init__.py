"""The twin's zoo families, one module each; importing them registers their names."""
from . import resnet, resnext, cifar_resnet  # noqa: F401
