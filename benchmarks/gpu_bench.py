"""The PyTorch twin on one CUDA GPU: resnet50_add, aff_resnet50 and iaff_resnet50, eager
(NCHW), channels-last, bfloat16 and float16 autocast (channels-last) and torch.compile
(channels-last), at batch 1, 32 and 256, inference and a training step (SGD, cross-entropy);
images per second, iAFF/add and AFF/add time ratios, peak memory. Writes
benchmarks/gpu_results.json and .md (the GPU's name in both); then the AFF/iAFF feature
pyramids against torchvision's (benchmarks/neck_cost.py: neck_cost_gpu.md and .json).

    .venv/bin/python benchmarks/gpu_bench.py [--budget-s 540] [--out-dir benchmarks]
    .venv/bin/python benchmarks/gpu_bench.py --dry-run --out-dir /tmp/x   # on the CPU

Each (network, form, batch, mode) runs for ``--seconds`` after warm-up (CUDA events,
synchronised); the compiled form compiles once per network and mode (batch 1 compiles
again: dynamo specialises it). Configurations run in order of importance (the eager forms
first, then compile) and stop at the time budget, the rest named as skipped, so that a
run fits a lease of 10 minutes. ``--dry-run``: the same code on the CPU with the networks'
smallest configuration at 64 px (a 2x2 last map: a batch-1 training step needs more than
one value per channel), batch 1 and 2, one timed run each, and torch.compile with the
'eager' backend (dynamo's capture without inductor's code generation): what the test
suite runs.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

NETWORKS = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
FORMS = ['eager', 'channels-last', 'bf16', 'fp16', 'compile']
MODES = ['inference', 'train']


def _network(name, dry_run, device):
    """The twin as timm builds it (random weights). A training step on one image needs
    nothing more: the global branches normalise their one pooled vector with the running
    statistics (gluon_aff.torch.fusion.GlobalContext)."""
    import torch
    from gluon_aff import torch as twin
    from gluon_aff.core.zoo import get_model_info
    info = get_model_info(name)
    kwargs = dict(info.smallest) if dry_run else {}
    torch.manual_seed(0)
    return twin.get_model(name, **kwargs).to(device)


def _prepared(net, form, mode, compile_backend):
    """(module, input memory format, autocast dtype or None) for one form."""
    import torch
    fmt = torch.contiguous_format if form == 'eager' else torch.channels_last
    net = net.train() if mode == 'train' else net.eval()
    net = net.to(memory_format=fmt)
    if form == 'compile':
        net = torch.compile(net, backend=compile_backend)
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(form)
    return net, fmt, dtype


def _runner(net, fmt, dtype, mode, x, device):
    import torch
    x = x.contiguous(memory_format=fmt)
    cast = (lambda: torch.autocast(device.type, dtype)) if dtype else contextlib.nullcontext
    if mode == 'inference':
        def run():
            with torch.inference_mode(), cast():
                net(x)
        return run
    labels = torch.arange(x.shape[0], device=device) % 10
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with cast():
            loss = torch.nn.functional.cross_entropy(net(x).float(), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return step


def _time(run, device, seconds, min_iters, warmup):
    """(images per second factor: runs per second, p50 ms) after ``warmup`` runs."""
    import torch
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(warmup):
        run()
    sync()
    times, start = [], time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < seconds:
        if device.type == 'cuda':
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            run()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end) / 1e3)
        else:
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
    times.sort()
    return len(times) / sum(times), times[len(times) // 2] * 1e3


def plan(batches, networks=NETWORKS):
    """Every configuration, the eager forms before the compiled one, inference first."""
    order = []
    for form in FORMS:
        for mode in MODES:
            for batch in batches:
                for name in networks:
                    order.append((name, form, batch, mode))
    return order


def measure(args):
    import torch
    device = torch.device('cpu' if args.dry_run else 'cuda')
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('gpu_bench: no CUDA GPU is visible to PyTorch (torch %s); '
                             'run with --dry-run on the CPU' % torch.__version__)
        torch.backends.cudnn.benchmark = True
    batches = [1, 2] if args.dry_run else [1, 32, 256]
    size = 64 if args.dry_run else 224
    deadline = time.perf_counter() + args.budget_s
    rows, compiled, nets = [], {}, {}
    for name, form, batch, mode in plan(batches, args.networks):
        row = dict(model=name, form=form, batch=batch, mode=mode)
        rows.append(row)
        if time.perf_counter() > deadline:
            row['skipped'] = 'time budget (%d s) spent' % args.budget_s
            continue
        try:
            key = (name, form, mode)
            if key not in compiled:
                if name not in nets:
                    nets[name] = _network(name, args.dry_run, device)
                compiled[key] = _prepared(nets[name], form, mode, args.compile_backend)
            net, fmt, dtype = compiled[key]
            x = torch.randn(batch, 3, size, size, device=device)
            if device.type == 'cuda':
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            run = _runner(net, fmt, dtype, mode, x, device)
            per_s, p50 = _time(run, device, args.seconds, 1 if args.dry_run else 5,
                               1 if args.dry_run else 3)
            row.update(img_per_s=per_s * batch, p50_ms=p50)
            if device.type == 'cuda':
                row['peak_mb'] = torch.cuda.max_memory_allocated() / 2 ** 20
        except Exception as err:     # an out-of-memory or a compile failure: named in the row
            row['error'] = '%s: %s' % (type(err).__name__, str(err).splitlines()[0][:200])
            if device.type == 'cuda':
                torch.cuda.empty_cache()
        print(json.dumps(row), flush=True)
    return rows, device


def add_ratios(rows):
    """``vs_add``: time per image over resnet50_add's in the same form, batch and mode."""
    speed = {(r['model'], r['form'], r['batch'], r['mode']): r.get('img_per_s') for r in rows}
    for r in rows:
        base = speed.get(('resnet50_add', r['form'], r['batch'], r['mode']))
        if r.get('img_per_s') and base:
            r['vs_add'] = base / r['img_per_s']
    return rows


def markdown(rows, header):
    lines = [header, '', '| mode | form | batch | network | img/s | p50 ms | peak MB | time vs '
             'resnet50_add |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        if not r.get('img_per_s'):
            lines.append('| %s | %s | %d | %s | %s | | | |' % (
                r['mode'], r['form'], r['batch'], r['model'],
                'skipped: ' + r['skipped'] if r.get('skipped') else 'failed: ' + r['error']))
            continue
        lines.append('| %s | %s | %d | %s | %.1f | %.2f | %s | %.3fx |' % (
            r['mode'], r['form'], r['batch'], r['model'], r['img_per_s'], r['p50_ms'],
            '%.0f' % r['peak_mb'] if r.get('peak_mb') is not None else '-', r['vs_add']))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dry-run', action='store_true',
                   help='run on the CPU, small networks and inputs (what the tests run)')
    p.add_argument('--budget-s', type=float, default=540,
                   help='stop starting configurations after this many seconds (default 540)')
    p.add_argument('--seconds', type=float, default=1.0,
                   help='timed seconds per configuration (default 1)')
    p.add_argument('--out-dir', default=HERE)
    p.add_argument('--networks', nargs='+', choices=NETWORKS, default=NETWORKS,
                   help='which of the networks (default: all three; resnet50_add, the '
                   'baseline of every ratio, is always among them)')
    p.add_argument('--compile-backend', default=None,
                   help="torch.compile's backend (default: inductor; 'eager' with --dry-run)")
    p.add_argument('--no-necks', dest='necks', action='store_false',
                   help='leave out the feature pyramids (benchmarks/neck_cost.py, written to '
                   'neck_cost_gpu.md after the networks)')
    args = p.parse_args(argv)
    args.networks = [n for n in NETWORKS if n in args.networks or n == 'resnet50_add']
    if args.compile_backend is None:
        args.compile_backend = 'eager' if args.dry_run else 'inductor'
    if args.dry_run:
        args.seconds = 0
    import torch
    started = time.perf_counter()
    rows, device = measure(args)
    rows = add_ratios(rows)
    name = torch.cuda.get_device_name(0) if device.type == 'cuda' else 'CPU (dry run)'
    header = ('# The PyTorch twin on %s\n\nMeasured %s with `benchmarks/gpu_bench.py%s` in '
              '%.0f s: PyTorch %s%s, Python %s; random weights; "time vs resnet50_add" is the '
              'time per image over resnet50_add\'s in the same form, batch and mode. Autocast '
              'forms run channels-last; the training step is SGD with cross-entropy (a '
              'gradient scaler at float16), on the networks as timm builds them (at batch 1 the '
              'global branches normalise their one pooled vector with the running '
              'statistics).' % (
                  name, datetime.date.today().isoformat(), ' --dry-run' if args.dry_run else '',
                  time.perf_counter() - started, torch.__version__,
                  ', CUDA %s' % torch.version.cuda if device.type == 'cuda' else '',
                  platform.python_version()))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, 'gpu_results.json'), 'w') as f:
        json.dump(dict(device=name, torch=torch.__version__, dry_run=args.dry_run, rows=rows),
                  f, indent=1)
    with open(os.path.join(args.out_dir, 'gpu_results.md'), 'w') as f:
        f.write('\n'.join(markdown(rows, header)) + '\n')
    if args.necks:
        # the AFF/iAFF-FPN against torchvision's FPN (benchmarks/neck_cost.py) on this device
        from benchmarks import neck_cost
        neck_cost.main((['--quick'] if args.dry_run else ['--device', 'cuda', '--repeats', '3'])
                       + ['--out', os.path.join(args.out_dir, 'neck_cost_gpu.md')])
    return 0


if __name__ == '__main__':
    sys.exit(main())
