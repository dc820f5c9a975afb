"""What an AFF or iAFF merge costs in a feature pyramid: torchvision's FPN ('add') against
gluon_aff.torch.necks.AFFFPN with 'aff' and 'iaff', on ResNet-50's maps at 224 x 224
(C2-C5: 256, 512, 1024, 2048 channels at strides 4-32; 256 output channels and a pooled
P6, as torchvision's detectors), at batch 1 and 8: eager, the inference form
(gluon_aff.torch.optimize: BatchNorms folded, global branches as Linear) and
torch.compile, with each neck's multiply-adds; and a fused pair of 64- and 128-channel
maps at 64 x 64 (AFF/iAFF with in_channels=(64, 128) against a projection and a sum).
Writes benchmarks/neck_cost.md and .json, and the fused pair's table into the attention
page (benchmarks/attention_cost.md, a marked section that attention_cost.py keeps).

    .venv/bin/python benchmarks/neck_cost.py [--repeats 3] [--device cuda] [--quick]
    .venv/bin/python benchmarks/neck_cost.py --pair-section-only   # from neck_cost.json

Repeats are interleaved (every neck and form, then again); a ratio is a time over the add
FPN's in the same repeat, form and batch; the table gives the median and the spread.
``--quick``: small maps, one repeat, no compile (what the test runs).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.ops import FeaturePyramidNetwork  # noqa: E402
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool  # noqa: E402

from benchmarks.attention_bound import write_section  # noqa: E402
from gluon_aff import torch as twin  # noqa: E402
from gluon_aff.tools.isa_check import cpu_flags, cpu_model  # noqa: E402
from gluon_aff.torch.necks import AFFFPN  # noqa: E402
from gluon_aff.torch.summary import count_layers, totals  # noqa: E402

CHANNELS = [256, 512, 1024, 2048]
NECKS = ['add', 'aff', 'iaff']
FORMS = ['eager', 'optimize', 'compile']


def build(neck, case='fpn'):
    torch.manual_seed(0)
    if case == 'pair':
        return _Pair(neck)
    if neck == 'add':
        return FeaturePyramidNetwork(CHANNELS, 256, extra_blocks=LastLevelMaxPool())
    return AFFFPN(CHANNELS, 256, extra_blocks=LastLevelMaxPool(), fusion=neck)


class _Pair(nn.Module):
    """A fused pair: maps of 64 and 128 channels at one size, the second projected to 64
    (1x1 convolution + BatchNorm) and added ('add'), or AFF/iAFF with
    ``in_channels=(64, 128)`` (the same projection inside)."""

    def __init__(self, neck):
        super().__init__()
        if neck == 'add':
            self.proj = nn.Sequential(nn.Conv2d(128, 64, 1, bias=False), nn.BatchNorm2d(64))
            self.fuse = None
        else:
            self.fuse = (twin.AFF if neck == 'aff' else twin.IAFF)(64, 4, in_channels=(64, 128))

    def forward(self, x):
        a, b = x['a'], x['b']
        return OrderedDict(out=a + self.proj(b) if self.fuse is None else self.fuse(a, b))


def pair_maps(batch, size, device):
    g = torch.Generator().manual_seed(1)
    return OrderedDict(a=torch.randn(batch, 64, size, size, generator=g).to(device),
                       b=torch.randn(batch, 128, size, size, generator=g).to(device))


def maps(batch, size, device):
    g = torch.Generator().manual_seed(1)
    return OrderedDict((str(i), torch.randn(batch, c, size >> (i + 2), size >> (i + 2),
                                            generator=g).to(device))
                       for i, c in enumerate(CHANNELS))


class _OnMaps(nn.Module):
    """The neck on fixed-shape maps, called with a tensor whose first axis is the batch
    (what count_layers feeds)."""

    def __init__(self, neck, size, make):
        super().__init__()
        self.neck, self.size, self.make = neck, size, make

    def forward(self, x):
        return list(self.neck(self.make(x.shape[0], self.size, x.device)).values())[0]


def macs(neck, size, make=None):
    return totals(count_layers(_OnMaps(neck, size, make or maps), (1, 1, 1, 1)))['macs']


def prepared(neck, form):
    net = neck.eval()
    if form == 'optimize':
        return twin.optimize(net, prepack=False, channels_last=False)
    if form == 'compile':
        return torch.compile(net)
    return net


def timed(net, x, iters, device):
    with torch.inference_mode():
        for _ in range(2):
            net(x)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            net(x)
            if device.type == 'cuda':
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def measure(repeats, batches, size, forms, iters, device, case='fpn'):
    rows, nets = [], {}
    make = pair_maps if case == 'pair' else maps
    for repeat in range(repeats):
        for batch in batches:
            x = make(batch, size, device)
            for form in forms:
                for neck in NECKS:
                    if (neck, form) not in nets:     # built (and compiled) once, kept
                        nets[neck, form] = prepared(build(neck, case).to(device), form)
                    ms = timed(nets[neck, form], x, iters, device)
                    rows.append(dict(case=case, repeat=repeat, batch=batch, form=form,
                                     neck=neck, ms=ms))
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows, counts):
    lines = ['| batch | form | neck | ms (median) | min | max | time / add (median, min-max) '
             '| multiply-adds / add |', '|---|---|---|---|---|---|---|---|']
    keys = sorted({(r['batch'], FORMS.index(r['form']), NECKS.index(r['neck'])) for r in rows})
    for batch, f, n in keys:
        form, neck = FORMS[f], NECKS[n]
        mine = {r['repeat']: r['ms'] for r in rows
                if (r['batch'], r['form'], r['neck']) == (batch, form, neck)}
        base = {r['repeat']: r['ms'] for r in rows
                if (r['batch'], r['form'], r['neck']) == (batch, form, 'add')}
        ratios = [mine[k] / base[k] for k in mine if k in base]
        values = list(mine.values())
        lines.append('| %d | %s | %s | %.2f | %.2f | %.2f | %.3fx (%.3f-%.3f) | %.3fx |' % (
            batch, form, neck, statistics.median(values), min(values), max(values),
            statistics.median(ratios), min(ratios), max(ratios), counts[neck] / counts['add']))
    return lines


PAIR_BEGIN, PAIR_END = '<!-- fused pair: neck_cost.py -->', '<!-- end of fused pair -->'


def pair_description(size, counts):
    return ('Maps of 64 and 128 channels at %d x %d: the 128-channel map projected to 64 '
            '(1x1 convolution + BatchNorm) and added, against `AFF`/`IAFF(64, r=4, '
            'in_channels=(64, 128))` (the same projection inside; multiply-adds per image: '
            'add %.1f M, aff %.1f M, iaff %.1f M).' % (
                size, size, counts['add'] / 1e6, counts['aff'] / 1e6, counts['iaff'] / 1e6))


def pair_section(data):
    """The attention page's section on a fused pair, from what main() wrote to JSON."""
    return [PAIR_BEGIN, '## A fused pair of maps (the fusion layer on its own)', '',
            'Measured %s on %s by `%s` (with the feature pyramids: '
            '[neck_cost.md](neck_cost.md)). %s' % (
                data['date'], data['where'], data['command'],
                pair_description(data['pair_size'], data['pair_macs'])), ''] + \
        table(data['pairs'], data['pair_macs']) + ['', PAIR_END]


def write_pair_section(page_path, data):
    """Put (or replace) the fused pair's section in the page at ``page_path``."""
    write_section(page_path, PAIR_BEGIN, PAIR_END, '\n'.join(pair_section(data)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--device', default='cpu')
    p.add_argument('--quick', action='store_true')
    p.add_argument('--out', default=os.path.join(HERE, 'neck_cost.md'))
    p.add_argument('--attention-page', default=os.path.join(HERE, 'attention_cost.md'),
                   help="the page that gets the fused pair's table (not with --quick or "
                   "--device cuda; default: benchmarks/attention_cost.md)")
    p.add_argument('--pair-section-only', action='store_true',
                   help="measure nothing: write the fused pair's section into the attention "
                   "page from the JSON beside --out")
    args = p.parse_args(argv)
    json_path = os.path.splitext(args.out)[0] + '.json'
    if args.pair_section_only:
        with open(json_path) as f:
            write_pair_section(args.attention_page, json.load(f))
        return []
    device = torch.device(args.device)
    size, forms, batches = 224, FORMS, [1, 8]
    if args.quick:
        size, forms, args.repeats, args.iters = 64, ['eager', 'optimize'], 1, 1
    counts = {neck: macs(build(neck), size) for neck in NECKS}
    pair_size = 16 if args.quick else 64
    pair_counts = {neck: macs(build(neck, 'pair'), pair_size, pair_maps) for neck in NECKS}
    rows = measure(args.repeats, batches, size, forms, args.iters, device)
    pairs = measure(args.repeats, batches, pair_size, forms, args.iters, device, 'pair')
    flags = cpu_flags() or set()
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
             '%s (%d cores; CPU flags: %s)' % (
                 cpu_model(), len(os.sched_getaffinity(0)),
                 ', '.join(f for f in ('amx_tile', 'avx512f', 'avx2') if f in flags) or '?'))
    date = datetime.date.today().isoformat()
    command = 'python benchmarks/neck_cost.py %s' % ' '.join(
        sys.argv[1:] if argv is None else argv)
    lines = ['# What the fusion costs in a feature pyramid', '',
             'Measured %s on %s; Python %s, PyTorch %s. The neck alone on ResNet-50\'s maps '
             'at %d x %d (multiply-adds per image: add %.2f G, aff %.2f G, iaff %.2f G); '
             '%d repeats, interleaved, %d timed runs each (median).' % (
                 date, where, platform.python_version(),
                 torch.__version__, size, size, counts['add'] / 1e9, counts['aff'] / 1e9,
                 counts['iaff'] / 1e9, args.repeats, args.iters),
             '', 'Command: `%s`' % command, ''] + table(rows, counts) + [
             '', '## A fused pair', '', pair_description(pair_size, pair_counts), ''] + \
        table(pairs, pair_counts)
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    data = dict(date=date, command=command, where=where, macs=counts, rows=rows,
                pair_size=pair_size, pair_macs=pair_counts, pairs=pairs)
    with open(json_path, 'w') as f:
        json.dump(data, f, indent=1)
    if not args.quick and device.type == 'cpu':
        write_pair_section(args.attention_page, data)
    print('\n'.join(lines))
    return rows


if __name__ == '__main__':
    main()
