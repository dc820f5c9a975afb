"""Necks compared on a dense task: Faster R-CNN (torchvision) on timm's ResNet-18 with
torchvision's FPN ('add'), the AFF-FPN and the iAFF-FPN (gluon_aff.torch.necks), the same
schedule and seeds, trained from scratch on synthetic digit scenes
(gluon_aff.core.digit_scenes: scikit-learn's digits pasted at many scales onto cluttered
canvases, boxes and masks in COCO's format) and scored by pycocotools' COCOeval. Writes
benchmarks/neck_detection.md and .json (the .json after every run, so that a stopped
run keeps what it measured).

    .venv/bin/python benchmarks/neck_detection.py [--seeds 3] [--steps 600] [--quick]

``--quick``: two steps on a few images, one seed (what the test runs). A seed fixes the
weights and the batches; the scenes are the same for every run (train: seed 1000, 400
canvases; validation: seed 2000, 100 canvases). ``--device cuda`` runs on a GPU.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402

from gluon_aff.tools.isa_check import cpu_flags, cpu_model  # noqa: E402
from gluon_aff.torch.necks.detection import METRICS, run_neck, scenes  # noqa: E402


def _on(device, data):
    images, targets, coco = data
    return ([im.to(device) for im in images],
            [{k: v.to(device) for k, v in t.items()} for t in targets], coco)


def table(runs, necks):
    """Markdown: per neck, each metric's mean and standard deviation over the seeds."""
    lines = ['| neck | seeds | ' + ' | '.join(METRICS) + ' | train s / run |',
             '|---|---|' + '---|' * (len(METRICS) + 1)]
    for neck in necks:
        mine = [r for r in runs if r['neck'] == neck]
        if not mine:
            continue
        cells = []
        for m in METRICS + ['seconds']:
            values = [100 * r[m] if m != 'seconds' else r[m] for r in mine]
            if m != 'seconds' and any(v < 0 for v in values):
                cells.append('n/a')
                continue
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append('%.1f ± %.1f' % (statistics.mean(values), spread) if m != 'seconds'
                         else '%.0f' % statistics.mean(values))
        lines.append('| %s | %d | %s |' % (neck, len(mine), ' | '.join(cells)))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--necks', nargs='+', default=['add', 'aff', 'iaff'])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--steps', type=int, default=600)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--lr', type=float, default=0.02)
    p.add_argument('--size', type=int, default=160)
    p.add_argument('--train-images', type=int, default=400)
    p.add_argument('--val-images', type=int, default=100)
    p.add_argument('--device', default='cpu')
    p.add_argument('--quick', action='store_true', help='2 steps, 8 + 4 images, one seed')
    p.add_argument('--out', default=os.path.join(HERE, 'neck_detection.md'))
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.seeds, args.train_images, args.val_images = 2, 1, 8, 4
        args.batch = min(args.batch, 2)
    device = torch.device(args.device)
    from sklearn.datasets import load_digits
    digits = load_digits()
    train = _on(device, scenes(digits, args.train_images, args.size, seed=1000))
    val = _on(device, scenes(digits, args.val_images, args.size, seed=2000,
                             first_id=args.train_images + 1))
    try:
        from tqdm import tqdm
        progress = (lambda it: tqdm(it, leave=False)) if sys.stderr.isatty() else None
    except ImportError:
        progress = None
    raw = os.path.splitext(args.out)[0] + '.json'
    runs, started = [], time.time()
    for seed in range(args.seeds):                  # interleaved: every neck, then a seed
        for neck in args.necks:
            result = run_neck(neck, seed, train, val, args.steps, args.batch, args.lr,
                              args.size, progress)
            model_device = str(device)
            runs.append(dict(result, neck=neck, seed=seed, device=model_device))
            print('%s seed %d: AP %.3f AP50 %.3f (%.0f s)' % (
                neck, seed, result['AP'], result['AP50'], result['seconds']), flush=True)
            with open(raw, 'w') as f:
                json.dump(dict(args=vars(args), runs=runs), f, indent=1)
    flags = cpu_flags() or set()
    shown = [f for f in ('amx_tile', 'avx512f', 'avx2') if f in flags]
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
             '%s (%d cores; %s)' % (cpu_model(), len(os.sched_getaffinity(0)),
                                    ', '.join(shown) or '?'))
    command = 'python benchmarks/neck_detection.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    lines = ['# Necks on a dense task: add, AFF and iAFF FPNs under Faster R-CNN', '',
             'Measured %s on %s; Python %s, PyTorch %s; %.0f minutes in all.' % (
                 datetime.date.today().isoformat(), where, platform.python_version(),
                 torch.__version__, (time.time() - started) / 60),
             '', 'Command: `%s`' % command, '',
             'timm `resnet18` from scratch, FPN of %d channels (P2-P5 and a pooled P6), '
             'Faster R-CNN at %d x %d (1000/500 proposals in training, 128 RoIs per image), '
             'batch %d, %d SGD steps (lr %g, warm-up 10%%, /10 at '
             '80%%), %d training and %d validation canvases; COCOeval box metrics x 100, '
             'mean ± standard deviation over %d seeds (weights and batches).' % (
                 64, args.size, args.size, args.batch, args.steps, args.lr,
                 args.train_images, args.val_images, args.seeds),
             ''] + table(runs, args.necks)
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return runs


if __name__ == '__main__':
    main()
