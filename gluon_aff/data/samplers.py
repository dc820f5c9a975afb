"""Which samples a batch holds: the .rec iterator's batching of an epoch, and a distributed
worker's part of a dataset."""
import numpy as np
from mxnet.gluon.data import DataLoader

__all__ = ['RoundBatchSampler', 'part_loader']


def part_loader(dataset, transform, batch_size, shuffle, num_workers, last_batch, num_parts=1,
                part_index=0):
    """A DataLoader of ``dataset`` through ``transform``; with ``num_parts`` > 1 only the
    part ``part_index`` of it (gluoncv's SplitSampler)."""
    if num_parts > 1:   # a distributed worker reads its own part (gluoncv's SplitSampler)
        from gluoncv.data.sampler import SplitSampler
        return DataLoader(dataset.transform_first(transform), batch_size=batch_size,
                          sampler=SplitSampler(len(dataset), num_parts, part_index),
                          last_batch=last_batch, num_workers=num_workers)
    return DataLoader(dataset.transform_first(transform), batch_size=batch_size,
                      shuffle=shuffle, last_batch=last_batch, num_workers=num_workers)


class RoundBatchSampler(object):
    """Batches of sample indices as MXNet's ImageRecordIter (``round_batch``) delivers them:
    cut from one continuous stream of passes over the samples; an epoch ends with the batch
    that reaches the end of a pass, filled up from the start of the next pass, and the next
    epoch continues after those samples. So epoch ``e`` is the stream's batches
    ceil(e * n / B) .. ceil((e + 1) * n / B) - 1, as in the original's .rec training.

    Pass ``k`` is shuffled by ``RandomState([seed, k])`` (``seed`` drawn from ``np.random``
    if not given), so that the batches of an epoch depend only on the seed and the epoch:
    a run resumed at ``epoch`` reads what an uninterrupted one would. With ``num_parts`` > 1
    the stream covers this worker's contiguous part (gluoncv's SplitSampler split)."""

    def __init__(self, n, batch_size, shuffle=True, num_parts=1, part_index=0, seed=None,
                 epoch=0):
        part = n // num_parts
        self.first, self.n = part * part_index, part
        self.batch_size, self.shuffle, self.epoch = batch_size, shuffle, epoch
        self.seed = int(np.random.randint(2 ** 31)) if seed is None else seed
        self._passes = {}

    def _pass(self, k):
        if k not in self._passes:
            order = np.arange(self.n)
            if self.shuffle:
                order = np.random.RandomState([self.seed, k]).permutation(self.n)
            self._passes = {k: order + self.first}    # keep the current pass only
        return self._passes[k]

    def _span(self, epoch):
        b = self.batch_size
        return -(-epoch * self.n // b), -(-(epoch + 1) * self.n // b)

    def __len__(self):
        """Batches of the next epoch."""
        start, end = self._span(self.epoch)
        return end - start

    def __iter__(self):
        start, end = self._span(self.epoch)
        self.epoch += 1
        for j in range(start, end):
            offsets = range(j * self.batch_size, (j + 1) * self.batch_size)
            yield [int(self._pass(t // self.n)[t % self.n]) for t in offsets]
