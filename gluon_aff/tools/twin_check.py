"""Does the PyTorch twin compute what the MXNet zoo computes, name by name?

For each zoo name the twin has: build the MXNet network, give it well-conditioned weights
(Xavier weights, BatchNorm gammas near 1 and running statistics of bounded gain), copy them into the twin through the MXNet checkpoint key mapping, and
compare

- eval mode: the logits;
- train mode: the logits with batch statistics, the gradients of every parameter after a
  backward pass of the same loss, and the running statistics after that one update
  (MXNet updates them in the backward pass, PyTorch in the forward: both hold the same
  values once a step has run).

The reference is MXNet with oneDNN off (its plain kernels); the comparison runs in a
worker process that sets ``MXNET_MKLDNN_ENABLED=0`` before MXNet loads.

    python -m gluon_aff.tools.twin_check [NAME ...]
"""
import argparse
import os
import sys

from ..core.workers import report, run_worker

__all__ = ['compare', 'check_twin', 'SMALL']

# constructor arguments that keep the walk fast without changing any layer's kind: fewer
# blocks per stage (a first and a later block with attention still in each network; 3 in
# an AFI stage, whose third block weighs two earlier features;
# --full keeps the zoo's depths); inputs whose last stage is 2x2, so that every global
# branch still pools more than one position: ImageNet networks at 64 pixels, CIFAR ones
# at 16 (a quarter of the float64 work at 32, the same bounds measured); FPN's at 32, as
# its upsampling ratios depend on the size
SMALL = {'cifar_resnet': dict(blocks=1), 'cifar_resnext': dict(blocks=1),
         'cifar_inception': dict(blocks=1), 'fpn_resnet': dict(blocks=1),
         'cifar_afi_resnet': dict(blocks=3), 'imagenet_afi_resnet': dict(layers=[1, 3, 1, 1]),
         'imagenet_resnet': dict(layers=[1, 1, 2, 1]), 'imagenet_resnext': dict(layers=[1, 1, 2, 1])}
INPUT = {'imagenet_resnet': 64, 'imagenet_resnext': 64, 'imagenet_afi_resnet': 64,
         'fpn_resnet': 32, 'cifar_resnet': 16, 'cifar_resnext': 16, 'cifar_inception': 16,
         'cifar_afi_resnet': 16, 'cifar_afi_resnext': 16, 'cifar_afi_mobilenet': 16,
         'cifar_afi_shufflenet': 16}


def _well_conditioned(net, seed):
    """Gammas near 1, betas and biases near 0, running variances in [0.5, 2] and means
    near 0: every BatchNorm's gain is bounded in eval mode. (Statistics taken from a small
    batch are not: a global branch sees 4 values per channel, some channels' variance is
    tiny, and eval mode then amplifies float32 rounding to 1e-4 of the logits.)"""
    import mxnet as mx
    import numpy as np
    rng = np.random.RandomState(seed)
    ranges = (('running_var', 0.5, 2.0), ('running_mean', -0.2, 0.2), ('gamma', 0.8, 1.2),
              ('beta', -0.1, 0.1), ('bias', -0.1, 0.1))
    for key, p in sorted(net._collect_params_with_prefix().items()):
        for suffix, low, high in ranges:
            if key.endswith(suffix):
                p.set_data(mx.nd.array(rng.uniform(low, high, p.shape)))


def _rel(a, b):
    import numpy as np
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def compare(name, seed=0, batch=4, full=False, train=True):
    """Worst relative differences between the twin and MXNet for ``name``:
    ``dict(eval=, train=, grad=, stats=)``, each the largest |twin - mxnet| over the
    largest |mxnet| of one tensor (gradients: over the largest gradient of the network);
    ``train=False`` compares eval mode only (the others are None)."""
    import mxnet as mx
    import numpy as np
    import torch
    from mxnet import autograd
    from ..model_zoo import get_model, get_model_info
    from .. import torch as twin
    from ..torch.pretrained import mxnet_to_torch_key, state_dict_from_mxnet

    info = get_model_info(name)
    kwargs = {} if full else SMALL.get(info.family, {})
    size = INPUT.get(info.family, info.input_size)
    net = get_model(name, **kwargs)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, (batch, 3, size, size)).astype('float32')
    net(mx.nd.array(x[:1]))                       # shapes
    _well_conditioned(net, seed)
    params = net._collect_params_with_prefix()
    arrays = {k: p.data().asnumpy() for k, p in params.items()}

    tnet = twin.get_model(name, **kwargs)
    twin.load_state(tnet, state_dict_from_mxnet(tnet, arrays), source='mxnet')
    tnet.eval()
    with torch.no_grad():       # eval mode in float32, as users run it
        t_eval = tnet(torch.from_numpy(x)).numpy()
    m_eval = net(mx.nd.array(x)).asnumpy()

    if not train:
        return dict(eval=_rel(t_eval, m_eval), train=None, grad=None, stats=None)
    # train mode in float64: the same arithmetic without float32's rounding, which a
    # training-mode BatchNorm over a small batch amplifies (measured: 1e-4 of the logits
    # and 0.2 of some gradients of ResNet-50 in float32; 1e-13 and 1e-9 in float64)
    net.cast('float64')
    tnet.double().train()
    x64 = x.astype('float64')
    weights = rng.uniform(-1, 1, m_eval.shape)
    for p in params.values():
        if p.grad_req != 'null':
            p.zero_grad()
    with autograd.record(train_mode=True):
        m_out = net(mx.nd.array(x64, dtype='float64'))
        loss = (m_out * mx.nd.array(weights, dtype='float64')).sum()
    loss.backward()
    mx.nd.waitall()
    t_out = tnet(torch.from_numpy(x64))
    (t_out * torch.from_numpy(weights)).sum().backward()

    batchnorms = {n for n, m in tnet.named_modules()
                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    tparams = dict(tnet.named_parameters())
    tbuffers = dict(tnet.named_buffers())
    grads = [(p.grad().asnumpy(), tparams[mxnet_to_torch_key(k, batchnorms)].grad)
             for k, p in params.items() if p.grad_req != 'null']
    # relative to the largest gradient of the network: a bias before a training-mode
    # BatchNorm has a gradient of 0 up to rounding, which no relative measure can compare
    scale = max(np.abs(g).max() for g, _ in grads)
    grad = max(float(np.abs(t.numpy() - g).max()) / scale for g, t in grads if t is not None)
    stats = max(_rel(tbuffers[mxnet_to_torch_key(k, batchnorms)].numpy(), p.data().asnumpy())
                for k, p in params.items() if k.endswith(('running_mean', 'running_var')))
    return dict(eval=_rel(t_eval, m_eval), train=_rel(t_out.detach().numpy(), m_out.asnumpy()),
                grad=grad, stats=stats)


def check_twin(names=None, full=False, timeout=1800):
    """Run ``compare`` for ``names`` (default: every declared name) in one worker with
    oneDNN off; returns {name: result dict, or {'error': ...}}."""
    cmd = ([sys.executable, '-m', 'gluon_aff.tools.twin_check', '--worker'] +
           (['--full'] if full else []) + list(names or []))
    env = dict(os.environ, MXNET_MKLDNN_ENABLED='0', OMP_NUM_THREADS=os.environ.get(
        'OMP_NUM_THREADS', '1'))
    run = run_worker(cmd, env=env, timeout=timeout)
    results = {e['name']: {k: v for k, v in e.items() if k not in ('event', 'name')}
               for e in run.events if e['event'] in ('ok', 'fail')}
    if not run.ok:
        results['<worker>'] = {'error': run.how_it_ended(timeout)}
    return results


def _worker(names, full):
    import gluon_aff  # noqa: F401  (before mxnet)
    from .. import torch as twin
    import torch
    torch.set_num_threads(1)
    trained = set()
    from ..core.zoo import list_models
    for name in names or list_models():      # every declared name
        info = twin.get_model_info(name)
        # names that differ only in depth are the same network at the reduced depths: the
        # training-mode pass runs once per family and fusion (every name with --full)
        key = (info.family, info.fusion)
        try:
            report('ok', name=name, **compare(name, full=full,
                                              train=full or key not in trained))
            trained.add(key)
        except Exception as e:      # one name's failure is reported, the rest go on
            report('fail', name=name, error='%s: %s' % (type(e).__name__, e))


def format_table(results):
    from .. import torch as twin
    by_family = {}
    for name, r in results.items():
        family = twin.get_model_info(name).family if name in twin.list_models() else name
        by_family.setdefault(family, []).append((name, r))
    lines = ['| family | names | eval (float32) | train (float64) | gradients (float64) | '
             'running stats (float64) |',
             '|---|---|---|---|---|---|']
    for family, rows in sorted(by_family.items()):
        bad = [n for n, r in rows if 'error' in r]
        good = [r for n, r in rows if 'error' not in r]
        cells = []
        for k in ('eval', 'train', 'grad', 'stats'):
            values = [r[k] for r in good if r.get(k) is not None]
            cells.append('%.1e' % max(values) if values else '-')
        lines.append('| %s | %d%s | %s |' % (family, len(rows), ' (%d failed: %s)' % (
            len(bad), ', '.join(bad)) if bad else '', ' | '.join(cells)))
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('names', nargs='*')
    p.add_argument('--full', action='store_true', help="the zoo's depths (default: fewer "
                   'blocks per stage, every kind of block kept)')
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return _worker(args.names, args.full)
    results = check_twin(args.names, args.full)
    print(format_table(results))
    for name, r in results.items():
        if 'error' in r:
            print('%s: %s' % (name, r['error']))
    return 1 if any('error' in r for r in results.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
