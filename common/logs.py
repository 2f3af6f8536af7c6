"""Keeps TensorFlow, absl, XNNPACK and FFmpeg log lines off the terminal unless --verbose or ANTBEE_VERBOSE=1."""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading

VERBOSE_ENV = "ANTBEE_VERBOSE"
# Lines the native libraries write straight to file descriptor 2, where Python's logging cannot reach:
# TFLite's minimal logger ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU."), TensorFlow's
# and absl's C++ logs ("I0000 00:00:...", "2026-... I tensorflow/...", "WARNING: All log messages
# before absl::InitializeLog() ..."), and FFmpeg's "[http @ 0x55d...] ..." lines.
NATIVE_NOISE = re.compile(
    rb"^(INFO: |WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|"
    rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] |\[[\w. -]+ @ 0x[0-9a-f]+\] )")
_LIBRARY_LOGGERS = ("tensorflow", "absl", "h5py")
_state = {"verbose": False, "filter": None}


def env_verbose() -> bool:
    """Whether ANTBEE_VERBOSE asks for the libraries' log lines."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def configure(verbose: bool) -> None:
    """Set the libraries' own log levels; call before they are imported (the environment is read at import)."""
    verbose = verbose or env_verbose()
    _state["verbose"] = verbose
    if verbose:
        return
    # The user's own settings win; these only fill in what is unset.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "0")  # FFmpeg's AV_LOG_PANIC: no per-request lines
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def filter_native_stderr() -> None:
    """Route file descriptor 2 through a thread that drops NATIVE_NOISE lines unless verbose.

    Python's own sys.stderr is moved to a copy of the real descriptor, so results, progress bars
    and error lines go straight to the terminal; only what native code writes to fd 2 is filtered.
    """
    if _state["filter"] is not None:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    old = sys.stderr
    sys.stderr = open(terminal, "w", buffering=1, encoding=old.encoding, errors=old.errors, closefd=False)
    thread = threading.Thread(target=_forward, args=(read_end, terminal), name="antbee-stderr", daemon=True)
    thread.start()
    _state["filter"] = (thread, terminal)
    atexit.register(_stop_filter)


def _forward(read_end: int, terminal: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write(terminal, [line + b"\n" for line in lines])
        _write(terminal, [pending] if pending else [])


def _write(terminal: int, lines: list[bytes]) -> None:
    kept = b"".join(line for line in lines if _state["verbose"] or not NATIVE_NOISE.match(line))
    if kept:
        os.write(terminal, kept)


def _stop_filter() -> None:
    # Put the real descriptor back, which closes the pipe's last write end: the thread reads to
    # the end, forwards what is left, and stops.
    thread, terminal = _state["filter"]
    sys.stderr.flush()
    os.dup2(terminal, 2)
    thread.join(timeout=2)
