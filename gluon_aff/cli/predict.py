"""``gluon-aff predict MODEL IMAGE...``: classify images with an exported model, no MXNet."""
from . import register_command
from .args import positive_int


def configure(p):
    p.add_argument('model', help='an .xml (OpenVINO) or .onnx file written by gluon-aff export')
    p.add_argument('images', nargs='+', metavar='IMAGE')
    p.add_argument('--runtime', choices=('openvino', 'onnxruntime'), default=None,
                   help='default: onnxruntime for .onnx at f32, else openvino')
    p.add_argument('--precision', choices=('f32', 'bf16', 'int8'), default='f32',
                   help='bf16 needs a CPU with AVX512_BF16 or AMX; int8 an int8 export')
    p.add_argument('--topk', type=positive_int, default=5)


def run(args):
    from ..deploy.runtimes import Classifier, PrecisionUnavailable
    try:
        clf = Classifier(args.model, args.runtime, args.precision)
    except PrecisionUnavailable as e:
        raise ValueError(str(e))
    for image in args.images:
        print('%s:' % image)
        for rank, (index, name, prob) in enumerate(clf.predict(image, args.topk), 1):
            print('  %d. %-30s %.4f' % (rank, name or 'class %d' % index, prob))
    return 0


register_command('predict', 'Classify images with a model exported by gluon-aff export '
                 '(OpenVINO or ONNX Runtime, at f32, bf16 or int8), with its preprocessing.',
                 configure, run,
                 example='gluon-aff predict deploy/iaff_resnet50-int8.xml photo.jpg --precision int8')
