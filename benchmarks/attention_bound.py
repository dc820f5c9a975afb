"""The physical account of the attention's cost: for aff_resnet50 and iaff_resnet50 at batch
1 and 32, the multiply-adds and bytes the attention layers must move, against this CPU's
measured matrix-multiply rates and memory bandwidth, and so the iAFF/add and AFF/add time
ratios each path could reach, beside the ratios benchmarks/twin_speed.py measured. Writes
the section between the markers in benchmarks/attention_cost.md (the rest of the page is
attention_cost.py's).

    .venv/bin/python benchmarks/attention_bound.py [--speed benchmarks/twin_speed.json]

Per fusion block on maps X, Y of M values (N x C x H x W, float32) with a hidden width
m = C/r: an MS-CAM is two 1x1 convolutions at every pixel (2 C m H W N multiply-adds), a
mean and two matrix-vector products. The bytes counted "as run" are the passes the twin's
inference form makes (``gluon_aff.torch.optimize``: X + Y; each MS-CAM reads its input
twice, for the local branch and the mean, and writes its hidden map and its weight, the
sigmoid inside the convolution; each blend reads three maps and writes one; AFF's factor 2
and the block's ReLU a pass each). "Fused" counts the fewest passes the arithmetic allows:
AFF reads X and Y twice and writes Z once (5 maps), iAFF three times (7 maps), plus the
hidden maps. Rates are measured here: the GEMM rate at a large square size and at the
attention's own thin shapes, and the bandwidth of a sum over maps of the block's size (in
cache at batch 1, from memory at 32). Bound = multiply-adds at the thin rate + bytes at
that bandwidth (no overlap): what a kernel that did only the necessary work at the rates
measured would take.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

BEGIN, END = '<!-- physical account: attention_bound.py -->', '<!-- end of physical account -->'
NETWORKS = ['aff_resnet50', 'iaff_resnet50']


def write_section(page_path, begin, end, section):
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) in the page at
    ``page_path`` in place of the one between those markers, or after the page where it
    has none; the rest of the page stays."""
    try:
        with open(page_path) as f:
            page = f.read()
    except OSError:
        page = ''
    if begin in page and end in page:
        page = page[:page.index(begin)] + section + page[page.index(end) + len(end):]
    else:
        page = page.rstrip('\n') + '\n\n' + section + '\n'
    from gluon_aff.core.atomic import write_atomically
    write_atomically(page_path, page)


def blocks(name):
    """[(kind, C, H, W, m)] of the network's fusion blocks at 224 px, batch 1."""
    import torch
    from gluon_aff import torch as twin
    from gluon_aff.torch.fusion import AFF, IAFF
    net = twin.get_model(name).eval()
    found = []

    def hook(module, inputs, output):
        n, c, h, w = inputs[0].shape
        m = module.local_att[0].out_channels
        found.append(('iaff' if isinstance(module, IAFF) else 'aff', c, h, w, m))
    for module in net.modules():
        if type(module) in (AFF, IAFF):
            module.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(1, 3, 224, 224))
    return found


def work(kind, n, c, h, w, m):
    """(multiply-adds, bytes as run, bytes fused) of one fusion block at batch ``n``."""
    maps, hidden, weights = n * c * h * w * 4, n * m * h * w * 4, 4 * c * m * 4
    cams = 2 if kind == 'iaff' else 1
    macs = cams * (2 * c * m * h * w * n + 2 * c * m * n)
    per_cam = 3 * maps + 2 * hidden + weights     # local conv reads s, mean reads s, writes
    if kind == 'iaff':
        run = 3 * maps + 2 * per_cam + 2 * 4 * maps + 2 * maps     # sum, 2 cams, 2 blends, relu
        fused = 7 * maps + 4 * hidden + 2 * weights
    else:
        run = 3 * maps + per_cam + 4 * maps + 2 * maps + 2 * maps   # sum, cam, blend, x2, relu
        fused = 5 * maps + 2 * hidden + weights
    return macs, run, fused


def _best(fn, repeats=7, inner=5):
    fn()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def gemm_rate(rows, inner, cols):
    """Multiply-adds per second of a float32 (rows x inner) @ (inner x cols)."""
    import torch
    a, b = torch.randn(rows, inner), torch.randn(inner, cols)
    return rows * inner * cols / _best(lambda: torch.mm(a, b))


def bandwidth(values):
    """Bytes per second of ``c = a + b`` over maps of ``values`` float32 values."""
    import torch
    a, b, c = torch.randn(values), torch.randn(values), torch.empty(values)
    return 3 * 4 * values / _best(lambda: torch.add(a, b, out=c))


def measured(speed_file):
    """{(model, path, batch): median ms per image} from twin_speed.py's rows."""
    try:
        with open(speed_file) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}, None
    times = {}
    for rows in data['repeats']:
        for r in rows:
            if r.get('img_per_s'):
                times.setdefault((r['model'], r['path'], r['batch']), []).append(
                    1e3 / r['img_per_s'])
    return {k: statistics.median(v) for k, v in times.items()}, data.get('cpu')


def account(speed_file, batches=(1, 32)):
    import torch
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    peak = gemm_rate(2048, 2048, 2048)
    lines = [BEGIN, '## The physical account: what the attention must cost', '',
             'Written %s by `benchmarks/attention_bound.py` on %s (%d cores; %s), PyTorch %s. '
             'Square float32 GEMM (2048): %.0f G multiply-adds/s.' % (
                 datetime.date.today().isoformat(), cpu_model(), torch.get_num_threads(),
                 flags_present(), torch.__version__, peak / 1e9), '']
    times, speed_cpu = measured(speed_file)
    rates = {}
    lines += ['| network | batch | attention multiply-adds (G) | thin GEMM rate (G/s) | '
              'bandwidth (GB/s) | MB as run | MB fused | bound as run (ms) | bound fused '
              '(ms) |', '|---|---|---|---|---|---|---|---|---|']
    bounds = {}
    for name in NETWORKS:
        found = blocks(name)
        for n in batches:
            macs = run = fused = t_run = t_fused = 0.0
            for kind, c, h, w, m in found:
                key = (n, c, h, w, m)
                if key not in rates:
                    thin = 2 / (1 / gemm_rate(n * h * w, c, m) + 1 / gemm_rate(n * h * w, m, c))
                    rates[key] = (thin, bandwidth(n * c * h * w))
                thin, bw = rates[key]
                b_macs, b_run, b_fused = work(kind, n, c, h, w, m)
                macs, run, fused = macs + b_macs, run + b_run, fused + b_fused
                t_run += b_macs / thin + b_run / bw
                t_fused += b_macs / thin + b_fused / bw
            bounds[name, n] = (t_run * 1e3 / n, t_fused * 1e3 / n)   # ms per image
            thin_rates = sorted({rates[(n, c, h, w, m)][0] for _, c, h, w, m in found})
            bws = sorted({rates[(n, c, h, w, m)][1] for _, c, h, w, m in found})
            lines.append('| %s | %d | %.3f | %s | %s | %.1f | %.1f | %.2f | %.2f |' % (
                name, n, macs / 1e9, ', '.join('%.0f' % (r / 1e9) for r in thin_rates),
                ', '.join('%.1f' % (b / 1e9) for b in bws), run / 2 ** 20, fused / 2 ** 20,
                t_run * 1e3, t_fused * 1e3))
    lines += ['', 'Bounds are per batch (divide by the batch for a time per image).', '']
    if not times:
        lines += ['No measured times (run benchmarks/twin_speed.py first).', END]
        return lines
    lines += ['Against the paths measured by twin_speed.py (%s; medians over its repeats): '
              'the time ratio over resnet50_add as measured, and what it would be with the '
              'attention at its bound as run and fused; "left" is the measured attention time '
              'over the bound as run.' % (speed_cpu or 'CPU not recorded'), '',
              '| network | batch | path | resnet50_add ms/img | network ms/img | measured ratio '
              '| ratio at bound as run | ratio at bound fused | left |',
              '|---|---|---|---|---|---|---|---|---|']
    for name in NETWORKS:
        for n in batches:
            for path in ('onnxruntime', 'torch', 'torch-compile', 'torch-optimized',
                         'torch-optimized-compile'):
                add, net = times.get(('resnet50_add', path, n)), times.get((name, path, n))
                if add is None or net is None:
                    continue
                as_run, fused = bounds[name, n]
                lines.append('| %s | %d | %s | %.2f | %.2f | %.3fx | %.3fx | %.3fx | %.1fx |' % (
                    name, n, path, add, net, net / add, (add + as_run) / add,
                    (add + fused) / add, (net - add) / as_run))
    return lines + ['', END]


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--speed', default=os.path.join(HERE, 'twin_speed.json'))
    p.add_argument('--page', default=os.path.join(HERE, 'attention_cost.md'))
    args = p.parse_args()
    section = '\n'.join(account(args.speed))
    write_section(args.page, BEGIN, END, section)
    print(section)


if __name__ == '__main__':
    main()
