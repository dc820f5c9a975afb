"""Rerun the AFF paper's ablation tables (3, 4, 6) on a host and depth range, several seeds.

Classification hosts (``resnet``: the CIFAR pre-activation ResNet; ``inception``: the
Inception-ResNet of ``cifar_inception``) train with ``train_cifar.py`` on the chosen
dataset (digits by default) and report the best validation accuracy; the ``fpn`` host
trains ``train_seg.py`` on the generated StopSign stand-in and reports the best
stop-sign IoU. Every run is one call of those scripts, in this process.
"""
import csv
import glob
import json
import logging
import os

import numpy as np

__all__ = ['TABLES', 'HOSTS', 'run_ablation', 'summarise', 'format_summary', 'plot_summary']

# table -> [(fusion, r)] with the paper's reduction ratios (Table 4's equal-budget rule)
TABLES = {
    '3': [('global_global', 2), ('local_local', 2), ('aff', 2)],
    '4': [('add', None), ('concat', None), ('ms_gau', 2), ('ms_se', 2), ('ms_sa', 2),
          ('aff', 2), ('iaff', 4)],
    '6': [('half_aff', 2), ('aff', 2), ('concat_aff', 2), ('recursive_aff', 4), ('iaff', 4)],
}
HOSTS = {'resnet': 'cifar_add_resnet20', 'inception': 'cifar_inception_add_b1',
         'fpn': 'fpn_resnet20_add_b1'}
logger = logging.getLogger('gluon_aff')


def _classification_run(model, fusion, r, blocks, seed, epochs, dataset, channel_times, folder):
    from ..train.cifar import main
    argv = ['--model', model, '--askc-type', fusion, '--blocks', str(blocks),
            '--channel-times', str(channel_times), '--dataset', dataset, '--gpus', '',
            '-j', '0', '--batch-size', '32', '--num-epochs', str(epochs), '--cosine',
            '--warmup-epochs', str(min(1, epochs - 1)), '--seed', str(seed),
            '--save-period', '0', '--progress', 'off', '--save-dir', folder,
            '--logging-dir', folder, '--save-plot-dir', folder]
    if r:
        argv += ['--r', str(r)]
    if main(argv) != 0:
        raise RuntimeError('train_cifar.py failed for %s' % ' '.join(argv))
    best = sorted(glob.glob(os.path.join(folder, '*-best.params')))
    return float(os.path.basename(best[-1])[:6])


def _segmentation_run(model, fusion, r, blocks, seed, epochs, coco, channel_times, folder):
    from ..train.seg import main
    argv = ['--coco-root', coco, '--model', model, '--askc-type', fusion, '--blocks',
            str(blocks), '--input-size', '64', '--batch-size', '8', '--num-epochs', str(epochs),
            '--seed', str(seed), '--progress', 'off', '--save-dir', folder,
            '--logging-dir', folder]
    if main(argv) != 0:
        raise RuntimeError('train_seg.py failed for %s' % ' '.join(argv))
    history = glob.glob(os.path.join(folder, '*-history.json'))[0]
    with open(history) as f:
        return max(h['fg_iou'] for h in json.load(f))


def run_ablation(table, host, blocks, seeds, epochs, out_dir, dataset='digits',
                 channel_times=1, progress=True):
    """Train every (variant, b, seed); returns a list of row dicts and writes
    ``out_dir/ablation_table<T>_<host>.csv``."""
    from tqdm import tqdm
    if table not in TABLES:
        raise ValueError('--table must be one of %s, got %r' % (', '.join(TABLES), table))
    if host not in HOSTS:
        raise ValueError('--host must be one of %s, got %r' % (', '.join(HOSTS), host))
    os.makedirs(out_dir, exist_ok=True)
    coco = None
    if host == 'fpn':
        from ..data.stopsign import make_synthetic_stopsign
        coco = os.path.join(out_dir, 'synthetic_stopsign')
        if not os.path.isdir(coco):
            make_synthetic_stopsign(coco, n=80, size=64, seed=0)
    rows = []
    jobs = [(f, r, b, s) for f, r in TABLES[table] for b in blocks for s in seeds]
    for fusion, r, b, seed in tqdm(jobs, desc='table %s on %s' % (table, host), unit='run',
                                   disable=not progress):
        folder = os.path.join(out_dir, 'runs', '%s-b%d-seed%d' % (fusion, b, seed))
        if host == 'fpn':
            metric = _segmentation_run(HOSTS[host], fusion, r, b, seed, epochs, coco,
                                       channel_times, folder)
        else:
            metric = _classification_run(HOSTS[host], fusion, r, b, seed, epochs, dataset,
                                         channel_times, folder)
        rows.append(dict(table=table, host=host, fusion=fusion, r=r or '', blocks=b,
                         seed=seed, metric=metric))
    path = os.path.join(out_dir, 'ablation_table%s_%s.csv' % (table, host))
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def summarise(rows):
    """{fusion: {b: (mean, std, n)}} in the table's order."""
    out = {}
    for row in rows:
        out.setdefault(row['fusion'], {}).setdefault(row['blocks'], []).append(row['metric'])
    return {f: {b: (float(np.mean(v)), float(np.std(v)), len(v)) for b, v in per.items()}
            for f, per in out.items()}


def format_summary(rows, metric_name):
    summary = summarise(rows)
    blocks = sorted({r['blocks'] for r in rows})
    r_of = {r['fusion']: r['r'] for r in rows}
    lines = ['| fusion | r | ' + ' | '.join('b = %d' % b for b in blocks) + ' |',
             '|---|---|' + '---|' * len(blocks)]
    for fusion, per in summary.items():
        cells = ['%.4f ± %.4f' % per[b][:2] for b in blocks]
        lines.append('| %s | %s | %s |' % (fusion, r_of[fusion] or '-', ' | '.join(cells)))
    return '%s (mean ± std over %d seed(s))\n%s' % (
        metric_name, len({r['seed'] for r in rows}), '\n'.join(lines))


def plot_summary(rows, path, metric_name):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    summary = summarise(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for fusion, per in summary.items():
        blocks = sorted(per)
        means = [per[b][0] for b in blocks]
        stds = [per[b][1] for b in blocks]
        ax.errorbar(blocks, means, yerr=stds, marker='o', capsize=3, label=fusion)
    ax.set_xlabel('blocks per stage (b)')
    ax.set_ylabel(metric_name)
    ax.set_xticks(sorted({r['blocks'] for r in rows}))
    ax.set_title('AFF ablation, Table %s on %s' % (rows[0]['table'], rows[0]['host']))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
