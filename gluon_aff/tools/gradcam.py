"""Grad-CAM (Selvaraju et al., 2017) for the zoo's networks.

For a stage's feature map A (C x h x w) and the score y_k of class k:
``cam = ReLU(sum_c alpha_c A_c)`` with ``alpha_c = mean_{ij} dy_k / dA_c,ij``,
normalised to [0, 1] and resized to the input. For the last stage, A is the map the
classifier pools (``ZooNet.head_map``: after the pre-activation CIFAR ResNet's final
BN-ReLU, which its raw stage output has not been through; with raw residual sums the
weighted sum can be negative everywhere and the map empty).
"""
import os

import mxnet as mx
from mxnet import autograd

__all__ = ['grad_cam', 'draw']


def grad_cam(net, x, class_index=None, stage=None):
    """(cam HxW in [0, 1], class probabilities) of ``net`` (a zoo network, not
    hybridized) for a 1x3xHxW normalised batch ``x``; ``class_index`` defaults to the
    top prediction, ``stage`` (1-based) to the last stage."""
    net.check_input(x)
    stages = net.stage_layers()
    stage = stage or len(stages)
    if not 1 <= stage <= len(stages):
        raise ValueError('--layer must be a stage between 1 and %d, got %d' % (len(stages), stage))
    last = stage == len(stages)
    with autograd.predict_mode():
        fmap = net._stage_outputs(mx.nd, x, stage)[-1]
        if last:
            fmap = net.head_map(mx.nd, fmap)
    fmap.attach_grad()
    with autograd.record(train_mode=False):
        y = fmap
        for block in stages[stage:]:
            y = block(y)
        logits = (net.classify(mx.nd, net.pool_head(mx.nd, y)) if last
                  else net._forward_head(mx.nd, y))
        k = int(logits[0].argmax().asscalar()) if class_index is None else int(class_index)
        if not 0 <= k < logits.shape[1]:
            raise ValueError('--class %d is outside the %d classes' % (k, logits.shape[1]))
        score = logits[0, k]
    score.backward()
    weights = fmap.grad.mean(axis=(2, 3), keepdims=True)
    cam = mx.nd.relu((weights * fmap).sum(axis=1, keepdims=True))
    cam = mx.nd.contrib.BilinearResize2D(cam, height=x.shape[2], width=x.shape[3])[0, 0].asnumpy()
    cam = cam - cam.min()
    cam = cam / cam.max() if cam.max() > 0 else cam
    return cam, mx.nd.softmax(logits)[0].asnumpy(), k


def draw(models, images, class_index, layer, out):
    """Heat maps of every (image, model) over the evaluation crop: writes one PNG per pair
    and a grid ``gradcam.png`` under ``out``; returns [dict(image, model, cam (S x S in
    [0, 1]), class_index, prob, png)]."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from ..data.eval_transform import eval_crop, eval_transform
    os.makedirs(out, exist_ok=True)
    fig, axes = plt.subplots(len(images), len(models), squeeze=False,
                             figsize=(4 * len(models), 5.2 * len(images)))
    written = []
    for row, (path, img) in enumerate(images):
        stem = os.path.splitext(os.path.basename(path))[0]
        for col, (info, net) in enumerate(models):
            x = eval_transform(info, img)
            cam, prob, k = grad_cam(net, x, class_index, layer)
            names = (info.class_names if len(prob) == 1000 else None) or \
                ['class %d' % i for i in range(len(prob))]
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
