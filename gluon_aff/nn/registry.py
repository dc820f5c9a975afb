"""The one registry of fusion types.

Every place that lets a user choose how two feature maps are fused (zoo
constructors, ``--askc-type`` in the training scripts, later ablation hosts)
resolves the name here. Names are case-insensitive; the original open-aff
strings are registered as aliases of the clear names.
"""
import difflib

__all__ = ['register_fusion', 'resolve_fusion', 'create_fusion', 'list_fusions',
           'get_fusion_class']

_FUSIONS = {}   # canonical name -> block class
_ALIASES = {}   # lower-case name or alias -> canonical name
_ORIGINAL = {}  # canonical name -> original open-aff strings, for messages


def register_fusion(name, aliases=()):
    """Class decorator: register a fusion block under ``name`` (and ``aliases``).

    The class is constructed as ``cls(channels, r=..., **kwargs)`` and called
    as ``block(y, x)``: ``y`` is the body output / larger-receptive-field map,
    ``x`` the shortcut / low-level map (the paper's Y and X).
    """
    def decorate(cls):
        canonical = name.lower()
        for key in (canonical,) + tuple(a.lower() for a in aliases):
            owner = _ALIASES.get(key)
            if owner is not None and _FUSIONS[owner] is not cls:
                raise ValueError("fusion name '%s' is already registered for %s"
                                 % (key, _FUSIONS[owner].__name__))
            _ALIASES[key] = canonical
        _FUSIONS[canonical] = cls
        _ORIGINAL[canonical] = tuple(aliases)
        cls.fusion_name = canonical
        return cls
    return decorate


def list_fusions():
    """Canonical fusion names, sorted."""
    return sorted(_FUSIONS)


def resolve_fusion(name):
    """Return the canonical name for ``name`` or raise ValueError naming the known ones."""
    if not isinstance(name, str):
        raise ValueError('fusion type must be a string, got %r' % (name,))
    key = name.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(_ALIASES), n=3, cutoff=0.5)
    known = ', '.join(
        c + (' (original: %s)' % '/'.join(_ORIGINAL[c]) if _ORIGINAL[c] else '')
        for c in list_fusions())
    hint = (' Did you mean %s?' % ', '.join("'%s'" % _ALIASES[c] for c in close)) if close else ''
    raise ValueError("unknown fusion type '%s'.%s Known fusion types: %s."
                     % (name, hint, known))


def get_fusion_class(name):
    return _FUSIONS[resolve_fusion(name)]


def create_fusion(name, channels, r, **kwargs):
    """Build the fusion block registered as ``name`` for ``channels`` channels."""
    return get_fusion_class(name)(channels, r=r, **kwargs)
