"""Keep the calling thread's alternate signal stack across OpenVINO calls that replace it.

OpenVINO's CPU plugin (2026.4, as pinned in requirements.txt), when it is created (a Core's
first ``compile_model`` or ``get_property('CPU', ...)``), saves the thread's alternate signal
stack and installs one of its own; when the plugin is released it unmaps its stack and
reinstalls the one it saved. Two plugins released in the order they were made (two
``Runner`` objects, the first dropped first) leave the thread on the first plugin's unmapped
stack. Python runs its signal handlers there (it installs them with ``SA_ONSTACK``), so the
next handled signal kills the process with a segmentation fault: the SIGCHLD of a PyTorch
DataLoader worker, Ctrl-C, a ``signal.signal`` handler of the user's. Each plugin made inside
``signal_stack_kept()`` saves the caller's stack, and the caller keeps it.
"""
import contextlib
import ctypes
import sys

__all__ = ['signal_stack_kept']

_SS_ONSTACK = 1


class _StackT(ctypes.Structure):
    """Linux's ``stack_t`` (every architecture Python wheels of OpenVINO exist for)."""
    _fields_ = [('ss_sp', ctypes.c_void_p), ('ss_flags', ctypes.c_int),
                ('ss_size', ctypes.c_size_t)]


def _sigaltstack():
    if not sys.platform.startswith('linux'):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).sigaltstack
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def signal_stack_kept():
    """Leave the block with the thread's alternate signal stack as it entered (Linux; a
    no-op elsewhere). Wrap calls that create OpenVINO's CPU plugin: see the module's
    docstring."""
    sigaltstack = _sigaltstack()
    saved = _StackT()
    if sigaltstack is None or sigaltstack(None, ctypes.byref(saved)) != 0:
        yield
        return
    saved.ss_flags &= ~_SS_ONSTACK        # a flag sigaltstack reports but does not take
    try:
        yield
    finally:
        sigaltstack(ctypes.byref(saved), None)
