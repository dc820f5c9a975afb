"""Mixup and label smoothing, with the originals' exact arithmetic."""
import numpy as np

__all__ = ['smooth_targets', 'mixup_batch', 'draw_lambda']


def smooth_targets(label, classes, eta):
    """One-hot with on = 1 - eta + eta/K, off = eta/K."""
    return label.one_hot(classes, on_value=1 - eta + eta / classes, off_value=eta / classes)


def draw_lambda(alpha, epoch, num_epochs, off_epochs):
    """lambda ~ Beta(alpha, alpha), once per batch; 1 in the last ``off_epochs`` epochs."""
    if epoch >= num_epochs - off_epochs:
        return 1.0
    return float(np.random.beta(alpha, alpha))


def mixup_batch(data, label, classes, lam, eta):
    """Mix each device slice with its reversed self (the partner of sample i is sample
    n-1-i of the same slice): returns (lam*X + (1-lam)*X[::-1], lam*t(y) + (1-lam)*t(y[::-1]))
    for lists of per-device NDArrays, t = smoothed one-hot."""
    mixed = [lam * x + (1 - lam) * x[::-1] for x in data]
    targets = [lam * smooth_targets(y, classes, eta) +
               (1 - lam) * smooth_targets(y[::-1], classes, eta) for y in label]
    return mixed, targets
