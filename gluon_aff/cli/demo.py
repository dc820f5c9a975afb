"""``gluon-aff demo``: build a zoo network and classify a bundled photograph."""
import os

import mxnet as mx

from . import register_command
from ..train.report import count_parameters
from ..model_zoo import get_model, get_model_info
from ..model_zoo.pretrained import fetch_checkpoint, model_root, select_checkpoint, CheckpointError
from ..transforms import eval_transform, load_image


def sample_image():
    """matplotlib's bundled photograph of Grace Hopper."""
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')


def class_names(info):
    if info.classes == 1000 and info.family.startswith('imagenet'):
        from gluoncv.data import ImageNet1kAttr
        return ImageNet1kAttr().classes
    return None


def configure(p):
    p.add_argument('--model', default='iaff_resnet50', help='zoo name (default iaff_resnet50)')
    p.add_argument('--image', default=None, help="image file (default: matplotlib's "
                   'grace_hopper.jpg)')
    p.add_argument('--root', default=None, help='folder of released checkpoints (default '
                   '$MXNET_HOME/models or ~/.mxnet/models)')
    p.add_argument('--download', action='store_true',
                   help='download the released checkpoint if it is not under root')
    p.add_argument('--topk', type=int, default=5)


def run(args):
    info = get_model_info(args.model)
    root = model_root(args.root)
    weights = None
    try:
        ckpt = select_checkpoint(info.name)
    except CheckpointError:
        ckpt = None
    if ckpt is not None and (args.download or os.path.exists(os.path.join(root, ckpt.file))):
        weights = fetch_checkpoint(ckpt, root=root)
    net = get_model(info.name, pretrained=weights or False)
    if weights is None:
        mx.random.seed(0)
        net.initialize(mx.init.Xavier())
    print('model      %s (%s, fusion %s)' % (info.name, info.family, info.fusion))
    print('parameters %s trainable' % format(count_parameters(net), ','))
    if weights:
        print('weights    RELEASED checkpoint %s, found under %s' % (ckpt.file, root))
    else:
        where = ('no released checkpoint exists for this model' if ckpt is None else
                 '%s is not under %s; rerun with --download to fetch it' % (ckpt.file, root))
        print('weights    RANDOM (%s): the predictions below mean nothing' % where)
    image = args.image or sample_image()
    x = eval_transform(info, load_image(image))
    net.hybridize()
    prob = mx.nd.softmax(net(x))[0].asnumpy()
    names = class_names(info)
    print('image      %s' % image)
    for rank, idx in enumerate(prob.argsort()[::-1][:args.topk], 1):
        label = names[idx] if names else 'class %d' % idx
        print('  %d. %-30s %.4f' % (rank, label, prob[idx]))
    return 0


register_command('demo', 'Build a zoo network (default iaff_resnet50), print its size and '
                 'classify an image with it.', configure, run,
                 example='gluon-aff demo --model aff_resnet50 --download')
