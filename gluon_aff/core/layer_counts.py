"""A network's layers with their parameters and multiply-adds, as a table: the rows both
frameworks' counters give (``gluon_aff.utils.flops`` from MXNet's graph,
``gluon_aff.torch.summary`` from the twin's modules), and their totals."""
from collections import namedtuple

__all__ = ['LayerCount', 'totals', 'format_table']

LayerCount = namedtuple('LayerCount', ['name', 'op', 'shape', 'params', 'macs', 'attention'])


def totals(rows):
    """``dict(params, macs, attention_params, attention_macs)`` of the rows."""
    return dict(params=sum(r.params for r in rows), macs=sum(r.macs for r in rows),
                attention_params=sum(r.params for r in rows if r.attention),
                attention_macs=sum(r.macs for r in rows if r.attention))


def format_table(rows, title=None):
    """A text table of the rows and their totals (``gluon-aff summary``'s)."""
    lines = [title] if title else []
    header = ('layer', 'op', 'output shape', 'params', 'mult-adds', 'att')
    cells = [(r.name, r.op, 'x'.join(str(d) for d in r.shape), format(r.params, ','),
              format(r.macs, ','), '*' if r.attention else '') for r in rows]
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(len(header))]
    fmt = '  '.join('%%-%ds' % w if i < 3 else '%%%ds' % w for i, w in enumerate(widths))
    lines += [fmt % header, fmt % tuple('-' * w for w in widths)] + [fmt % c for c in cells]
    t = totals(rows)
    lines += ['', 'total: %s parameters (incl. BN statistics), %s multiply-adds (%.3f G)'
              % (format(t['params'], ','), format(t['macs'], ','), t['macs'] / 1e9),
              'attention (rows marked *): %s parameters (%.1f%%), %s multiply-adds (%.1f%%)'
              % (format(t['attention_params'], ','),
                 100.0 * t['attention_params'] / max(t['params'], 1),
                 format(t['attention_macs'], ','),
                 100.0 * t['attention_macs'] / max(t['macs'], 1))]
    return '\n'.join(lines)
