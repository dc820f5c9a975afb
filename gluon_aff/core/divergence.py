"""A training loss that stops being finite stops the run before the update reaches the
weights, in both frameworks' recipes, with the same words."""
import math

__all__ = ['TrainingDiverged', 'check_loss']


class TrainingDiverged(ValueError):
    """The loss or the weights stopped being finite: the run stops, nothing is saved."""


def check_loss(value, epoch, batch, lr, advice):
    """Raise ``TrainingDiverged`` when ``value`` (a batch's loss) is NaN or infinite:
    where (epoch, batch, learning rate) and ``advice`` (what to change)."""
    if not math.isfinite(value):
        raise TrainingDiverged('the training loss became %s in epoch %d, batch %d, at learning '
                               'rate %g; %s' % (value, epoch, batch, lr, advice))
