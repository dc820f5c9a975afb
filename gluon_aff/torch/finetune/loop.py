"""One epoch of fine-tuning steps, and the evaluation after it."""
import torch
import torch.distributed as dist
from timm.data import Mixup
from timm.loss import SoftTargetCrossEntropy
from tqdm import tqdm

from ...core.divergence import check_loss
from .data import clean_worker_error

__all__ = ['Objective', 'train_epoch', 'evaluate']


class Objective(object):
    """What a step minimises: timm's mixup/cutmix with label smoothing
    (``SoftTargetCrossEntropy``), or plain label-smoothed cross-entropy when both alphas are
    0."""

    def __init__(self, config, classes):
        self.mixup = None
        if config.mixup or config.cutmix:
            self.mixup = Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix,
                               label_smoothing=config.label_smoothing, num_classes=classes)
            self.criterion = SoftTargetCrossEntropy()
        else:
            self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def batch(self, x, y):
        return self.mixup(x, y) if self.mixup is not None else (x, y)


def _amp(device, amp):
    if amp is None:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == 'bf16' else torch.float16)


def train_epoch(model, batches, objective, optimizer, scheduler, scaler, device, epoch, amp=None,
                channels_last=False, progress=False):
    """Train on one epoch's ``batches``; returns (loss sum, images). A loss that is not
    finite stops before the update reaches the weights (``TrainingDiverged``)."""
    model.train()
    total_loss, seen = 0.0, 0
    if progress:
        batches = tqdm(batches, desc='epoch %d' % epoch, leave=False)
    iterator = iter(batches)
    i = 0
    while True:
        try:
            x, y = next(iterator)
        except StopIteration:
            break
        except Exception as e:          # a loader worker's bad image, without its traceback
            raise clean_worker_error(e) from None
        x, y = x.to(device), y.to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x, y = objective.batch(x, y)
        with _amp(device, amp):
            loss = objective.criterion(model(x), y)
        check_loss(loss.item(), epoch, i, scheduler.get_last_lr()[0],
                   'nothing was saved from this epoch; lower --lr')
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        scheduler.step()
        total_loss += loss.item() * len(x)
        seen += len(x)
        i += 1
    return total_loss, seen


def evaluate(model, loader, device, world, amp=None):
    """(top-1, top-5, images) over every process's share of the validation set."""
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64)      # top-1 hits, top-5 hits, images
    with torch.no_grad(), _amp(device, amp):
        try:
            for x, y in loader:
                out = model(x.to(device)).float()
                top = out.topk(min(5, out.shape[1]), dim=1).indices.cpu()
                counts[0] += (top[:, 0] == y).sum().item()
                counts[1] += (top == y[:, None]).any(dim=1).sum().item()
                counts[2] += len(y)
        except Exception as e:
            raise clean_worker_error(e) from None
    if world > 1:
        dist.all_reduce(counts)
    return (counts[0].item() / counts[2].item(), counts[1].item() / counts[2].item(),
            int(counts[2].item()))

