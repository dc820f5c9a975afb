"""``gluon-aff export NAME``: symbol/params pair, ONNX file or OpenVINO model of a zoo network."""
import logging
import os

import mxnet as mx

from . import register_command
from .args import accuracy_drop, positive_int
from .common import add_arg_option, load_checkpoint_network, parse_kwargs
from ..deploy import export_onnx, export_symbol
from ..deploy.export import calibration_batch, export_openvino, labelled_batch, write_meta
from ..model_zoo import get_model, get_model_info


def configure(p):
    p.add_argument('name', help='zoo name')
    p.add_argument('--params', default=None,
                   help='.params file to export (default: random weights, said so)')
    p.add_argument('--format', choices=('symbol', 'onnx', 'openvino'), required=True)
    p.add_argument('--precision', choices=('f32', 'int8'), default='f32',
                   help='OpenVINO: f32 (exact; also runs at bf16 where the CPU has it) or int8 '
                        '(quantised with NNCF on --calibration images)')
    p.add_argument('--calibration', default=None, metavar='FOLDER',
                   help='int8: a folder of representative images (a few hundred; .jpg/.png)')
    p.add_argument('--validation', default=None, metavar='FOLDER',
                   help='int8: labelled images (one sub-folder per class, in the order of the '
                        "network's classes) for accuracy-controlled quantisation")
    p.add_argument('--max-accuracy-drop', type=accuracy_drop, default=0.005,
                   help='int8 with --validation: largest top-1 drop allowed (default 0.005)')
    p.add_argument('--out', default='.', help='output folder (default: .)')
    p.add_argument('--input-size', type=positive_int, default=None,
                   help="input height/width (default: the model's, 224 or 32)")
    p.add_argument('--batch-size', type=positive_int, default=1,
                   help='batch size the graph is fixed to')
    add_arg_option(p)


def run(args):
    info = get_model_info(args.name)
    if args.precision != 'f32' and args.format != 'openvino':
        raise ValueError('--precision %s needs --format openvino' % args.precision)
    if args.precision == 'int8' and not args.calibration:
        raise ValueError('--precision int8 needs --calibration FOLDER: a few hundred '
                         'representative images to set the int8 ranges')
    if args.validation and args.precision != 'int8':
        raise ValueError('--validation controls the accuracy of int8 quantisation; add '
                         '--precision int8 --calibration FOLDER, or leave it out')
    kwargs = parse_kwargs(args.arg, sets={'classes': "from the checkpoint's head"}
                          if args.params else None)
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
    elif args.format == 'onnx':
        written = (export_onnx(net, prefix + '.onnx', shape),)
        written += (write_meta(info, written[0]),)
    else:
        calibration = (calibration_batch(args.calibration, info) if args.precision == 'int8'
                       else None)
        validation = labelled_batch(args.validation, info) if args.validation else None
        suffix = '-int8' if args.precision == 'int8' else ''
        xml = export_openvino(net, '%s%s.xml' % (prefix, suffix), shape, args.precision,
                              calibration, validation, args.max_accuracy_drop)
        written = (xml, xml[:-4] + '.bin', write_meta(info, xml))
    print('wrote %s (input "data" %s)' % (' and '.join(written), 'x'.join(map(str, shape))))
    return 0


register_command('export', 'Export a zoo network (with --params, or random weights) to a '
                 'symbol/params pair for SymbolBlock.imports, to ONNX (weights as '
                 'initializers), or to OpenVINO (float32 or int8); ONNX and OpenVINO files get '
                 'a .json with their preprocessing for gluon-aff predict.', configure, run,
                 example='gluon-aff export aff_resnet50 --params FILE --format openvino --out deploy/')
