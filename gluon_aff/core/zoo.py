"""The zoo, declared once for both frameworks.

Each name is declared here, on one line: its family (``gluon_aff.core.families``), its
fusion, the arguments that make it what it is, and a one-line description. Its
preprocessing is its family's, its released weights are ``released.json``'s entries under
its name. The MXNet zoo (``gluon_aff.model_zoo``) and the PyTorch twin
(``gluon_aff.torch``) make one entry function per declared name from this table; neither
declares a name of its own (``tests/model_zoo/test_declaration.py`` checks both).

``list_models(pattern)`` and ``get_model_info(name)`` answer for both frameworks.
"""
import difflib
import fnmatch
from collections import OrderedDict

from .families import RESNET_LAYERS, RESNEXT_LAYERS, get_family
from .model_info import ModelInfo

__all__ = ['list_models', 'get_model_info', 'unknown_model_error', 'ZOO']

ZOO = OrderedDict()
_FUSED = {'aff': 'AFF', 'iaff': 'iAFF', 'add': 'addition', 'sk': 'SK', 'gau': 'GAU',
          'concat': 'concatenation + 1x1 (the Inception baseline)'}


def _declare(family, name, fusion, description, **args):
    if name in ZOO:
        raise ValueError('zoo name %s is declared twice' % name)
    if 'fusion' not in args and 'setting' not in args:
        args['fusion'] = fusion
    ZOO[name] = ModelInfo(name, get_family(family), fusion, args, description)


# -- ImageNet ResNet-50-D hosts (AFF paper Table 5): a fusion block in stages 3-4 ----------
_declare('imagenet_resnet', 'aff_resnet50', 'aff', 'AFF-ResNet-50 (AFF in stages 3-4)',
         layers=RESNET_LAYERS[50])
_declare('imagenet_resnet', 'iaff_resnet50', 'iaff', 'iAFF-ResNet-50 (iAFF in stages 3-4)',
         layers=RESNET_LAYERS[50])
_declare('imagenet_resnet', 'resnet50_add', 'add',
         'The host ResNet-50-D of the AFF models, with plain addition everywhere',
         layers=RESNET_LAYERS[50])
_declare('imagenet_resnet', 'aff_resnet101', 'aff', 'AFF-ResNet-101 (AFF in stages 3-4)',
         layers=RESNET_LAYERS[101])
_declare('imagenet_resnet', 'iaff_resnet101', 'iaff', 'iAFF-ResNet-101 (iAFF in stages 3-4)',
         layers=RESNET_LAYERS[101])
_declare('imagenet_resnet', 'aff_resnet152', 'aff',
         "AFF-ResNet-152 (the original's [3, 4, 36, 3] layers)", layers=RESNET_LAYERS[152])
_declare('imagenet_resnet', 'iaff_resnet152', 'iaff',
         "iAFF-ResNet-152 (the original's [3, 4, 36, 3] layers)", layers=RESNET_LAYERS[152])

# -- ImageNet ResNeXt hosts ---------------------------------------------------------------
_declare('imagenet_resnext', 'aff_resnext50_32x4d', 'aff',
         'AFF-ResNeXt-50-32x4d (AFF in stages 3-4)', layers=RESNEXT_LAYERS[50])
_declare('imagenet_resnext', 'iaff_resnext50_32x4d', 'iaff',
         'iAFF-ResNeXt-50-32x4d (iAFF in stages 3-4)', layers=RESNEXT_LAYERS[50])
_declare('imagenet_resnext', 'aff_resnext101_32x4d', 'aff',
         'AFF-ResNeXt-101-32x4d (AFF in stages 3-4)', layers=RESNEXT_LAYERS[101])
_declare('imagenet_resnext', 'iaff_resnext101_32x4d', 'iaff',
         'iAFF-ResNeXt-101-32x4d (iAFF in stages 3-4)', layers=RESNEXT_LAYERS[101])

# -- CIFAR pre-activation ResNets (Table 4, Fig. 6): depth 6 * blocks + 2 ----------------
def _cifar_resnet(name, fusion, blocks):
    _declare('cifar_resnet', name, fusion, 'CIFAR pre-activation ResNet-%d (%d blocks per stage, '
             'channel_times 4), %s in every stage' % (6 * blocks + 2, blocks, _FUSED[fusion]),
             blocks=blocks)


_cifar_resnet('cifar_aff_resnet20', 'aff', 3)
_cifar_resnet('cifar_aff_resnet32', 'aff', 5)
_cifar_resnet('cifar_aff_resnet44', 'aff', 7)
_cifar_resnet('cifar_aff_resnet56', 'aff', 9)
_cifar_resnet('cifar_aff_resnet110', 'aff', 18)
_cifar_resnet('cifar_iaff_resnet20', 'iaff', 3)
_cifar_resnet('cifar_iaff_resnet32', 'iaff', 5)
_cifar_resnet('cifar_iaff_resnet44', 'iaff', 7)
_cifar_resnet('cifar_iaff_resnet56', 'iaff', 9)
_cifar_resnet('cifar_iaff_resnet110', 'iaff', 18)
_cifar_resnet('cifar_add_resnet20', 'add', 3)
_cifar_resnet('cifar_add_resnet32', 'add', 5)
_cifar_resnet('cifar_add_resnet44', 'add', 7)
_cifar_resnet('cifar_add_resnet56', 'add', 9)
_cifar_resnet('cifar_add_resnet110', 'add', 18)

# -- CIFAR ResNeXts: depth 9 * blocks + 2 ---------------------------------------------------
def _cifar_resnext(name, fusion, blocks):
    _declare('cifar_resnext', name, fusion, 'CIFAR ResNeXt-%d-32x4d (%d blocks per stage, base '
             'width 64), %s in every stage' % (9 * blocks + 2, blocks, _FUSED[fusion]),
             blocks=blocks)


_cifar_resnext('cifar_aff_resnext38_32x4d', 'aff', 4)
_cifar_resnext('cifar_aff_resnext47_32x4d', 'aff', 5)
_cifar_resnext('cifar_iaff_resnext38_32x4d', 'iaff', 4)
_cifar_resnext('cifar_iaff_resnext47_32x4d', 'iaff', 5)
_cifar_resnext('cifar_add_resnext38_32x4d', 'add', 4)
_cifar_resnext('cifar_add_resnext47_32x4d', 'add', 5)

# -- the same-layer scenario (Table 2) ---------------------------------------------------
def _cifar_inception(name, fusion, blocks):
    _declare('cifar_inception', name, fusion, 'CIFAR Inception-ResNet-20-%d (%d Inception blocks '
             'per stage, channel_times 4), 3x3 and dilated-3x3 branches fused by %s'
             % (blocks, blocks, _FUSED[fusion]), blocks=blocks)


_cifar_inception('cifar_inception_aff_b1', 'aff', 1)
_cifar_inception('cifar_inception_aff_b2', 'aff', 2)
_cifar_inception('cifar_inception_aff_b3', 'aff', 3)
_cifar_inception('cifar_inception_aff_b4', 'aff', 4)
_cifar_inception('cifar_inception_iaff_b1', 'iaff', 1)
_cifar_inception('cifar_inception_iaff_b2', 'iaff', 2)
_cifar_inception('cifar_inception_iaff_b3', 'iaff', 3)
_cifar_inception('cifar_inception_iaff_b4', 'iaff', 4)
_cifar_inception('cifar_inception_sk_b1', 'sk', 1)
_cifar_inception('cifar_inception_sk_b2', 'sk', 2)
_cifar_inception('cifar_inception_sk_b3', 'sk', 3)
_cifar_inception('cifar_inception_sk_b4', 'sk', 4)
_cifar_inception('cifar_inception_add_b1', 'add', 1)
_cifar_inception('cifar_inception_add_b2', 'add', 2)
_cifar_inception('cifar_inception_add_b3', 'add', 3)
_cifar_inception('cifar_inception_add_b4', 'add', 4)
_cifar_inception('cifar_inception_concat_b1', 'concat', 1)
_cifar_inception('cifar_inception_concat_b2', 'concat', 2)
_cifar_inception('cifar_inception_concat_b3', 'concat', 3)
_cifar_inception('cifar_inception_concat_b4', 'concat', 4)

# -- the long-skip scenario (Table 3) -----------------------------------------------------
def _fpn_resnet(name, fusion, blocks):
    _declare('fpn_resnet', name, fusion, 'ResNet-20-%d + FPN for segmentation (logits at input '
             'resolution), top-down merges fused by %s' % (blocks, _FUSED[fusion]),
             blocks=blocks)


_fpn_resnet('fpn_resnet20_aff_b1', 'aff', 1)
_fpn_resnet('fpn_resnet20_aff_b2', 'aff', 2)
_fpn_resnet('fpn_resnet20_aff_b3', 'aff', 3)
_fpn_resnet('fpn_resnet20_aff_b4', 'aff', 4)
_fpn_resnet('fpn_resnet20_iaff_b1', 'iaff', 1)
_fpn_resnet('fpn_resnet20_iaff_b2', 'iaff', 2)
_fpn_resnet('fpn_resnet20_iaff_b3', 'iaff', 3)
_fpn_resnet('fpn_resnet20_iaff_b4', 'iaff', 4)
_fpn_resnet('fpn_resnet20_gau_b1', 'gau', 1)
_fpn_resnet('fpn_resnet20_gau_b2', 'gau', 2)
_fpn_resnet('fpn_resnet20_gau_b3', 'gau', 3)
_fpn_resnet('fpn_resnet20_gau_b4', 'gau', 4)
_fpn_resnet('fpn_resnet20_add_b1', 'add', 1)
_fpn_resnet('fpn_resnet20_add_b2', 'add', 2)
_fpn_resnet('fpn_resnet20_add_b3', 'add', 3)
_fpn_resnet('fpn_resnet20_add_b4', 'add', 4)

# -- AFINets (settings A, r=4, and B, r=16) and their plain baselines -------------------------
_declare('cifar_afi_resnet', 'cifar_resnet32', 'add',
         'CIFAR ResNet-32 v1 (16/32/64 channels), plain (the baseline)', setting=None, blocks=5)
_declare('cifar_afi_resnet', 'cifar_afi_resnet32', 'afi',
         'CIFAR ResNet-32 v1 (16/32/64 channels), AFI setting A (r=4)', setting='A', blocks=5)
_declare('cifar_afi_resnet', 'cifar_afi_resnet32_b', 'afi',
         'CIFAR ResNet-32 v1 (16/32/64 channels), AFI setting B (r=16)', setting='B', blocks=5)
_declare('cifar_afi_resnet', 'cifar_resnet110', 'add',
         'CIFAR ResNet-110 v1 (16/32/64 channels), plain (the baseline)', setting=None, blocks=18)
_declare('cifar_afi_resnet', 'cifar_afi_resnet110', 'afi',
         'CIFAR ResNet-110 v1 (16/32/64 channels), AFI setting A (r=4)', setting='A', blocks=18)
_declare('cifar_afi_resnet', 'cifar_afi_resnet110_b', 'afi',
         'CIFAR ResNet-110 v1 (16/32/64 channels), AFI setting B (r=16)', setting='B', blocks=18)
_declare('imagenet_afi_resnet', 'afi_resnet50', 'afi',
         'ImageNet ResNet-50 v1 with AFI setting A (r=4)', setting='A', layers=[3, 4, 6, 3])
_declare('imagenet_afi_resnet', 'afi_resnet50_b', 'afi',
         'ImageNet ResNet-50 v1 with AFI setting B (r=16)', setting='B', layers=[3, 4, 6, 3])
_declare('imagenet_afi_resnet', 'afi_resnet152', 'afi',
         'ImageNet ResNet-152 v1 with AFI setting A (r=4)', setting='A', layers=[3, 8, 36, 3])
_declare('cifar_afi_resnext', 'cifar_resnext29_32x4d', 'add',
         'CIFAR ResNeXt-29 (32x4d), plain (the baseline)', setting=None)
_declare('cifar_afi_resnext', 'cifar_afi_resnext29_32x4d', 'afi',
         'CIFAR ResNeXt-29 (32x4d), AFI setting A (r=4)', setting='A')
_declare('cifar_afi_resnext', 'cifar_afi_resnext29_32x4d_b', 'afi',
         'CIFAR ResNeXt-29 (32x4d), AFI setting B (r=16)', setting='B')
_declare('cifar_afi_mobilenet', 'cifar_mobilenetv2', 'add',
         'CIFAR MobileNetV2, plain (the baseline)', setting=None)
_declare('cifar_afi_mobilenet', 'cifar_afi_mobilenetv2', 'afi',
         'CIFAR MobileNetV2, AFI setting A (r=4)', setting='A')
_declare('cifar_afi_mobilenet', 'cifar_afi_mobilenetv2_b', 'afi',
         'CIFAR MobileNetV2, AFI setting B (r=16)', setting='B')
_declare('cifar_afi_shufflenet', 'cifar_shufflenetv2', 'add',
         'CIFAR ShuffleNetV2 (net_size=1), plain (the baseline)', setting=None)
_declare('cifar_afi_shufflenet', 'cifar_afi_shufflenetv2', 'afi',
         'CIFAR ShuffleNetV2 (net_size=1), AFI setting A (r=4)', setting='A')
_declare('cifar_afi_shufflenet', 'cifar_afi_shufflenetv2_b', 'afi',
         'CIFAR ShuffleNetV2 (net_size=1), AFI setting B (r=16)', setting='B')


def list_models(pattern=None):
    """Sorted zoo names, optionally filtered by a shell-style wildcard ('*aff*resnet*')."""
    names = sorted(ZOO)
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
    return names


def unknown_model_error(name, lister="gluon_aff.list_models('*aff*') (or `gluon-aff list`)"):
    """The ValueError for a name the zoo does not have: the closest names, and how to list
    them all."""
    close = difflib.get_close_matches(str(name).lower(), list(ZOO), n=5, cutoff=0.6)
    return ValueError("unknown model '%s'.%s %s lists all %d."
                      % (name, ' Closest names: %s.' % ', '.join(close) if close else '',
                         lister, len(ZOO)))


def get_model_info(name):
    """The ``ModelInfo`` of a zoo name; a timm-style tag (``iaff_resnet50.in1k``) is
    accepted. ValueError listing close names if unknown."""
    info = ZOO.get(str(name).lower().split('.', 1)[0])
    if info is None:
        raise unknown_model_error(name)
    return info
