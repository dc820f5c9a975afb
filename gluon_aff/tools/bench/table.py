"""The bench's rows as ratios and as a table."""

from .paths import TRAIN_PATHS

__all__ = ['add_ratios', 'format_table', 'model_macs']


def model_macs(models, kwargs=None, input_size=None):
    """{zoo name: multiply-adds of one image at ``input_size`` (default: the model's)},
    counted from the graph as ``gluon-aff summary`` counts them (timm's networks left out)."""
    from ...model_zoo import get_model, get_model_info
    from ...utils.flops import count_graph
    from .paths import TIMM_PREFIX
    out = {}
    for name in models:
        if name.startswith(TIMM_PREFIX):
            continue
        size = input_size or get_model_info(name).input_size
        net = get_model(name, **(kwargs or {}))
        out[name] = sum(r.macs for r in count_graph(net, (1, 3, size, size)))
    return out


def _lookup(results, **match):
    for r in results:
        if all(r.get(k) == v for k, v in match.items()) and r.get('img_per_s'):
            return r
    return None


def add_ratios(results, baseline='resnet50_add', macs=None):
    """``vs_hybridized`` (throughput / the hybridized path's, same model and batch),
    ``time_vs_baseline`` (time per image / the baseline model's, same path, batch and
    input size; for a row timed in turn with the baseline, ``benchmark_pair``, its
    ``ratio_p50``), where both rows exist, and ``macs_vs_baseline`` (multiply-adds / the
    baseline's) where ``macs`` ({model: multiply-adds}) has both: what the time ratio would
    be if time followed arithmetic."""
    for r in results:
        if macs and macs.get(r['model']) and macs.get(baseline):
            r['macs_vs_baseline'] = macs[r['model']] / float(macs[baseline])
        if not r.get('img_per_s'):
            continue
        hyb = _lookup(results, model=r['model'], batch=r['batch'], path='hybridized')
        if hyb and r['path'] not in TRAIN_PATHS:
            r['vs_hybridized'] = r['img_per_s'] / hyb['img_per_s']
        base = _lookup(results, model=baseline, batch=r['batch'], path=r['path'],
                       input_size=r['input_size'])
        if r.get('paired_with') == baseline and r.get('ratio_p50'):
            r['time_vs_baseline'] = r['ratio_p50']
        elif r['model'] == baseline and r.get('paired_with'):
            r['time_vs_baseline'] = 1.0
        elif base:
            r['time_vs_baseline'] = base['img_per_s'] / r['img_per_s']
    return results


def _fmt(value, spec):
    return '-' if value is None else spec % value


def format_table(results, baseline='resnet50_add', markdown=False):
    """The results as a text (or markdown) table, ratios and accuracies included."""
    head = ['model', 'path', 'batch', 'img/s', 'p50 ms', 'p90 ms', 'peak MB',
            'max rel diff', 'top-1 agree', 'digits acc', 'x hybridized',
            'time vs %s' % baseline, 'MACs vs %s' % baseline]
    rows = []
    for r in results:
        if r.get('error'):
            rows.append([r['model'], r['path'], str(r['batch']), 'unavailable: ' + r['error']]
                        + [''] * (len(head) - 4))
            continue
        rows.append([r['model'], r['path'], str(r['batch']), _fmt(r['img_per_s'], '%.2f'),
                     _fmt(r['p50_ms'], '%.1f'), _fmt(r['p90_ms'], '%.1f'),
                     _fmt(r['peak_rss_mb'], '%.0f'), _fmt(r['max_rel_diff'], '%.1e'),
                     _fmt(r.get('top1_agreement'), '%.3f'), _fmt(r.get('digits_acc'), '%.4f'),
                     _fmt(r.get('vs_hybridized'), '%.2fx'),
                     _fmt(r.get('time_vs_baseline'), '%.2fx'),
                     _fmt(r.get('macs_vs_baseline'), '%.3fx')])
    if markdown:
        lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        return '\n'.join(lines + ['| ' + ' | '.join(c for c in row) + ' |' for row in rows])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows if len(row[i]) < 40))
              if rows else len(head[i]) for i in range(len(head))]
    line = lambda cells: '  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa
    return '\n'.join([line(head)] + [line(row) for row in rows])
