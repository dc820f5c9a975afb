"""One way to turn a run's configuration into a command line, for both frameworks' training
commands (``train_*.py``, ``python -m gluon_aff.torch.finetune``).

A configuration is a dataclass whose fields are made with ``option``: the field's default,
its help, and how it is spelt on the command line (``--`` + the name with dashes unless
``flags`` says otherwise; ``positional``, ``action``, ``nargs``/``const``, ``parse`` for
what argparse needs beyond the field's type). ``build_parser`` makes the parser from the
fields, ``parse_config`` the configuration from argv, ``run_script`` runs it with the exit
codes a user expects: bad input one error line and 2, Ctrl-C 130, SIGTERM 143.
"""
import argparse
import dataclasses
import signal
import sys
import threading
import typing

__all__ = ['option', 'flag_of', 'recipe_mismatch', 'build_parser', 'parse_config', 'run_script', 'Terminated',
           'check_choices']


def option(default, help, flags=None, choices=None, hidden=False, positional=False,
           action=None, nargs=None, const=None, parse=None, default_factory=None):
    """A configuration field and its command-line flag; ``hidden`` flags are testing aids
    left out of ``--help``; ``parse`` turns the flag's text into the value."""
    meta = dict(help=help, flags=flags, choices=choices, hidden=hidden, positional=positional,
                action=action, nargs=nargs, const=const, parse=parse)
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_of(cls, name):
    """The command-line flag of the field ``name`` (its longest spelling)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.metadata.get('positional'):
                return name.upper()
            return max(f.metadata.get('flags') or ('--' + name.replace('_', '-'),), key=len)
    return '--' + name.replace('_', '-')


def recipe_mismatch(path, saved, recipe, config_class, folder_flag, writer='a run',
                    labels=None):
    """The ``--auto-resume`` error for checkpoint ``path``, written with the recipe ``saved``
    where this run has ``recipe``: it names the flag of the first field that differs
    (``labels``: names for fields that are not flags) and the way out; None when none does."""
    differ = sorted(k for k in set(saved) | set(recipe) if saved.get(k) != recipe.get(k))
    if not differ:
        return None
    key = differ[0]
    flag = (labels or {}).get(key) or flag_of(config_class, key)
    return ValueError('--auto-resume: %s was written by %s with %s %r, this run has %r%s; give '
                      'the same options, or another %s to start afresh'
                      % (path, writer, flag, saved.get(key), recipe.get(key),
                         ' (and %d more)' % (len(differ) - 1) if len(differ) > 1 else '',
                         folder_flag))


def check_choices(config):
    """ValueError naming the flag of a field whose value is not one of its choices."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get('choices')
        value = getattr(config, f.name)
        if choices and value not in choices:
            raise ValueError("%s must be one of %s, got '%s'" % (
                flag_of(type(config), f.name), ', '.join(str(c) for c in choices), value))


def _value_type(annotation):
    """int for ``int`` and ``Optional[int]``."""
    if typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _default(f):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def build_parser(config_class, prog, description=None):
    """An ``argparse`` parser with one argument per field of ``config_class`` that has a
    help text; its defaults are the class's."""
    doc = description or config_class.__doc__.strip().split('\n')[0].split(': ', 1)[-1]
    p = argparse.ArgumentParser(prog=prog, description=doc[0].upper() + doc[1:],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(config_class):
        meta = f.metadata
        if 'help' not in meta:
            continue
        kwargs = dict(default=_default(f),
                      help=argparse.SUPPRESS if meta.get('hidden') else meta['help'])
        if meta.get('positional'):
            args = (f.name,)
            kwargs.pop('default')
        else:
            args = meta.get('flags') or ('--' + f.name.replace('_', '-'),)
            kwargs['dest'] = f.name
        kind = _value_type(f.type)
        if meta.get('action'):
            kwargs['action'] = meta['action']
        elif kind is bool:
            kwargs['action'] = 'store_true'
        else:
            kwargs['type'] = meta.get('parse') or kind
            if meta.get('choices'):
                kwargs['choices'] = meta['choices']
            if meta.get('nargs'):
                kwargs.update(nargs=meta['nargs'], const=meta.get('const'))
        p.add_argument(*args, **kwargs)
    p.set_defaults(config_class=config_class)
    return p


def parse_config(parser, argv):
    """The configuration ``argv`` describes (``ValueError`` for values out of range)."""
    values = vars(parser.parse_args(argv))
    return values.pop('config_class')(**values)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers send before they kill a job), handled as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated()


def run_script(parser, run, argv=None, errors=(), on_error=None, finish=None, report=True):
    """Parse ``argv`` into a configuration and call ``run(config)``; bad input (ValueError,
    IOError and ``errors``) prints one error line (exit code 2; ``on_error(message)`` sees
    it first, for the run's log; ``report=False``: not printed, as on the processes of a
    distributed run but the first). Ctrl-C exits with 130 and SIGTERM with 143, each after
    ``run`` saved what resuming needs; ``finish()`` runs however it ends."""
    from .released import CheckpointError
    argv = sys.argv[1:] if argv is None else list(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        run(parse_config(parser, argv))
    except (ValueError, IOError, CheckpointError) + tuple(errors) as e:
        message = '%s: error: %s' % (parser.prog, e)
        if on_error is not None:
            on_error(message)
        if report:
            print(message, file=sys.stderr)
        return 2
    except Terminated:
        if report:
            print('%s: stopped by SIGTERM' % parser.prog, file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        if finish is not None:
            finish()
    return 0
