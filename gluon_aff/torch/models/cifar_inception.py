"""CIFAR AFF-Inception in PyTorch (``gluon_aff.model_zoo.cifar_inception``'s twin): the
CIFAR pre-activation host with an Inception block, the AFF paper's same-layer scenario."""
from torch import nn

from ..fusion import create_fusion
from ..layers import AvgPoolDown, BatchNorm2d, DropPath
from ..registry import register_family
from .cifar_resnet import CIFARAFFResNet

__all__ = ['InceptionPreActBlock']


class InceptionPreActBlock(nn.Module):
    """``conv1x1(ReLU(BN(fuse(Y=conv3x3_d2(h), X=conv3x3(h))))) + shortcut(x)``,
    ``h = ReLU(BN(x))``; the shortcut is the identity or AvgPool + 1x1 conv; stochastic
    depth drops the residual branch."""

    def __init__(self, channels, in_channels, stride=1, fusion='aff', r=4, drop_path=0.0):
        super().__init__()
        self.pre = nn.Sequential(BatchNorm2d(in_channels), nn.ReLU())
        self.branch3 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.branch5 = nn.Conv2d(in_channels, channels, 3, stride, 2, dilation=2, bias=False)
        self.attention = create_fusion(fusion, channels, r)
        self.post = nn.Sequential(BatchNorm2d(channels), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1, bias=False))
        self.downsample = None
        if channels != in_channels or stride != 1:
            self.downsample = nn.Sequential(AvgPoolDown(stride),
                                            nn.Conv2d(in_channels, channels, 1, bias=False))
        self.drop_path = DropPath(drop_path) if drop_path else None

    def forward(self, x):
        h = self.pre(x)
        out = self.post(self.attention(self.branch5(h), self.branch3(h)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        if self.drop_path is not None:
            out = self.drop_path(out)
        return out + shortcut


def cifar_inception(**args):
    """The CIFAR pre-activation host with Inception blocks."""
    return CIFARAFFResNet(block=InceptionPreActBlock, **args)


register_family('cifar_inception', cifar_inception, CIFARAFFResNet)
