"""Where a run trains: its devices, MXNet's engine, and the kvstore of distributed runs."""
import os

import mxnet as mx
from mxnet import gluon

__all__ = ['contexts', 'parse_gpus', 'prefer_sync_engine_on_cpu', 'Distributed',
           'GPUS_AS_CPUS']


# Testing aid: with GLUON_AFF_GPUS_AS_CPUS=1, GPU ids name CPU contexts (mx.cpu(i)), so
# that the multi-device code paths (per-device split, mixup, aggregation) run without GPUs.
GPUS_AS_CPUS = 'GLUON_AFF_GPUS_AS_CPUS'


def contexts(gpus):
    """[mx.gpu(i) ...] for a list of ids, [mx.cpu()] for none; a clear error when the
    machine has fewer GPUs. With GLUON_AFF_GPUS_AS_CPUS=1, [mx.cpu(i) ...] instead."""
    if not gpus:
        return [mx.cpu()]
    if os.environ.get(GPUS_AS_CPUS) == '1':
        return [mx.cpu(g) for g in gpus]
    available = mx.context.num_gpus()
    missing = [g for g in gpus if g >= available]
    if missing:
        raise ValueError('GPU %s requested but this machine has %d GPU(s)%s; train on the CPU '
                         "with --gpus '' (train_cifar.py) or --num-gpus 0 (train_imagenet.py)"
                         % (','.join(map(str, missing)), available,
                            '' if available else ' (or MXNet is a CPU build)'))
    return [mx.gpu(g) for g in gpus]


def prefer_sync_engine_on_cpu(ctx):
    """Train on the CPU with MXNet's synchronous NaiveEngine unless MXNET_ENGINE_TYPE is set.

    Measured here (2 cores, MXNet 1.9.1 oneDNN build): with the default threaded engine a
    run that evaluated and saved after epoch 0 continued differently from the same state
    trained without those steps, while with NaiveEngine both agree exactly, so seeded CPU
    runs repeat and resume exactly; NaiveEngine was also not slower (about 205 vs 170 img/s
    on a small AFF network). MXNet reads the variable at its first operation, so this must
    run before any NDArray is created; returns the engine in use.
    """
    if all(c.device_type == 'cpu' for c in ctx):
        os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')
    return os.environ.get('MXNET_ENGINE_TYPE', 'ThreadedEnginePerDevice')


class Distributed(object):
    """The kvstore of a run and what follows from it: rank, number of workers, whether
    the trainer updates on the kvstore, whether this process writes files."""

    def __init__(self, kind):
        self.kind = kind
        self.kv = mx.kv.create(kind)
        self.rank, self.num_workers = self.kv.rank, self.kv.num_workers
        self.dist = kind.startswith('dist')
        # Synchronous runs update on each worker from the aggregated gradients, so trainer
        # states can be saved and resumed; MXNet's asynchronous mode updates on the servers.
        # Not on a local kvstore either: it would call the optimizer through a ctypes
        # callback, which drops exceptions, so a Ctrl-C or SIGTERM landing in the update
        # would be lost and that weight left un-updated while the run goes on.
        self.update_on_kvstore = kind == 'dist_async'
        self.writes_files = self.rank == 0

    def trainer(self, params, optimizer, optimizer_params):
        return gluon.Trainer(params, optimizer, optimizer_params, kvstore=self.kv,
                             update_on_kvstore=self.update_on_kvstore)

    @staticmethod
    def start(trainer):
        """Hand the parameters to the trainer's kvstore now, as MXNet does at the first
        step. MXNet does it one parameter at a time: a Ctrl-C in the middle left it half
        done, and saving the interrupted checkpoint then failed ('duplicate init of key
        0'). Here an interrupt stops the run before it has trained anything."""
        if not trainer._kv_initialized:
            trainer._init_kvstore()
        if trainer._params_to_init:
            trainer._init_params()



def parse_gpus(text):
    """'0,1' -> [0, 1]; '' -> [] (the CPU)."""
    return [int(g) for g in text.split(',') if g.strip()]
