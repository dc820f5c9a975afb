"""``gluon-aff demo``: the released iAFF-ResNet-50 (or another network) classifies a photo."""
import os

import mxnet as mx

from . import register_command
from .args import positive_int
from ..data.photos import sample_photos
from ..model_zoo import get_model, get_model_info, list_models
from ..model_zoo.pretrained import (BASE_URL_ENV, DEFAULT_BASE_URL, DownloadError, model_root,
                                    select_checkpoint)
from ..train.report import count_parameters
from ..data.eval_transform import eval_transform, load_image


def sample_image():
    """matplotlib's bundled photograph of Grace Hopper."""
    return sample_photos()[0]


def configure(p):
    released = sorted({n for n in list_models() if get_model_info(n).checkpoints})
    p.add_argument('--model', default='iaff_resnet50',
                   help='a zoo name with released weights: %s (default iaff_resnet50)'
                        % ', '.join(released))
    p.add_argument('--image', default=None, help="image file (default: matplotlib's "
                   'grace_hopper.jpg)')
    p.add_argument('--root', default=None, help='folder of released checkpoints (default '
                   '$MXNET_HOME/models or ~/.mxnet/models)')
    p.add_argument('--topk', type=positive_int, default=5)


def run(args):
    info = get_model_info(args.model)
    ckpt = select_checkpoint(info.name)         # names the models that have one, if none
    root = model_root(args.root)
    try:
        net = get_model(info.name, pretrained=True, root=root)
    except DownloadError as e:
        if not e.offline:
            raise
        base = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        print('offline: cannot reach %s to download %s; put that file (%s%s) in %s and run '
              'again' % (base.split('/')[2] if '//' in base else base, ckpt.file,
                         base.rstrip('/') + '/', ckpt.path, root))
        return 0
    image = args.image or sample_image()
    x = eval_transform(info, load_image(image))
    net.hybridize()
    prob = mx.nd.softmax(net(x))[0].asnumpy()
    names = info.class_names
    print('%s (%s, fusion %s, %s trainable parameters), released checkpoint %s'
          % (info.name, info.family, info.fusion, format(count_parameters(net), ','), ckpt.file))
    print('%s:' % image)
    for rank, idx in enumerate(prob.argsort()[::-1][:args.topk], 1):
        label = names[idx] if names else 'class %d' % idx
        print('  %d. %-30s %.4f' % (rank, label, prob[idx]))
    return 0


register_command('demo', 'Classify a photograph with the released iAFF-ResNet-50 (or another '
                 'released network), downloading and verifying its checkpoint if needed.',
                 configure, run, example='gluon-aff demo --model aff_resnext50_32x4d --image photo.jpg')
