"""The PyTorch twin's speed targets, measured within one run and repeated: for
resnet50_add, aff_resnet50 and iaff_resnet50 (and timm's own resnet50d as the reference a
PyTorch user would pick instead) at batch 1 and 32, the twin eager and compiled, as built
and in its inference form (gluon_aff.torch.optimize), against ONNX Runtime; a training
step at batch 32, compiled, against MXNet's. Each target is evaluated on every repeat and
reported as met or not met with the median and the spread over the repeats. Writes
benchmarks/twin_speed.md and .json (``--isa AVX2``: twin_speed_avx2.*). ``--plain``: the
fusion layer's targets, iaff_resnet50 against resnet50_add as timm returns them (eager,
compiled, training steps) and the compiled inference form (twin_speed_plain*.md).

    .venv/bin/python benchmarks/twin_speed.py [--repeats 3] [--isa AVX2] [--no-train] [--plain]

About 25 minutes a repeat on 2 cores (the compiled paths compile in every process;
inductor's cache makes the later repeats' compiles shorter). ``--isa AVX2`` runs oneDNN
(PyTorch's and MXNet's) and PyTorch's own kernels as on an AVX2 CPU
(``DNNL_MAX_CPU_ISA``, ``ATEN_CPU_CAPABILITY``); ONNX Runtime picks its kernels itself
and is not limited. Random weights; each path in its own process, except with ``--plain``:
there the two networks of a path run in one process, timed in turn with the order swapped
every round, and a ratio is the median over pairs of rounds (``--separate``: each in its
own process, as the earlier plain pages); run it alone.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gluon_aff.tools.bench import add_ratios, benchmark, benchmark_pair  # noqa: E402
from gluon_aff.tools.isa_check import cpu_flags, cpu_model  # noqa: E402

NETWORKS = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
TIMM = 'timm:resnet50d'
INFERENCE = ['onnxruntime', 'torch', 'torch-compile', 'torch-optimized',
             'torch-optimized-compile']
TRAIN = ['train', 'torch-compile-train']
TWIN_FORMS = ['torch', 'torch-compile', 'torch-optimized', 'torch-optimized-compile']
ISA = {'AVX2': dict(DNNL_MAX_CPU_ISA='AVX2', ATEN_CPU_CAPABILITY='avx2'),
       'AVX512_CORE': dict(DNNL_MAX_CPU_ISA='AVX512_CORE', ATEN_CPU_CAPABILITY='avx512')}


PLAIN = ['resnet50_add', 'iaff_resnet50']
PLAIN_INFERENCE = ['torch', 'torch-compile', 'torch-optimized-compile']
PLAIN_TRAIN = ['torch-train', 'torch-compile-train']


def measure_plain(batch_iters, train, separate=False):
    """One repeat of ``--plain``: the networks as timm returns them (eager and compiled),
    the compiled inference form, at batch 1 and 32; training steps at batch 32. The two
    networks of a path in one process, timed in turn (``benchmark_pair``), or with
    ``separate`` each in its own process."""
    rows = []
    if separate:
        for batch, iters in batch_iters:
            rows += benchmark(PLAIN, [batch], PLAIN_INFERENCE, iters=iters, warmup=3,
                              accuracy=False, progress=False)
        if train:
            rows += benchmark(PLAIN, [32], PLAIN_TRAIN, iters=3, warmup=2, accuracy=False,
                              progress=False)
    else:
        for batch, iters in batch_iters:
            rows += benchmark_pair(PLAIN[::-1], [batch], PLAIN_INFERENCE, iters=iters,
                                   warmup=3, progress=False)
        if train:
            rows += benchmark_pair(PLAIN[::-1], [32], PLAIN_TRAIN, iters=4, warmup=2,
                                   progress=False)
    return add_ratios(rows, 'resnet50_add')


def targets_plain(rows, train):
    """The fusion-layer targets: iaff_resnet50 / resnet50_add, same path and batch."""
    limits = [('torch', 1.25), ('torch-compile', 1.25), ('torch-optimized-compile', 1.20)]
    out = [('batch %d, %s, iaff_resnet50 / resnet50_add' % (b, path), limit,
            _ratio(rows, ('iaff_resnet50', path, b), ('resnet50_add', path, b)))
           for b in (1, 32) for path, limit in limits]
    if train:
        out += [('training step, batch 32, %s, iaff_resnet50 / resnet50_add' % path, 1.30,
                 _ratio(rows, ('iaff_resnet50', path, 32), ('resnet50_add', path, 32)))
                for path in PLAIN_TRAIN]
    return out


def measure(batch_iters, train):
    """One repeat: every row, batch 1 and 32 inference, batch 32 training."""
    rows = []
    for batch, iters in batch_iters:
        rows += benchmark(NETWORKS + [TIMM], [batch], INFERENCE, iters=iters, warmup=3,
                          accuracy=False, progress=False)
    if train:
        rows += benchmark(['resnet50_add', 'iaff_resnet50'], [32], TRAIN, iters=3, warmup=2,
                          accuracy=False, progress=False)
    return add_ratios(rows, 'resnet50_add')


def _ms(rows, model, path, batch):
    """Milliseconds per image, or None where not measured."""
    for r in rows:
        if (r['model'], r['path'], r['batch']) == (model, path, batch) and r.get('img_per_s'):
            return 1e3 / r['img_per_s']
    return None


def _ratio(rows, a, b):
    """time(a) / time(b) for a, b = (model, path, batch): the median over rounds timed in
    turn where a was measured paired with b, else the ratio of the two times per image;
    None where either is missing."""
    for r in rows:
        if ((r['model'], r['path'], r['batch']) == a and r.get('paired_with') == b[0]
                and r.get('ratio_p50') and (b[1], b[2]) == a[1:]):
            return r['ratio_p50']
    ta, tb = _ms(rows, *a), _ms(rows, *b)
    return None if ta is None or tb is None else ta / tb


def targets(rows, train):
    """[(target, limit, ratio or None[, the fastest form])] for one repeat."""
    out = []
    for b in (1, 32):
        for path, limit in (('torch-optimized', 1.35), ('torch-optimized-compile', 1.25)):
            out.append(('batch %d, %s, iaff_resnet50 / resnet50_add' % (b, path), limit,
                        _ratio(rows, ('iaff_resnet50', path, b), ('resnet50_add', path, b))))
        for net in NETWORKS:
            fastest = min((t, p) for p in TWIN_FORMS
                          for t in [_ms(rows, net, p, b)] if t is not None)
            ort = _ms(rows, net, 'onnxruntime', b)
            out.append(('batch %d, %s: the twin\'s fastest form / ONNX Runtime' % (b, net),
                        1.10, fastest[0] / ort if ort else None, fastest[1]))
            out.append(('batch %d, %s: the twin eager (torch-optimized) / ONNX Runtime'
                        % (b, net), 1.25, _ratio(rows, (net, 'torch-optimized', b),
                                                  (net, 'onnxruntime', b))))
        for twin_path, timm_path in (('torch-optimized', 'torch'),
                                     ('torch-optimized-compile', 'torch-compile')):
            out.append(('batch %d, resnet50_add %s / timm resnet50d %s' % (b, twin_path,
                                                                            timm_path), 1.0,
                        _ratio(rows, ('resnet50_add', twin_path, b), (TIMM, timm_path, b))))
    if train:
        out.append(('training step, batch 32, torch-compile-train, iaff_resnet50 / '
                    'resnet50_add', 1.35, _ratio(rows, ('iaff_resnet50', 'torch-compile-train',
                                                        32), ('resnet50_add',
                                                              'torch-compile-train', 32))))
        for net in ('resnet50_add', 'iaff_resnet50'):
            out.append(('training step, batch 32, %s: the twin compiled / MXNet (train)' % net,
                        1.0, _ratio(rows, (net, 'torch-compile-train', 32),
                                    (net, 'train', 32))))
    return out


def summary(per_repeat):
    """Markdown lines: each target, met or not over the repeats, median and spread."""
    lines = ['| target | limit | median | min | max | met in | verdict |',
             '|---|---|---|---|---|---|---|']
    for i, (name, limit) in enumerate(t[:2] for t in per_repeat[0]):
        values = [rep[i][2] for rep in per_repeat if rep[i][2] is not None]
        forms = sorted({rep[i][3] for rep in per_repeat if len(rep[i]) > 3})
        if forms:
            name += ' (fastest: %s)' % ', '.join(forms)
        if not values:
            lines.append('| %s | <= %.2fx | - | - | - | - | not measured |' % (name, limit))
            continue
        met = sum(v <= limit for v in values)
        median = statistics.median(values)
        verdict = 'met' if median <= limit else 'NOT met'
        lines.append('| %s | <= %.2fx | %.3fx | %.3fx | %.3fx | %d of %d | %s |' % (
            name, limit, median, min(values), max(values), met, len(values), verdict))
    return lines


def times_table(all_rows):
    """Median milliseconds per image of every (model, path, batch) over the repeats."""
    keys = sorted({(r['model'], r['path'], r['batch']) for rows in all_rows for r in rows},
                  key=lambda k: (k[2], k[1], k[0]))
    lines = ['| batch | path | model | ms per image (median) | min | max |',
             '|---|---|---|---|---|---|']
    for model, path, batch in keys:
        values = [_ms(rows, model, path, batch) for rows in all_rows]
        values = [v for v in values if v is not None]
        if values:
            lines.append('| %d | %s | %s | %.2f | %.2f | %.2f |' % (
                batch, path, model, statistics.median(values), min(values), max(values)))
        else:
            errors = [r.get('error') for rows in all_rows for r in rows
                      if (r['model'], r['path'], r['batch']) == (model, path, batch)]
            lines.append('| %d | %s | %s | unavailable: %s | | |' % (
                batch, path, model, (errors[0] or '?').replace('|', '/')))
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--isa', choices=sorted(ISA), default=None,
                   help='limit oneDNN and PyTorch kernels to this instruction set')
    p.add_argument('--no-train', dest='train', action='store_false',
                   help='leave out the training step at batch 32 (about half the time)')
    p.add_argument('--iters', type=int, default=20, help='timed runs at batch 1 (default 20; '
                   'at batch 32 a quarter of it)')
    p.add_argument('--plain', action='store_true',
                   help='only the plain networks (eager, compiled) and the compiled '
                   'inference form of resnet50_add and iaff_resnet50, against each other '
                   '(the fusion layer\'s targets; twin_speed_plain.md)')
    p.add_argument('--separate', action='store_true',
                   help='with --plain: each network in its own process (as the pages '
                   'before twin_speed_plain_paired.md) instead of the two networks of a path '
                   'timed in turn in one process')
    p.add_argument('--out', default=None)
    p.add_argument('--from-json', default=None,
                   help='write the page from the rows an earlier run saved (no measuring)')
    args = p.parse_args()
    if args.isa:
        os.environ.update(ISA[args.isa])
    out = args.out or os.path.join(HERE, 'twin_speed%s%s.md' % (
        '_plain' if args.plain else '', '_' + args.isa.lower() if args.isa else ''))
    targets_set = targets_plain if args.plain else targets
    raw = os.path.splitext(out)[0] + '.json'
    if args.from_json:
        with open(args.from_json) as f:
            all_rows = json.load(f)['repeats']
        args.repeats = len(all_rows)
    else:
        all_rows = []
        for repeat in range(args.repeats):
            batch_iters = [(1, args.iters), (32, max(3, args.iters // 4))]
            all_rows.append(measure_plain(batch_iters, args.train, args.separate)
                            if args.plain else measure(batch_iters, args.train))
            with open(raw, 'w') as f:           # what is measured so far survives a crash
                json.dump(dict(cpu=cpu_model(), isa=args.isa, repeats=all_rows), f, indent=1)
            print('repeat %d of %d done' % (repeat + 1, args.repeats), flush=True)
    per_repeat = [targets_set(rows, args.train) for rows in all_rows]
    import onnxruntime
    import torch
    flags = cpu_flags() or set()
    shown = [f for f in ('amx_tile', 'amx_bf16', 'avx512_bf16', 'avx512_vnni', 'avx512f',
                         'avx2') if f in flags]
    lines = ['# The PyTorch twin: speed targets%s' % (' of the plain networks (the fusion layer)'
                                                     if args.plain else ''), '',
             'Measured %s on %s (%d cores; CPU flags: %s)%s; Python %s, PyTorch %s, ONNX '
             'Runtime %s. %d repeats of the whole set, interleaved; random weights; %s, '
             'warm-up excluded; the verdict is on the median.' % (
                 datetime.date.today().isoformat(), cpu_model(), len(os.sched_getaffinity(0)),
                 ', '.join(shown) or '?',
                 ' with oneDNN and PyTorch limited to %s (ONNX Runtime not limited)' % args.isa
                 if args.isa else '', platform.python_version(), torch.__version__,
                 onnxruntime.__version__, args.repeats,
                 'the two networks of a path in one process, timed in turn (the order swapped '
                 'every round); a ratio is the median, over pairs of rounds, of one\'s time '
                 'over the other\'s' if args.plain and not args.separate else
                 'each path in its own process; a ratio is a time per image over another '
                 'measured in the same repeat'),
             '', 'Command: `.venv/bin/python benchmarks/twin_speed.py --repeats %d%s%s%s%s`' % (
                 args.repeats, ' --plain' if args.plain else '',
                 ' --separate' if args.plain and args.separate else '',
                 ' --isa ' + args.isa if args.isa else '',
                 '' if args.train else ' --no-train'),
             '', '## Targets', ''] + summary(per_repeat) + [
             '', '## Times', ''] + times_table(all_rows)
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(raw, 'w') as f:
        json.dump(dict(cpu=cpu_model(), flags=shown, isa=args.isa, repeats=all_rows), f,
                  indent=1)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
