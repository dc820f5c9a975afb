"""``gluon-aff export NAME``: symbol/params pair or ONNX file of a zoo network."""
import logging
import os

import mxnet as mx

from . import register_command
from .common import add_arg_option, load_checkpoint_network, parse_kwargs
from ..deploy import export_onnx, export_symbol
from ..model_zoo import get_model, get_model_info


def configure(p):
    p.add_argument('name', help='zoo name')
    p.add_argument('--params', default=None,
                   help='.params file to export (default: random weights, said so)')
    p.add_argument('--format', choices=('symbol', 'onnx'), required=True)
    p.add_argument('--out', default='.', help='output folder (default: .)')
    p.add_argument('--input-size', type=int, default=None,
                   help="input height/width (default: the model's, 224 or 32)")
    p.add_argument('--batch-size', type=int, default=1, help='batch size the graph is fixed to')
    add_arg_option(p)


def run(args):
    info = get_model_info(args.name)
    kwargs = parse_kwargs(args.arg)
    if args.params:
        info, net = load_checkpoint_network(args.name, args.params, kwargs)
    else:
        logging.getLogger('gluon_aff').warning('no --params: exporting RANDOM weights')
        net = get_model(info.name, **kwargs)
        net.initialize(mx.init.Xavier())
    size = args.input_size or info.input_size
    shape = (args.batch_size, 3, size, size)
    prefix = os.path.join(args.out, info.name)
    if args.format == 'symbol':
        written = export_symbol(net, prefix, shape)
    else:
        written = (export_onnx(net, prefix + '.onnx', shape),)
    print('wrote %s (input "data" %s)' % (' and '.join(written), 'x'.join(map(str, shape))))
    return 0


register_command('export', 'Export a zoo network (with --params, or random weights) to a '
                 'symbol/params pair for SymbolBlock.imports or to ONNX (weights as '
                 'initializers, not graph inputs).', configure, run,
                 example='gluon-aff export aff_resnet50 --params FILE --format onnx --out deploy/')
