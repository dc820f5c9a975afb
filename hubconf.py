"""torch.hub entry points: every gluon-aff name, as ``gluon_aff.torch.get_model`` builds it.

    torch.hub.load('YimianDai/open-aff' or a clone of gluon-aff, 'iaff_resnet50',
                   pretrained=True)          # source='local' for a folder

``pretrained``: False, True (the released file, downloaded and verified), a tag
('in1k', 'cifar100', 'cifar100_coarse') or a checkpoint path; every other argument as
``gluon_aff.torch.get_model`` (and timm's create_model) takes it.
"""
dependencies = ['torch', 'timm', 'numpy', 'requests', 'safetensors']


def _entries():
    from gluon_aff.torch import zoo
    from gluon_aff.core.zoo import list_models
    return {name: getattr(zoo, name) for name in list_models()}


globals().update(_entries())
