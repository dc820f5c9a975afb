"""The training-history plot, for both frameworks (matplotlib only)."""
import os

__all__ = ['plot_history']


def plot_history(history, path, title):
    """Training loss and validation top-1 error per epoch, saved as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    epochs = [h['epoch'] for h in history]
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h['train_loss'] for h in history], 'C0-o', ms=3)
    ax_loss.set(xlabel='epoch', ylabel='training loss', title='training loss')
    ax_err.plot(epochs, [1 - h['val_top1'] for h in history], 'C1-o', ms=3, label='top-1')
    ax_err.plot(epochs, [1 - h['val_top5'] for h in history], 'C2-o', ms=3, label='top-5')
    ax_err.set(xlabel='epoch', ylabel='validation error', title='validation error', ylim=(0, 1))
    ax_err.legend()
    fig.suptitle(title)
    # fixed margins: tight_layout, measuring every text at each epoch's redraw, took a third
    # of the plot's time
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.83, wspace=0.22)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
