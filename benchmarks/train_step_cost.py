"""What a training step of the PyTorch twin costs with and without the attention, eager and
under torch.compile (which fuses the element-wise work of the fusion blocks), and whether
the compiled step's gradients equal the eager ones (in float64, on a CIFAR-size iAFF
network: a random-weight ResNet-50's float32 gradients differ by rounding alone). Writes
benchmarks/train_step_cost.md.

    .venv/bin/python benchmarks/train_step_cost.py [--batch-size 8] [--steps 6] [--out FILE]

One step: forward, cross-entropy, backward, SGD with Nesterov momentum (the recipes'
optimiser), random weights and inputs (seed 0), train mode. The first step (where
torch.compile compiles) and a second one are timed apart and excluded.
"""
import argparse
import datetime
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

NETWORKS = ['resnet50_add', 'aff_resnet50', 'iaff_resnet50']
GRADIENT_CHECK = 'cifar_iaff_resnet20'


def gradient_difference(name, batch):
    """Largest difference between the compiled and the eager float64 gradients of one
    forward/backward of ``name`` in train mode, relative to the largest gradient."""
    import torch
    import gluon_aff.torch as twin
    torch.manual_seed(0)
    net = twin.get_model(name).train().double()
    size = twin.get_model_info(name).input_size
    x = torch.randn(batch, 3, size, size, dtype=torch.float64)
    y = torch.randint(0, net.num_classes, (batch,))
    start = {k: v.clone() for k, v in net.state_dict().items()}
    grads = []
    for model in (net, torch.compile(net)):
        net.load_state_dict(start)
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad.detach().clone() for p in net.parameters()
                      if p.grad is not None])       # (a fixed-gamma BatchNorm's has none)
    diff = max(float((a - b).abs().max()) for a, b in zip(*grads))
    return diff / max(float(a.abs().max()) for a in grads[0])


def measure(name, compiled, batch, steps):
    import torch
    import gluon_aff.torch as twin
    torch.manual_seed(0)
    net = twin.get_model(name).train()
    x = torch.randn(batch, 3, 224, 224)
    y = torch.randint(0, 1000, (batch,))
    model = torch.compile(net) if compiled else net
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    start = time.perf_counter()
    step()
    step()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return dict(warmup=warmup, fastest=times[0], median=times[len(times) // 2])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--steps', type=int, default=6)
    p.add_argument('--networks', nargs='+', default=NETWORKS)
    p.add_argument('--out', default=os.path.join(HERE, 'train_step_cost.md'))
    args = p.parse_args()
    import torch
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    print('gradients of %s ...' % GRADIENT_CHECK, file=sys.stderr, flush=True)
    grad_diff = gradient_difference(GRADIENT_CHECK, 4)
    rows = {}
    for name in args.networks:
        for compiled in (False, True):
            print('%s %s ...' % (name, 'compiled' if compiled else 'eager'), file=sys.stderr,
                  flush=True)
            rows[(name, compiled)] = measure(name, compiled, args.batch_size, args.steps)
    base = args.networks[0]
    lines = ['# A training step of the twin, eager and compiled', '',
             'Measured %s by `benchmarks/train_step_cost.py --batch-size %d --steps %d` on %s '
             '(%d cores; flags: %s), Python %s, torch %s. Seconds per step: fastest of %d '
             '(median in brackets); "vs %s": fastest against its fastest on the same path; '
             '"first steps": the first two steps, the first of which compiles.' % (
                 datetime.date.today().isoformat(), args.batch_size, args.steps, cpu_model(),
                 len(os.sched_getaffinity(0)),
                 flags_present(), platform.python_version(),
                 torch.__version__, args.steps, base), '',
             '| network | eager s | vs %s | compiled s | vs %s | compiled first steps s |'
             % (base, base),
             '|---|---|---|---|---|---|']
    for name in args.networks:
        eager, comp = rows[(name, False)], rows[(name, True)]
        lines.append('| %s | %.2f (%.2f) | %.2fx | %.2f (%.2f) | %.2fx | %.0f |' % (
            name, eager['fastest'], eager['median'],
            eager['fastest'] / rows[(base, False)]['fastest'], comp['fastest'], comp['median'],
            comp['fastest'] / rows[(base, True)]['fastest'], comp['warmup']))
    lines += ['', 'Gradients of one train-mode step of %s (batch 4, float64), compiled against '
              'eager: largest difference %.1e of the largest gradient.' % (GRADIENT_CHECK,
                                                                           grad_diff)]
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
