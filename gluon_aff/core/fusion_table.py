"""A table of fusion types by name, needing no framework: the MXNet blocks
(``gluon_aff.nn.registry``) and the PyTorch twin's (``gluon_aff.torch.fusion``) each keep
one. Names are case-insensitive; the original open-aff strings are aliases of the clear
names."""
import difflib

__all__ = ['FusionTable']


class FusionTable(object):
    """``register(name, aliases)`` (a class decorator), ``resolve(name)`` (the canonical name,
    or a ValueError naming the known ones), ``names()``, ``get(name)`` (the class),
    ``classes()``."""

    def __init__(self):
        self._classes = {}      # canonical name -> block class
        self._aliases = {}      # lower-case name or alias -> canonical name
        self._original = {}     # canonical name -> original open-aff strings, for messages

    def register(self, name, aliases=()):
        def decorate(cls):
            canonical = name.lower()
            for key in (canonical,) + tuple(a.lower() for a in aliases):
                owner = self._aliases.get(key)
                if owner is not None and self._classes[owner] is not cls:
                    raise ValueError("fusion name '%s' is already registered for %s"
                                     % (key, self._classes[owner].__name__))
                self._aliases[key] = canonical
            self._classes[canonical] = cls
            self._original[canonical] = tuple(aliases)
            cls.fusion_name = canonical
            return cls
        return decorate

    def names(self):
        return sorted(self._classes)

    def classes(self):
        return list(self._classes.values())

    def resolve(self, name):
        if not isinstance(name, str):
            raise ValueError('fusion type must be a string, got %r' % (name,))
        key = name.lower()
        if key in self._aliases:
            return self._aliases[key]
        close = difflib.get_close_matches(key, list(self._aliases), n=3, cutoff=0.5)
        known = ', '.join(
            c + (' (original: %s)' % '/'.join(self._original[c]) if self._original[c] else '')
            for c in self.names())
        hint = (' Did you mean %s?' % ', '.join("'%s'" % self._aliases[c] for c in close)
                if close else '')
        raise ValueError("unknown fusion type '%s'.%s Known fusion types: %s."
                         % (name, hint, known))

    def get(self, name):
        return self._classes[self.resolve(name)]
