"""``gluon-aff summary NAME``: per-layer shapes, parameters, multiply-adds, attention share."""
from . import register_command
from ..model_zoo import get_model, get_model_info
from ..utils.flops import count_graph, format_table


def configure(p):
    p.add_argument('name', help='zoo name (`gluon-aff list`)')
    p.add_argument('--input-size', type=int, default=None,
                   help="input height/width (default: the model's, 224 or 32)")
    p.add_argument('--totals', action='store_true', help='print only the totals')


def run(args):
    info = get_model_info(args.name)
    size = args.input_size or info.input_size
    rows = count_graph(get_model(info.name), (1, 3, size, size))
    title = ('%s at 1x3x%dx%d (multiply-adds counted from the graph; the paper counts 2 per '
             'multiply-add)' % (info.name, size, size))
    text = format_table(rows, title=title)
    print('\n'.join(text.splitlines()[-3:]) if args.totals else text)
    return 0


register_command('summary', 'Per-layer output shapes, parameters and multiply-adds of a zoo '
                 'network, with totals and the attention modules\' share.', configure, run,
                 example='gluon-aff summary aff_resnet50 --totals')
