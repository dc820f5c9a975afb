"""What training shows people: the network summary and the training-history plot."""
from ..core.plots import plot_history  # noqa: F401

__all__ = ['print_summary', 'plot_history', 'count_parameters']


def count_parameters(net):
    """Trainable parameters (grad_req != 'null')."""
    total = 0
    for p in net.collect_params().values():
        if p.grad_req != 'null':
            n = 1
            for d in p.shape:
                n *= d
            total += n
    return total


def print_summary(net, shape, ctx=None):
    """The graph count of ``gluon-aff summary`` (per-layer output shapes, parameters,
    multiply-adds, attention share) and the trainable total."""
    from ..utils.flops import count_graph, format_table
    print(format_table(count_graph(net, shape)))
    print('trainable parameters: %s' % format(count_parameters(net), ','))
