"""The one registry of fusion types.

Every place that lets a user choose how two feature maps are fused (zoo
constructors, ``--askc-type`` in the training scripts, later ablation hosts)
resolves the name here. Names are case-insensitive; the original open-aff
strings are registered as aliases of the clear names.
"""
from ..core.fusion_table import FusionTable

__all__ = ['register_fusion', 'resolve_fusion', 'create_fusion', 'list_fusions',
           'get_fusion_class', 'fusion_classes']

_TABLE = FusionTable()


def register_fusion(name, aliases=()):
    """Class decorator: register a fusion block under ``name`` (and ``aliases``).

    The class is constructed as ``cls(channels, r=..., **kwargs)`` and called
    as ``block(y, x)``: ``y`` is the body output / larger-receptive-field map,
    ``x`` the shortcut / low-level map (the paper's Y and X).
    """
    return _TABLE.register(name, aliases)


def list_fusions():
    """Canonical fusion names, sorted."""
    return _TABLE.names()


def resolve_fusion(name):
    """Return the canonical name for ``name`` or raise ValueError naming the known ones."""
    return _TABLE.resolve(name)


def get_fusion_class(name):
    return _TABLE.get(name)


def fusion_classes():
    """Every registered fusion block class."""
    return _TABLE.classes()


def create_fusion(name, channels, r, **kwargs):
    """Build the fusion block registered as ``name`` for ``channels`` channels (AFF and
    iAFF with ``resize=None`` unless given: the zoo's hosts fuse maps of one size, and
    their graphs hold no resize)."""
    cls = get_fusion_class(name)
    if hasattr(cls, '_init_inputs'):
        kwargs.setdefault('resize', None)
    return cls(channels, r=r, **kwargs)
