"""``gluon-aff bench MODEL...``: speed, memory and accuracy of each inference path."""
import json

from . import register_command
from .args import accuracy_drop, positive_int
from .common import add_arg_option, parse_kwargs
from ..tools.bench import (PATHS, add_ratios, benchmark, benchmark_pair, format_table,
                           model_macs)
from ..tools.bench.paths import TORCH_PATHS


def configure(p):
    p.add_argument('models', nargs='+', metavar='MODEL',
                   help="zoo names; timm:NAME measures timm's own network (e.g. "
                        'timm:resnet50d) on the PyTorch paths, as a reference')
    p.add_argument('--batch-size', type=positive_int, nargs='+', default=[1], metavar='N',
                   help='batch sizes (default: 1)')
    p.add_argument('--input-size', type=positive_int, default=None,
                   help="input height/width (default: each model's, 224 or 32)")
    p.add_argument('--paths', nargs='+', choices=PATHS, default=None,
                   help='paths to measure (default: every available inference path; add '
                        '"train" for a training step)')
    p.add_argument('--iters', type=positive_int, default=20,
                   help='timed runs per path (default: 20)')
    p.add_argument('--warmup', type=int, default=3, help='untimed runs first (default: 3)')
    p.add_argument('--baseline', default='resnet50_add',
                   help='model the "time vs" column compares with (default: resnet50_add)')
    p.add_argument('--paired', action='store_true',
                   help='two models on the PyTorch paths (default: torch), both in one '
                        'process, timed in turn: "time vs" (the second model, unless '
                        '--baseline names the first) is then the median ratio over pairs of '
                        'rounds, which machine drift between processes does not move')
    p.add_argument('--json', action='store_true',
                   help='print one JSON object per (model, path, batch) instead of the table')
    p.add_argument('--accuracy', dest='accuracy', action='store_true', default=None,
                   help='report top-1 agreement with float32 on real photographs and the '
                        'digits accuracy of every path (default: when a reduced-precision '
                        'path runs)')
    p.add_argument('--no-accuracy', dest='accuracy', action='store_false')
    p.add_argument('--digits-params', default=None,
                   help='a cifar_aff_resnet20 (blocks=1, channel_times=1, 10 classes) trained on '
                        'the digits set, for the accuracy columns (default: train one, about a '
                        'minute)')
    p.add_argument('--max-accuracy-drop', type=accuracy_drop, default=0.003,
                   help="the int8 digits network's accuracy control: layers return to float "
                        "until its top-1 on 300 held-out digits is within this of float32's "
                        '(default: 0.003, no image of the 300 lost; larger is faster)')
    add_arg_option(p)


def run(args):
    if args.iters < 1 or args.warmup < 0 or min(args.batch_size) < 1:
        raise ValueError('--iters and --batch-size must be >= 1, --warmup >= 0')
    kwargs = parse_kwargs(args.arg)
    if args.paired:
        others = [p for p in args.paths or () if p not in TORCH_PATHS]
        if args.accuracy:
            raise ValueError('--paired times two models; measure --accuracy without it')
        if len(args.models) != 2 or others:
            raise ValueError('--paired compares two models on the PyTorch paths (%s); got %d '
                             'models%s' % (', '.join(TORCH_PATHS), len(args.models),
                                           ' and ' + ', '.join(others) if others else ''))
        if args.baseline not in args.models:
            args.baseline = args.models[1]
        results = benchmark_pair(args.models, args.batch_size, args.paths or ['torch'],
                                 args.input_size, kwargs, args.iters, args.warmup)
    else:
        results = benchmark(args.models, args.batch_size, args.paths, args.input_size, kwargs,
                            args.iters, args.warmup, accuracy=args.accuracy,
                            digits_params=args.digits_params,
                            max_accuracy_drop=args.max_accuracy_drop)
    macs = model_macs(set(args.models) | {args.baseline}, kwargs, args.input_size) \
        if args.baseline in args.models else None
    results = add_ratios(results, args.baseline, macs)
    if args.json:
        for r in results:
            print(json.dumps(r))
    else:
        print(format_table(results, args.baseline))
    return 1 if any(r.get('error') for r in results) else 0


register_command('bench', 'Throughput, latency, peak memory and accuracy of zoo networks '
                 '(random weights) along each inference path (MXNet, ONNX Runtime, OpenVINO '
                 'at f32/bf16/int8, the PyTorch twin eager and compiled), each in its own '
                 'process.',
                 configure, run,
                 example='gluon-aff bench resnet50_add iaff_resnet50 --batch-size 1 8 32')
