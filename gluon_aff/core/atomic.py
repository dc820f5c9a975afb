"""Files that are never half-written: written to a temporary name beside the final one,
flushed and fsynced, then renamed into place (a rename within a folder is atomic on POSIX
file systems), and the folder fsynced so that the rename survives a power cut. A process
killed at any moment leaves either the previous file or the new one under the final name,
and at most a ``.tmp-*`` file beside it. Standard library only.
"""
import contextlib
import errno
import os
import shutil
import tempfile

__all__ = ['atomic_path', 'atomic_files', 'write_atomically', 'fsync_path',
           'describe_write_error', 'remove_stale_temporaries', 'TEMPORARY_PREFIX']

TEMPORARY_PREFIX = '.tmp-'      # what a writer killed mid-write can leave beside its file


def _file_mode():
    """The mode a new file gets under the process's umask (``tempfile`` makes 0600 files,
    which the rename would keep)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def remove_stale_temporaries(folder):
    """Remove what writers killed mid-write left in ``folder`` (``.tmp-*`` files and
    staging folders); returns their names. Only for a folder no other process writes to
    at the same time."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if name.startswith(TEMPORARY_PREFIX):
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _remove(path)
            removed.append(name)
    return removed


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe_write_error(path, error):
    """'cannot write PATH: REASON' with the free space of its disk for a full disk."""
    text = 'cannot write %s: %s' % (path, error.strerror or error)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = shutil.disk_usage(folder).free
        text += ' (%.1f MB free on that disk)' % (free / 1e6)
    except OSError:
        pass
    return text


def _raise_naming(path, error):
    """Raise ``error`` from writing ``path`` as an OSError naming the path (and the free
    space); an error the writer raised itself (no errno, e.g. an IOError about its input)
    as it is."""
    if error.errno is None:
        raise error
    raise OSError(error.errno, describe_write_error(path, error)) from error


@contextlib.contextmanager
def atomic_path(path):
    """``with atomic_path(final) as tmp: write(tmp)``: the file appears under ``final``
    complete, or not at all; an OSError names the final path (and the free space)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX,
                                   suffix='-' + os.path.basename(path), dir=folder)
        os.close(fd)
    except OSError as e:
        _raise_naming(path, e)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())       # whatever the writer made of it, the umask's mode
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(folder)
    except OSError as e:
        _remove(tmp)
        _raise_naming(path, e)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_files(paths):
    """``with atomic_files([a.bin, a.xml]) as tmps: write(tmps)``: files of one folder that
    belong together (a model and its weights) written under temporary names in a hidden
    folder beside them, then each renamed into place in the order given (put the file
    readers open first last). A process killed before the renames leaves the previous set;
    only a kill between two renames (microseconds) can leave a mixed set."""
    folders = {os.path.dirname(os.path.abspath(p)) for p in paths}
    if len(folders) != 1:
        raise ValueError('atomic_files writes into one folder, got %s' % sorted(folders))
    folder = folders.pop()
    try:
        os.makedirs(folder, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=folder)
    except OSError as e:
        _raise_naming(paths[0], e)
    tmps = [os.path.join(staging, os.path.basename(p)) for p in paths]
    try:
        yield tmps
        mode = _file_mode()
        for tmp, path in zip(tmps, paths):
            if not os.path.exists(tmp):
                raise OSError(errno.ENOENT, 'the writer did not write %s' % path)
            os.chmod(tmp, mode)
            fsync_path(tmp)
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
        fsync_path(folder)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        _raise_naming(paths[0], e)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)


def write_atomically(path, data):
    """Write bytes or text to ``path`` through ``atomic_path``."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
