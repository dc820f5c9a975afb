"""``gluon-aff gradcam``: Grad-CAM heat maps of one or more checkpoints over images."""
import os

from . import register_command
from .common import add_arg_option, load_checkpoint_network, parse_kwargs
from ..tools.gradcam import draw
from ..data.eval_transform import load_image


def configure(p):
    p.add_argument('images', nargs='+', metavar='IMAGE', help='image files')
    p.add_argument('--model', action='append', required=True,
                   help='zoo name; repeat with --params for several models side by side')
    p.add_argument('--params', action='append', required=True,
                   help='the .params file of each --model, in the same order')
    p.add_argument('--class', dest='class_index', type=int, default=None,
                   help='class to explain (default: each model\'s top prediction)')
    p.add_argument('--layer', type=int, default=None,
                   help='stage whose feature map is used (1-based; default: the last)')
    p.add_argument('--out', required=True, help='output folder')
    add_arg_option(p)


def run(args):
    if len(args.model) != len(args.params):
        raise ValueError('give one --params per --model (%d models, %d params files)'
                         % (len(args.model), len(args.params)))
    kwargs = parse_kwargs(args.arg, sets={'classes': "from each checkpoint's head"})
    models = [load_checkpoint_network(name, params, kwargs)
              for name, params in zip(args.model, args.params)]
    images = [(path, load_image(path)) for path in args.images]
    maps = draw(models, images, args.class_index, args.layer, args.out)
    print('wrote %s (%d images x %d models) and %d single heat maps in %s'
          % (os.path.join(args.out, 'gradcam.png'), len(images), len(models), len(maps),
             args.out))
    return 0


register_command('gradcam', 'Grad-CAM heat maps (last stage by default) of one or more '
                 'checkpoints over images, with the top-5 predictions; one row per image, '
                 'one column per model.', configure, run,
                 example='gluon-aff gradcam --model resnet50_add --params r50.params '
                         '--model aff_resnet50 --params aff50.params photo.jpg --out cams/')
