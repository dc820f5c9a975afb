"""A training run's log, for both frameworks' recipes: INFO lines of the ``gluon_aff``
logger to stderr and, on rank 0, to a file."""
import functools
import logging
import os

__all__ = ['setup_logging', 'close_logging', 'closes_log', 'log_to_file', 'logger']

logger = logging.getLogger('gluon_aff')


def setup_logging(path=None, rank=0, num_workers=1):
    """Log INFO to stderr and, if given and on rank 0, to ``path`` (its folder is created).
    With several workers every line carries the worker's rank."""
    close_logging()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s ' + ('[rank %d/%d] ' % (rank, num_workers)
                                              if num_workers > 1 else '') + '%(message)s')
    stream = logging.StreamHandler()
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if path and rank == 0:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        handler = logging.FileHandler(path)
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def log_to_file(message, level=logging.ERROR):
    """Write ``message`` to the run's log file alone (the command prints it itself)."""
    record = logger.makeRecord(logger.name, level, __file__, 0, message, None, None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def close_logging():
    """Detach and close the handlers ``setup_logging`` added (the run's log file)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


def closes_log(run):
    """Make a recipe's ``run`` close the log it opened however it ends, so that a run
    called from Python leaves the ``gluon_aff`` logger as it found it."""
    @functools.wraps(run)
    def wrapper(config):
        try:
            return run(config)
        finally:
            close_logging()
    return wrapper
