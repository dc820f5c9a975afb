"""Rerun the AFF paper's ablation tables (3, 4, 6) on a host and depth range, several seeds.

Classification hosts (``resnet``: the CIFAR pre-activation ResNet; ``inception``: the
Inception-ResNet of ``cifar_inception``) train with the CIFAR recipe on the chosen
dataset (digits by default) and report the best validation accuracy; the ``fpn`` host
trains the segmentation recipe on the generated StopSign stand-in and reports the best
stop-sign IoU. Every run is one ``run(config)`` in this process.
"""
import csv
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
    from ..train import CifarConfig, run
    config = CifarConfig(model=model, askc_type=fusion, blocks=blocks,
                         channel_times=channel_times, dataset=dataset, gpus='', num_workers=0,
                         batch_size=32, num_epochs=epochs, cosine=True,
                         warmup_epochs=min(1, epochs - 1), seed=seed, save_period=0,
                         progress='off', save_dir=folder, logging_dir=folder,
                         save_plot_dir=folder, r=r or None)
    return run(config).best


def _segmentation_run(model, fusion, r, blocks, seed, epochs, coco, channel_times, folder):
    from ..train import SegConfig, run
    config = SegConfig(coco_root=coco, model=model, askc_type=fusion, blocks=blocks,
                       input_size=64, batch_size=8, num_epochs=epochs, seed=seed,
                       progress='off', save_dir=folder, logging_dir=folder)
    return run(config).best


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
