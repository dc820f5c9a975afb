"""Fine-tune a zoo network on an image folder in PyTorch, on one process or several.

``run(FinetuneConfig(...))`` is the API; ``python -m gluon_aff.torch.finetune`` the
command (``--help``), the same under ``torchrun --nproc_per_node N``
(DistributedDataParallel: gloo on CPUs, NCCL on GPUs; each process takes ``batch_size``
images per step). The folder holds ``train/`` and ``val/``, one subfolder per class, as
torchvision's ``ImageFolder`` reads it.

The recipe: the original's AutoAugment first (``gluon_aff.torch.AutoAugment``, optional),
then the crop of the network's family, a horizontal flip (optional), the zoo's mean and
std; timm's mixup/cutmix with label smoothing; SGD with Nesterov momentum (the original's
'nag'), a linear warm-up and a cosine decay per step. Rank 0 writes ``best.safetensors``,
after every epoch ``last.safetensors`` with the training state beside it (``--auto-resume``
continues from it, tensor for tensor as if never stopped), ``history.json``,
``history.png`` and ``finetune.log`` to ``out_dir``. A checkpoint's metadata names the
model, its build arguments and the class names:
``get_model(model, pretrained=out_dir + '/best.safetensors')`` rebuilds it.

The modules: ``config`` (the configuration and its flags), ``data`` (folders, transforms,
loaders), ``loop`` (an epoch, the evaluation), ``checkpoints`` (the run's files),
``run`` (the whole run), ``__main__`` (the command).
"""
from .config import FinetuneConfig, FinetuneResult
from .run import run

__all__ = ['FinetuneConfig', 'FinetuneResult', 'run', 'main', 'parser', 'parse_args']


def parser():
    from ...core.commandline import build_parser
    return build_parser(FinetuneConfig, 'python -m gluon_aff.torch.finetune')


def main(argv=None):
    """The command: exit 0 when done, 2 for bad input (one line, in the log too, printed
    by rank 0 alone), 130 on Ctrl-C, 143 on SIGTERM (each after saving
    ``interrupted.safetensors``)."""
    import os

    from ...core.commandline import run_script
    from ...core.images import BadImageError
    from ...core.runlog import close_logging
    rank0 = os.environ.get('RANK', '0') == '0'

    def finish():
        close_logging()
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return run_script(parser(), run, argv, errors=(BadImageError,), finish=finish,
                      report=rank0)


def parse_args(argv=None):
    """The ``FinetuneConfig`` a command line describes."""
    from ...core.commandline import parse_config
    return parse_config(parser(), argv)
