"""``gluon-aff pack-rec FOLDER PREFIX``: image folder -> .rec/.idx for --use-rec."""
from . import register_command
from ..data.recordio import pack_image_folder


def configure(p):
    p.add_argument('folder', help='image folder with one sub-folder per class')
    p.add_argument('prefix', help='output path without extension (writes PREFIX.rec, PREFIX.idx)')
    p.add_argument('--resize', type=int, default=None,
                   help='resize the shorter side to this many pixels (ImageNet: 480)')
    p.add_argument('--quality', type=int, default=95, help='JPEG quality (default 95)')


def run(args):
    rec, idx, classes = pack_image_folder(args.folder, args.prefix, resize=args.resize,
                                          quality=args.quality)
    print('wrote %s and %s (%d classes: %s%s)' % (rec, idx, len(classes), ', '.join(classes[:5]),
                                                 ', ...' if len(classes) > 5 else ''))
    return 0


register_command('pack-rec', 'Pack an image folder (one sub-folder per class) into .rec/.idx '
                 'files for train_imagenet.py --use-rec.', configure, run,
                 example='gluon-aff pack-rec ~/data/train ~/.mxnet/datasets/imagenet/rec/train '
                         '--resize 480')
