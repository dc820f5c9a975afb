"""The twin's entry functions, one per declared name (``gluon_aff.core.zoo``):
``gluon_aff.torch.zoo.iaff_resnet50(pretrained=True)``. ``gluon_aff.torch.registry``
makes them and registers them with timm, whose registry also reads ``default_cfgs`` here
(a pretrained config per released file)."""
default_cfgs = {}
