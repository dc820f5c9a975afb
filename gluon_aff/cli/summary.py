"""``gluon-aff summary NAME``: per-layer shapes, parameters, multiply-adds, attention share,
counted in MXNet's graph or from the PyTorch twin's layers (the same rules, the same
totals)."""
from . import register_command
from .args import add_arg_option, parse_kwargs, positive_int
from .frameworks import add_framework_option, build, pick_framework
from ..core.layer_counts import format_table
from ..core.zoo import get_model_info


def configure(p):
    p.add_argument('name', help='zoo name (`gluon-aff list`)')
    p.add_argument('--input-size', type=positive_int, default=None,
                   help="input height/width (default: the model's, 224 or 32)")
    p.add_argument('--totals', action='store_true', help='print only the totals')
    add_arg_option(p)
    add_framework_option(p)


def run(args):
    info = get_model_info(args.name)
    size = args.input_size or info.input_size
    framework = pick_framework(args.framework)
    net = build(framework, info.name, **parse_kwargs(args.arg))
    if framework == 'mxnet':
        from ..utils.flops import count_graph
        rows = count_graph(net, (1, 3, size, size))
    else:
        from ..torch.summary import count_layers
        rows = count_layers(net, (1, 3, size, size))
    title = ('%s at 1x3x%dx%d (%s; multiply-adds counted from the %s; the paper counts 2 '
             'per multiply-add)' % (info.name, size, size, framework,
                                    'graph' if framework == 'mxnet' else 'layers'))
    text = format_table(rows, title=title)
    print('\n'.join(text.splitlines()[-3:]) if args.totals else text)
    return 0


register_command('summary', 'Per-layer output shapes, parameters and multiply-adds of a zoo '
                 'network, with totals and the attention modules\' share.', configure, run,
                 example='gluon-aff summary aff_resnet50 --totals')
