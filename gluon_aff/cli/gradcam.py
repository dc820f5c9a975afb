"""``gluon-aff gradcam``: Grad-CAM heat maps of one or more checkpoints over images."""
import os

from . import register_command
from .common import add_arg_option, load_checkpoint_network, parse_kwargs
from ..tools.gradcam import grad_cam
from ..transforms import eval_crop, load_image


def _class_names(classes):
    if classes == 1000:
        from gluoncv.data import ImageNet1kAttr
        return ImageNet1kAttr().classes
    return ['class %d' % i for i in range(classes)]


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
    kwargs = parse_kwargs(args.arg)
    models = [load_checkpoint_network(name, params, kwargs)
              for name, params in zip(args.model, args.params)]
    images = [(path, load_image(path)) for path in args.images]
    maps = draw(models, images, args.class_index, args.layer, args.out)
    print('wrote %s (%d images x %d models) and %d single heat maps in %s'
          % (os.path.join(args.out, 'gradcam.png'), len(images), len(models), len(maps),
             args.out))
    return 0


def draw(models, images, class_index, layer, out):
    """Heat maps of every (image, model) over the evaluation crop: writes one PNG per pair
    and a grid ``gradcam.png`` under ``out``; returns [dict(image, model, cam (S x S in
    [0, 1]), class_index, prob, png)]."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from ..transforms import eval_transform
    os.makedirs(out, exist_ok=True)
    fig, axes = plt.subplots(len(images), len(models), squeeze=False,
                             figsize=(4 * len(models), 5.2 * len(images)))
    written = []
    for row, (path, img) in enumerate(images):
        stem = os.path.splitext(os.path.basename(path))[0]
        for col, (info, net) in enumerate(models):
            x = eval_transform(info, img)
            cam, prob, k = grad_cam(net, x, class_index, layer)
            names = _class_names(len(prob))
            top5 = prob.argsort()[::-1][:5]
            text = '\n'.join('%s %.3f' % (names[i][:24], prob[i]) for i in top5)
            shown = eval_crop(info, img).asnumpy()
            single, ax1 = plt.subplots(figsize=(4, 5.2))
            for ax in (axes[row][col], ax1):
                ax.imshow(shown)
                ax.imshow(cam, cmap='jet', alpha=0.45, extent=(-0.5, shown.shape[1] - 0.5,
                                                                 shown.shape[0] - 0.5, -0.5))
                ax.set_title('%s: %s' % (info.name, names[k][:24]), fontsize=9)
                ax.set_xlabel(text, fontsize=8, loc='left')
                ax.set_xticks([])
                ax.set_yticks([])
            single.tight_layout()
            png = os.path.join(out, '%s_%s.png' % (stem, info.name))
            single.savefig(png, dpi=90)
            plt.close(single)
            written.append(dict(image=path, model=info.name, cam=cam, class_index=k,
                                prob=prob, png=png))
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'gradcam.png'), dpi=90)
    plt.close(fig)
    return written


register_command('gradcam', 'Grad-CAM heat maps (last stage by default) of one or more '
                 'checkpoints over images, with the top-5 predictions; one row per image, '
                 'one column per model.', configure, run,
                 example='gluon-aff gradcam --model resnet50_add --params r50.params '
                         '--model aff_resnet50 --params aff50.params photo.jpg --out cams/')
